// Format versions of protected files: version 2 digests only the used tag entries, version 1
// files (whole-block digests) are still read and stay version 1 across commits.
#include "shield/file_format.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "shield/fspf.h"
#include "shield/shield_test_util.h"
#include "shield/volume.h"
#include "shield/volume_fixture.h"

namespace cove::shield {
namespace {

using testing::Pattern;
using testing::ReadRaw;
using testing::WriteRaw;

class FileFormatTest : public testing::VolumeFixture {
 protected:
  void Write(const std::string& path, uint64_t offset, const std::vector<uint8_t>& content) {
    auto volume = Reopen();
    auto file = volume->FindFile(path) ? volume->OpenFile(path, true) : volume->CreateFile(path);
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    ASSERT_TRUE((*file)->Write(offset, content).ok());
    ASSERT_TRUE(volume->Commit(**file).ok());
  }
  // Turns committed file `path` into a version-1 file: header version 1 on disk and the fspf
  // recording whole-block digests, as a cove of format 1 wrote them.
  void DowngradeToVersion1(const std::string& path) {
    auto volume = Reopen();
    const FileEntry* entry = volume->FindFile(path);
    ASSERT_NE(entry, nullptr);
    std::string host = volume->HostPathFor(path);
    std::vector<uint8_t> bytes = ReadRaw(host);
    auto header = EncodeFileHeader(entry->id, entry->chunk_size, entry->kind, 1);
    std::copy(header.begin(), header.end(), bytes.begin());
    WriteRaw(host, bytes);
    FileGeometry geometry(entry->chunk_size);
    auto loaded = DecodeFspfFile(ReadRaw(fspf_path_), &key_, std::nullopt, fspf_path_);
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    FileEntry& mutable_entry = loaded->fspf.files.at(path);
    for (uint64_t g = 0; g < mutable_entry.group_digests.size(); ++g) {
      std::span<const uint8_t> block(bytes.data() + geometry.TagBlockOffset(g), kTagBlockSize);
      mutable_entry.group_digests[g] = TagBlockDigest(entry->id, g, block, 1, kChunksPerGroup);
    }
    FspfTag tag{};
    auto encoded = EncodeFspfFile(loaded->fspf, &key_, &tag);
    ASSERT_TRUE(encoded.ok());
    WriteRaw(fspf_path_, *encoded);
  }
};

TEST_F(FileFormatTest, NewFilesAreVersion2) {
  Write("/data/f", 0, Pattern(5000, 1));
  std::vector<uint8_t> host = ReadRaw(Reopen()->HostPathFor("/data/f"));
  ASSERT_GE(host.size(), kHeaderSize);
  EXPECT_EQ(host[8], kFileFormatVersion);
  EXPECT_EQ(kFileFormatVersion, 2u);
}

TEST_F(FileFormatTest, Version2IgnoresUnusedTagEntriesButNotUsedOnes) {
  // Two whole chunks: entries 0 and 1 of group 0 are used, and growing the file later re-seals
  // no chunk (the last one is whole), so only the chunk count changes the digest.
  Write("/data/f", 0, Pattern(8192, 1));
  std::string host = Reopen()->HostPathFor("/data/f");
  FileGeometry geometry(kDefaultChunkSize);
  std::vector<uint8_t> bytes = ReadRaw(host);
  // Garbage in the unused entries: not covered by the digest, never used, never kept.
  for (size_t i = 2 * kTagEntrySize; i < kTagBlockSize; ++i) {
    bytes[geometry.TagBlockOffset(0) + i] ^= static_cast<uint8_t>(0xa5 + i);
  }
  WriteRaw(host, bytes);
  auto content = ReadFile("/data/f");
  ASSERT_TRUE(content.ok()) << content.status().ToString();
  EXPECT_EQ(*content, Pattern(8192, 1));
  // Growing the file by a hole makes entries 2.. used: they must read as absent (zeros), not
  // as the garbage, and the new digest covers them.
  {
    auto volume = Reopen();
    auto file = std::move(volume->OpenFile("/data/f", true)).value();
    ASSERT_TRUE(file->Truncate(20000).ok());
    ASSERT_TRUE(volume->Commit(*file).ok());
  }
  content = ReadFile("/data/f");
  ASSERT_TRUE(content.ok()) << content.status().ToString();
  std::vector<uint8_t> expected = Pattern(8192, 1);
  expected.resize(20000, 0);
  EXPECT_EQ(*content, expected);
  // A flipped bit in a used entry is caught.
  bytes = ReadRaw(host);
  bytes[geometry.TagBlockOffset(0) + kTagEntrySize + 3] ^= 0x10;
  WriteRaw(host, bytes);
  EXPECT_FALSE(ReadFile("/data/f").ok());
}

TEST_F(FileFormatTest, ShrinkToAChunkBoundaryChangesTheDigest) {
  Write("/data/f", 0, Pattern(3 * 4096, 2));
  {
    auto volume = Reopen();
    auto file = std::move(volume->OpenFile("/data/f", true)).value();
    ASSERT_TRUE(file->Truncate(4096).ok());
    ASSERT_TRUE(volume->Commit(*file).ok());
  }
  auto content = ReadFile("/data/f");
  ASSERT_TRUE(content.ok()) << content.status().ToString();
  EXPECT_EQ(*content, Pattern(4096, 2));
}

TEST_F(FileFormatTest, Version1FilesAreReadAndStayVersion1AcrossCommits) {
  std::vector<uint8_t> content = Pattern(200 * 4096 + 100, 3);  // two groups
  Write("/data/old", 0, content);
  DowngradeToVersion1("/data/old");
  auto read = ReadFile("/data/old");
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, content);

  std::vector<uint8_t> patch = Pattern(10000, 4);
  Write("/data/old", 300000, patch);
  std::copy(patch.begin(), patch.end(), content.begin() + 300000);
  content.resize(std::max<size_t>(content.size(), 300000 + patch.size()));
  read = ReadFile("/data/old");
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, content);
  EXPECT_EQ(ReadRaw(Reopen()->HostPathFor("/data/old"))[8], 1)
      << "a commit keeps the file's version";

  // A version-1 file is still checked: a flipped bit anywhere in a tag block fails.
  std::string host = Reopen()->HostPathFor("/data/old");
  std::vector<uint8_t> bytes = ReadRaw(host);
  bytes[FileGeometry(kDefaultChunkSize).TagBlockOffset(1) + kTagBlockSize - 1] ^= 0x01;
  WriteRaw(host, bytes);
  EXPECT_FALSE(ReadFile("/data/old").ok());
}

TEST_F(FileFormatTest, UnknownVersionIsRefusedByName) {
  Write("/data/f", 0, Pattern(10, 5));
  std::string host = Reopen()->HostPathFor("/data/f");
  std::vector<uint8_t> bytes = ReadRaw(host);
  bytes[8] = 4;
  WriteRaw(host, bytes);
  auto read = ReadFile("/data/f");
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.status().message().find("format version 4 is not supported"), std::string::npos)
      << read.status().ToString();
}

}  // namespace
}  // namespace cove::shield
