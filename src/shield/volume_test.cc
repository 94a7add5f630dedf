// Tests of protected files through a Volume: round trips, random access against a model,
// ciphertext on disk, and the tampering matrix (every case fails loudly, never wrong data).
#include "shield/volume.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "shield/shield_test_util.h"
#include "shield/volume_fixture.h"

namespace cove::shield {
namespace {

using testing::Pattern;
using testing::ReadRaw;
using testing::TempDir;
using testing::WriteRaw;

class VolumeTest : public testing::VolumeFixture {
 public:
  // Creates `path` with `content`, committed; returns the volume's new tag.
  FspfTag WriteFile(const std::string& path, const std::vector<uint8_t>& content) {
    auto volume = Reopen();
    auto file = volume->FindFile(path) ? volume->OpenFile(path, true) : volume->CreateFile(path);
    EXPECT_TRUE(file.ok()) << file.status().ToString();
    EXPECT_TRUE((*file)->Truncate(0).ok());
    EXPECT_TRUE((*file)->Write(0, content).ok());
    Status committed = volume->Commit(**file);
    EXPECT_TRUE(committed.ok()) << committed.ToString();
    return volume->tag();
  }

  void ExpectReadFails(const std::string& path, const std::string& needle) {
    auto content = ReadFile(path);
    ASSERT_FALSE(content.ok()) << "tampering of " << path << " was not detected";
    EXPECT_NE(content.status().message().find(needle), std::string::npos)
        << content.status().ToString();
    EXPECT_NE(content.status().message().find(path), std::string::npos)
        << "error must name the file: " << content.status().ToString();
  }
};

TEST_F(VolumeTest, RoundTripsAllSizes) {
  for (size_t size : {0, 1, 4095, 4096, 4097, 128 * 4096, 128 * 4096 + 1, 300 * 4096 + 17}) {
    auto content = Pattern(size, static_cast<uint32_t>(size));
    WriteFile("/data/f", content);
    auto back = ReadFile("/data/f");
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, content) << "size " << size;
  }
}

// A protected path longer than the fspf records (4096 bytes; the host path it maps to may be
// shorter) is refused where it would enter the fspf: a save that recorded it would have made
// every later start of the volume fail.
TEST_F(VolumeTest, PathsLongerThanTheFspfRecordsAreRefused) {
  std::string deep = "/data";
  while (deep.size() <= kMaxPathLength) deep += "/" + std::string(200, 'd');
  {
    auto volume = Reopen();
    auto created = volume->CreateFile(deep);
    ASSERT_FALSE(created.ok());
    EXPECT_NE(created.status().message().find("longer than the fspf's limit"), std::string::npos)
        << created.status().ToString();
  }
  auto content = Pattern(10, 1);
  WriteFile("/data/short", content);
  {
    auto volume = Reopen();
    Status renamed = volume->RenameFile("/data/short", deep);
    EXPECT_EQ(renamed.code(), StatusCode::kInvalidArgument) << renamed.ToString();
  }
  auto back = ReadFile("/data/short");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, content);
}

// A protected file named NAME.cove-journal would have the host path of the redo journal of
// the file NAME beside it, whose next commit would overwrite it and then remove it: such names
// are refused as a new file's and as a rename's target, and NAME keeps its content.
TEST_F(VolumeTest, NamesOfJournalsAreRefused) {
  auto content = Pattern(5000, 3);
  WriteFile("/data/y", content);
  {
    auto volume = Reopen();
    auto created = volume->CreateFile("/data/y.cove-journal");
    ASSERT_FALSE(created.ok());
    EXPECT_EQ(created.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(created.status().message().find("reserved"), std::string::npos)
        << created.status().ToString();
    EXPECT_EQ(volume->RenameFile("/data/y", "/data/z.cove-journal").code(),
              StatusCode::kInvalidArgument);
  }
  WriteFile("/data/y", content);  // a commit of y writes and removes its journal
  auto back = ReadFile("/data/y");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, content);
}

TEST_F(VolumeTest, EncryptedFileIsCiphertextOnDisk) {
  std::string secret = "TOP-SECRET-PAYLOAD-";
  std::vector<uint8_t> content;
  for (int i = 0; i < 1000; ++i) content.insert(content.end(), secret.begin(), secret.end());
  WriteFile("/data/secret.txt", content);
  auto raw = ReadRaw(dir_ / "enc/secret.txt");
  EXPECT_GT(raw.size(), content.size());
  EXPECT_EQ(std::search(raw.begin(), raw.end(), secret.begin(), secret.end()), raw.end());
}

TEST_F(VolumeTest, AuthenticatedFileIsPlaintextOnDiskButVerified) {
  std::string text = "visible but authenticated";
  WriteFile("/auth/readme", {text.begin(), text.end()});
  auto raw = ReadRaw(dir_ / "auth/readme");
  auto at = std::search(raw.begin(), raw.end(), text.begin(), text.end());
  ASSERT_NE(at, raw.end());
  *at ^= 0x20;
  WriteRaw(dir_ / "auth/readme", raw);
  ExpectReadFails("/auth/readme", "authentication failed");
}

// Fails every fspf save while `fail` is set (a commit whose fspf write fails is aborted).
class FailingSaveObserver : public FspfSaveObserver {
 public:
  Status BeforeSave(const FspfTag&, const FspfTag&, std::optional<FspfTag>*) override {
    return fail ? IoError("injected fspf write failure", EIO) : Status::Ok();
  }
  void AfterSave(const FspfTag&) override {}
  bool fail = false;
};

// Random writes, large sequential appends (sealed at write time), truncates, commits, failed
// commits, reopens and uncommitted drops, each followed by a read checked against a model.
void RunModel(VolumeTest& test, const std::string& path, uint32_t chunk_size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> model;
  std::vector<uint8_t> committed;  // the content of the last commit
  FailingSaveObserver observer;
  auto volume = test.Reopen();
  volume->SetSaveObserver(&observer);
  auto file = std::move(volume->CreateFile(path, std::nullopt, chunk_size)).value();
  auto reopen = [&] {
    file.reset();
    volume = test.Reopen();
    volume->SetSaveObserver(&observer);
    auto reopened = volume->OpenFile(path, true);
    ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
    file = std::move(reopened).value();
  };
  auto commit = [&] {
    Status status = volume->Commit(*file);
    ASSERT_TRUE(status.ok()) << status.ToString();
    committed = model;
  };
  for (int step = 0; step < 400; ++step) {
    int op = static_cast<int>(rng() % 14);
    if (op < 6 || op == 10 || op == 11) {
      uint64_t offset;
      std::vector<uint8_t> data;
      if (op < 6) {
        offset = rng() % (model.size() + 20000);
        data = Pattern(rng() % 12000 + 1, rng());
      } else {  // a large sequential write at or past the end, from a chunk boundary
        offset = (model.size() + chunk_size - 1) / chunk_size * chunk_size +
                 uint64_t{rng() % 3} * chunk_size;
        size_t length = (rng() % 160 + 1) * size_t{4096} + (rng() % 4 == 0 ? rng() % 4096 : 0);
        data = Pattern(length, rng());
      }
      Status written = file->Write(offset, data);
      ASSERT_TRUE(written.ok()) << written.ToString();
      if (model.size() < offset + data.size()) model.resize(offset + data.size());
      std::copy(data.begin(), data.end(), model.begin() + static_cast<long>(offset));
    } else if (op < 7) {
      // Shrinks or extends (by up to a few chunks, over sealed chunks cut off before).
      uint64_t size = rng() % (model.size() + 9000 + (rng() % 2) * 8 * chunk_size);
      ASSERT_TRUE(file->Truncate(size).ok());
      model.resize(size);
    } else if (op < 9) {
      ASSERT_NO_FATAL_FAILURE(commit());
    } else if (op == 9) {
      ASSERT_NO_FATAL_FAILURE(commit());
      ASSERT_NO_FATAL_FAILURE(reopen());
    } else if (op == 12) {
      // The fspf write fails: the file keeps its last commit on disk and the writes buffered.
      if (file->generation() == 0 || !file->dirty()) continue;
      observer.fail = true;
      EXPECT_FALSE(volume->Commit(*file).ok());
      observer.fail = false;
    } else if (file->generation() > 0) {
      // Closed without a commit: the writes since the last commit are gone, nothing else.
      ASSERT_NO_FATAL_FAILURE(reopen());
      model = committed;
    }
    ASSERT_EQ(file->size(), model.size()) << "step " << step;
    uint64_t offset = model.empty() ? 0 : rng() % model.size();
    std::vector<uint8_t> got(rng() % 2 == 0 ? rng() % 9000 + 1 : rng() % 600000 + 1);
    auto n = file->Read(offset, got);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    size_t expect =
        std::min<size_t>(got.size(), model.size() - std::min<size_t>(offset, model.size()));
    ASSERT_EQ(*n, expect) << "step " << step;
    ASSERT_TRUE(std::equal(got.begin(), got.begin() + static_cast<long>(*n),
                           model.begin() + static_cast<long>(offset)))
        << "step " << step;
  }
  ASSERT_NO_FATAL_FAILURE(commit());
  file.reset();
  EXPECT_EQ(*test.ReadFile(path), model);
}

TEST_F(VolumeTest, RandomAccessMatchesModelAcrossCommitsAndReopens) {
  RunModel(*this, "/data/model", kDefaultChunkSize, 42);
}

TEST_F(VolumeTest, RandomAccessMatchesModelInAuthenticatedFile) {
  RunModel(*this, "/auth/model", kDefaultChunkSize, 43);
}

TEST_F(VolumeTest, RandomAccessMatchesModelWith16KiBChunks) {
  RunModel(*this, "/data/model16k", 16384, 44);
}

// Whole chunks appended past the committed end are sealed at write time (ProtectedFile::sealed_):
// they read back before the commit, can be partly rewritten, cut off and re-extended as holes,
// and vanish with the uncommitted rest when the file is dropped without a commit.
TEST_F(VolumeTest, ChunksSealedAtWriteTimeBehaveLikeBufferedWrites) {
  auto volume = Reopen();
  auto file = std::move(volume->CreateFile("/data/s")).value();
  auto first = Pattern(300 * 4096 + 100, 1);
  ASSERT_TRUE(file->Write(0, first).ok());
  ASSERT_TRUE(volume->Commit(*file).ok());
  std::vector<uint8_t> model = first;
  // 1 MiB from a chunk boundary past the end: sealed at once (the file has a generation).
  auto big = Pattern(1 << 20, 2);
  uint64_t at = 301 * 4096;
  ASSERT_TRUE(file->Write(at, big).ok());
  model.resize(at + big.size());
  std::copy(big.begin(), big.end(), model.begin() + static_cast<long>(at));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "enc/s.cove-journal"));
  auto expect_content = [&](const char* when) {
    std::vector<uint8_t> got(model.size());
    auto n = file->Read(0, got);
    ASSERT_TRUE(n.ok()) << when << ": " << n.status().ToString();
    EXPECT_EQ(got, model) << when;
  };
  expect_content("sealed, not committed");
  // A partial write into a sealed chunk makes it a buffered chunk again.
  auto small = Pattern(10, 3);
  ASSERT_TRUE(file->Write(at + 5000, small).ok());
  std::copy(small.begin(), small.end(), model.begin() + static_cast<long>(at + 5000));
  expect_content("partial write");
  // Cut into the sealed run, then extend: the cut-off chunks read as zeros.
  uint64_t cut = at + 40 * 4096 + 123;
  ASSERT_TRUE(file->Truncate(cut).ok());
  ASSERT_TRUE(file->Truncate(at + 200 * 4096).ok());
  model.resize(cut);
  model.resize(at + 200 * 4096, 0);
  expect_content("truncated and extended");
  ASSERT_TRUE(volume->Commit(*file).ok());
  expect_content("committed");
  file.reset();
  EXPECT_FALSE(std::filesystem::exists(dir_ / "enc/s.cove-journal"));
  EXPECT_EQ(*ReadFile("/data/s"), model);

  // Dropped without a commit: the sealed appends are cut off at the next open.
  volume = Reopen();
  file = std::move(volume->OpenFile("/data/s", true)).value();
  ASSERT_TRUE(file->Write(model.size() / 4096 * 4096 + 4096, big).ok());
  file.reset();
  EXPECT_EQ(*ReadFile("/data/s"), model);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "enc/s.cove-journal"));
}

// OnlyBufferedAppends tells when a file's uncommitted changes are exactly the bytes past its
// committed end, in memory: what the runtime may move onto another process's newer commit.
TEST_F(VolumeTest, OnlyBufferedAppendsTellsAppendsFromOtherChanges) {
  auto volume = Reopen();
  auto file = std::move(volume->CreateFile("/data/log")).value();
  ASSERT_TRUE(file->Write(0, Pattern(5000, 1)).ok());
  ASSERT_TRUE(volume->Commit(*file).ok());
  EXPECT_TRUE(file->OnlyBufferedAppends());  // nothing changed
  EXPECT_EQ(file->committed_size(), 5000u);
  ASSERT_TRUE(file->Write(5000, Pattern(100, 2)).ok());  // into the last, partial chunk
  ASSERT_TRUE(file->Write(5100, Pattern(100, 3)).ok());
  EXPECT_TRUE(file->OnlyBufferedAppends());
  ASSERT_TRUE(file->Write(4999, Pattern(1, 4)).ok());  // one byte below the committed end
  EXPECT_FALSE(file->OnlyBufferedAppends());
  ASSERT_TRUE(volume->Commit(*file).ok());
  EXPECT_TRUE(file->OnlyBufferedAppends());
  ASSERT_TRUE(file->Truncate(100).ok());
  EXPECT_FALSE(file->OnlyBufferedAppends());  // a cut
  ASSERT_TRUE(volume->Commit(*file).ok());
  ASSERT_TRUE(file->Truncate(9000).ok());  // an extension: zeros appended
  EXPECT_TRUE(file->OnlyBufferedAppends());
  ASSERT_TRUE(volume->Commit(*file).ok());
  // With other writers, a large append stays in memory, and Write does not commit when the
  // buffered bytes pass kMaxDirtyBytes: the caller does, when OverDirtyBudget says so.
  file->set_other_writers(true);
  uint64_t generation = file->generation();
  auto mib = Pattern(1 << 20, 5);
  for (uint64_t at = 9000; at < 9000 + ProtectedFile::kMaxDirtyBytes + (1 << 20);
       at += mib.size()) {
    ASSERT_TRUE(file->Write(at, mib).ok());
  }
  EXPECT_TRUE(file->OnlyBufferedAppends());
  EXPECT_TRUE(file->OverDirtyBudget());
  EXPECT_EQ(file->generation(), generation);
  ASSERT_TRUE(volume->Commit(*file).ok());
  EXPECT_FALSE(file->OverDirtyBudget());
  // Without, whole chunks of a large append are sealed to disk at write time.
  file->set_other_writers(false);
  ASSERT_TRUE(file->Write(file->size(), mib).ok());
  EXPECT_FALSE(file->OnlyBufferedAppends());
}

// A new file is buffered until it reaches 64 KiB and sealed at write time from then on: a file
// written in 8 KiB pieces past that point has both kinds of chunks in its first group, and a
// rewrite of buffered bytes, a commit and a reopen must all see one consistent content.
TEST_F(VolumeTest, NewFileBufferedThenSealedAtWriteTimeReadsBack) {
  auto volume = Reopen();
  auto file = std::move(volume->CreateFile("/data/grow")).value();
  std::vector<uint8_t> model;
  for (uint32_t piece = 0; model.size() < size_t{600} << 10; ++piece) {
    auto bytes = Pattern(8192, piece + 10);
    ASSERT_TRUE(file->Write(model.size(), bytes).ok());
    model.insert(model.end(), bytes.begin(), bytes.end());
  }
  auto patch = Pattern(5000, 99);  // across two buffered chunks
  ASSERT_TRUE(file->Write(3000, patch).ok());
  std::copy(patch.begin(), patch.end(), model.begin() + 3000);
  std::vector<uint8_t> got(model.size());
  ASSERT_TRUE(file->Read(0, got).ok());
  EXPECT_EQ(got, model);
  ASSERT_TRUE(volume->Commit(*file).ok());
  file.reset();
  EXPECT_EQ(*ReadFile("/data/grow"), model);
}

TEST_F(VolumeTest, DetectsFlippedBitInEveryPartOfTheFile) {
  auto content = Pattern(3 * 128 * 4096 + 100, 1);
  WriteFile("/data/f", content);
  auto raw = ReadRaw(dir_ / "enc/f");
  FileGeometry geometry(kDefaultChunkSize);
  struct Case {
    uint64_t offset;
    std::string needle;
  };
  std::vector<Case> cases = {
      {0, "header"},    // magic
      {20, "header"},   // file id
      {100, "header"},  // padding
      {geometry.TagBlockOffset(0) + 3, "tag block of group 0"},
      {geometry.TagBlockOffset(2) + 40, "tag block of group 2"},
      {geometry.ChunkOffset(0), "chunk 0"},
      {geometry.ChunkOffset(5) + 1000, "chunk 5"},
      {geometry.ChunkOffset(200) + 4095, "chunk 200"},
      {raw.size() - 1, "chunk 384"},
  };
  for (const auto& c : cases) {
    auto copy = raw;
    copy[c.offset] ^= 0x04;
    WriteRaw(dir_ / "enc/f", copy);
    ExpectReadFails("/data/f", c.needle);
  }
  WriteRaw(dir_ / "enc/f", raw);
  EXPECT_EQ(*ReadFile("/data/f"), content);
}

TEST_F(VolumeTest, DetectsTruncatedAndExtendedFiles) {
  WriteFile("/data/f", Pattern(20000, 2));
  auto raw = ReadRaw(dir_ / "enc/f");
  auto shorter = raw;
  shorter.resize(raw.size() - 1);
  WriteRaw(dir_ / "enc/f", shorter);
  ExpectReadFails("/data/f", "truncated");
  auto longer = raw;
  longer.push_back(0);
  WriteRaw(dir_ / "enc/f", longer);
  ExpectReadFails("/data/f", "extended");
}

TEST_F(VolumeTest, DetectsChunksSwappedWithinAFile) {
  WriteFile("/data/f", Pattern(8 * 4096, 3));
  auto raw = ReadRaw(dir_ / "enc/f");
  FileGeometry geometry(kDefaultChunkSize);
  std::swap_ranges(raw.begin() + static_cast<long>(geometry.ChunkOffset(1)),
                   raw.begin() + static_cast<long>(geometry.ChunkOffset(2)),
                   raw.begin() + static_cast<long>(geometry.ChunkOffset(4)));
  WriteRaw(dir_ / "enc/f", raw);
  ExpectReadFails("/data/f", "chunk 1");
}

TEST_F(VolumeTest, DetectsChunksAndFilesSwappedBetweenFiles) {
  WriteFile("/data/a", Pattern(8 * 4096, 4));
  WriteFile("/data/b", Pattern(8 * 4096, 5));
  auto a = ReadRaw(dir_ / "enc/a");
  auto b = ReadRaw(dir_ / "enc/b");
  FileGeometry geometry(kDefaultChunkSize);
  auto mixed = a;
  std::copy(b.begin() + static_cast<long>(geometry.ChunkOffset(3)),
            b.begin() + static_cast<long>(geometry.ChunkOffset(4)),
            mixed.begin() + static_cast<long>(geometry.ChunkOffset(3)));
  WriteRaw(dir_ / "enc/a", mixed);
  ExpectReadFails("/data/a", "chunk 3");
  WriteRaw(dir_ / "enc/a", b);  // whole file replaced by another protected file
  ExpectReadFails("/data/a", "file id");
}

TEST_F(VolumeTest, DetectsFileReplacedByItsOlderVersion) {
  WriteFile("/data/f", Pattern(10000, 6));
  auto old_raw = ReadRaw(dir_ / "enc/f");
  WriteFile("/data/f", Pattern(10000, 7));
  WriteRaw(dir_ / "enc/f", old_raw);
  ExpectReadFails("/data/f", "does not match the fspf");
}

TEST_F(VolumeTest, RefusesOlderFspfWhenOwnerExpectsCurrentTag) {
  WriteFile("/data/f", Pattern(1000, 8));
  auto old_fspf = ReadRaw(fspf_path_);
  FspfTag current = WriteFile("/data/f", Pattern(1000, 9));
  WriteRaw(fspf_path_, old_fspf);
  VolumeOptions options;
  options.fspf_path = fspf_path_;
  options.key = key_;
  options.expected_tag = current;
  auto volume = Volume::Open(std::move(options));
  ASSERT_FALSE(volume.ok());
  EXPECT_NE(volume.status().message().find("not the expected tag"), std::string::npos);
}

TEST_F(VolumeTest, RefusesWrongKey) {
  auto wrong = RandomKey();
  VolumeOptions options;
  options.fspf_path = fspf_path_;
  options.key = *wrong;
  auto volume = Volume::Open(std::move(options));
  ASSERT_FALSE(volume.ok());
  EXPECT_EQ(volume.status().code(), StatusCode::kIntegrityError);
}

TEST_F(VolumeTest, SparseWritesReadZerosInHoles) {
  auto volume = Reopen();
  auto file = std::move(volume->CreateFile("/data/sparse")).value();
  auto tail = Pattern(10, 10);
  ASSERT_TRUE(file->Write(1000 * 4096, tail).ok());
  ASSERT_TRUE(volume->Commit(*file).ok());
  auto back = ReadFile("/data/sparse");
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->size(), 1000 * 4096 + 10u);
  EXPECT_TRUE(
      std::all_of(back->begin(), back->begin() + 1000 * 4096, [](uint8_t b) { return b == 0; }));
  EXPECT_TRUE(std::equal(tail.begin(), tail.end(), back->begin() + 1000 * 4096));
}

// A commit that fails after it extended the host file (here its fsync) leaves the host file
// longer than the committed and sealed bytes say; a later, smaller commit must still leave it
// at exactly its new size, or the file would no longer open ("file was extended").
TEST_F(VolumeTest, CommitAfterAFailedOneLeavesNoStaleTail) {
  for (uint64_t rewrite_from : {uint64_t{0}, uint64_t{8192}}) {  // overwrite + extend, append
    SCOPED_TRACE(rewrite_from);
    testing::SyncFailingEnv env;
    auto volume = ReopenWith(env);
    ASSERT_NE(volume, nullptr);
    std::string path = "/data/f" + std::to_string(rewrite_from);
    {
      auto file = std::move(volume->CreateFile(path)).value();
      ASSERT_TRUE(file->Write(0, Pattern(rewrite_from + 8192, 1)).ok());
      ASSERT_TRUE(volume->Commit(*file).ok());
    }
    auto file = std::move(volume->OpenFile(path, true)).value();
    ASSERT_TRUE(file->Write(rewrite_from, Pattern(30000, 2)).ok());
    env.fail_next_sync_of = "/enc/";
    EXPECT_FALSE(volume->Commit(*file).ok());
    ASSERT_TRUE(file->Truncate(20000).ok());
    Status committed = volume->Commit(*file);
    ASSERT_TRUE(committed.ok()) << committed.ToString();
    file.reset();
    auto back = ReadFile(path);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    std::vector<uint8_t> expected = Pattern(rewrite_from + 8192, 1);
    expected.resize(rewrite_from);
    auto written = Pattern(30000, 2);
    expected.insert(expected.end(), written.begin(), written.end());
    expected.resize(20000);
    EXPECT_EQ(*back, expected);
  }
}

TEST_F(VolumeTest, RefusesFilesOutsideProtectedRegions) {
  auto volume = Reopen();
  auto file = volume->CreateFile("/elsewhere/x");
  EXPECT_EQ(file.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cove::shield
