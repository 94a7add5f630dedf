// Opening small files (host file up to 32 KiB): ProtectedFile::Open reads and verifies them
// whole and looks for a journal only when that fails. These tests build the states an
// interrupted commit leaves behind (journal not applied, partly applied, uncommitted tail,
// leftover journal) and check that every one still opens at the committed content, and that
// tampering without a journal is still reported, naming the file.
#include <gtest/gtest.h>

#include <filesystem>

#include "shield/journal.h"
#include "shield/protected_file.h"
#include "shield/shield_test_util.h"
#include "shield/volume.h"
#include "shield/volume_fixture.h"

namespace cove::shield {
namespace {

using testing::Pattern;
using testing::ReadRaw;
using testing::WriteRaw;

class SmallFileOpenTest : public testing::VolumeFixture {
 protected:
  static constexpr char kPath[] = "/data/small";

  // Commits `content` at `offset` of kPath (created if needed) and returns the host bytes
  // before and after that commit.
  void Commit(uint64_t offset, const std::vector<uint8_t>& content, std::vector<uint8_t>* before,
              std::vector<uint8_t>* after) {
    auto volume = Reopen();
    bool exists = volume->FindFile(kPath) != nullptr;
    if (before != nullptr) *before = exists ? ReadRaw(Host()) : std::vector<uint8_t>{};
    auto file = exists ? volume->OpenFile(kPath, true) : volume->CreateFile(kPath);
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    ASSERT_TRUE((*file)->Write(offset, content).ok());
    ASSERT_TRUE(volume->Commit(**file).ok());
    if (after != nullptr) *after = ReadRaw(Host());
  }
  std::string Host() { return Reopen()->HostPathFor(kPath); }
  std::string Journal() { return JournalPath(Host()); }
  // A redo journal that turns the host file into `target` (one record over the whole file),
  // for generation `generation`, as step 1 of a commit writes it.
  void WriteJournalTo(const std::vector<uint8_t>& target, uint64_t generation,
                      uint32_t version = kJournalVersion) {
    auto volume = Reopen();
    const FileEntry* entry = volume->FindFile(kPath);
    ASSERT_NE(entry, nullptr);
    shield::Journal journal;
    journal.file_id = entry->id;
    journal.target_generation = generation;
    journal.new_host_size = target.size();
    journal.records.push_back({0, target});
    if (version == kJournalVersion) {
      ASSERT_TRUE(WriteJournal(Env::Default(), volume->HostPathFor(kPath), journal).ok());
    } else {
      WriteRaw(JournalPath(volume->HostPathFor(kPath)), EncodeJournal(journal, version));
    }
  }
  uint64_t Generation() { return Reopen()->FindFile(kPath)->generation; }

  // The host bytes around a journaled commit of kPath and the plaintext it commits.
  struct Update {
    std::vector<uint8_t> content, old_host, new_host;
  };
  // Commits ThreeChunks() and then `size` bytes of pattern `seed` at `offset` (an overwrite of
  // committed chunks, so through the journal).
  void CommitUpdate(uint64_t offset, size_t size, uint32_t seed, Update* out) {
    out->content = ThreeChunks();
    Commit(0, out->content, nullptr, nullptr);
    auto update = Pattern(size, seed);
    Commit(offset, update, &out->old_host, &out->new_host);
    std::copy(update.begin(), update.end(), out->content.begin() + static_cast<long>(offset));
    ASSERT_LE(out->new_host.size(), 32u << 10) << "the test needs a file read whole at open";
  }
  // Three chunks, the last one partial: 20,380 bytes on disk, read whole at open.
  static std::vector<uint8_t> ThreeChunks() { return Pattern(3 * 4096 - 100, 1); }
};

// The crash hit step 4: the fspf records the new generation, the file is still the old one.
// The journal as this cove writes it, and as an older one did ("COVEJNL1", every byte hashed).
TEST_F(SmallFileOpenTest, CommitInterruptedBeforeItsJournalWasAppliedIsFinishedAtOpen) {
  for (uint32_t version : {kJournalVersion, 1u}) {
    Update u;
    ASSERT_NO_FATAL_FAILURE(CommitUpdate(1000, 5000, 2, &u));
    WriteJournalTo(u.new_host, Generation(), version);
    WriteRaw(Host(), u.old_host);
    auto read = ReadFile(kPath);
    ASSERT_TRUE(read.ok()) << "version " << version << ": " << read.status().ToString();
    EXPECT_EQ(*read, u.content);
    EXPECT_FALSE(std::filesystem::exists(Journal()));
    EXPECT_EQ(ReadRaw(Host()), u.new_host);
  }
}

// A journal of the committed generation with a changed byte (the disk changed it) is torn and
// never replayed: the file, whose commit it held, then fails, naming the file; no wrong byte
// reaches the reader.
TEST_F(SmallFileOpenTest, ChangedByteInAJournalToReplayFailsTheFileNotTheReader) {
  Update u;
  ASSERT_NO_FATAL_FAILURE(CommitUpdate(1000, 5000, 2, &u));
  for (size_t offset : {size_t{20}, size_t{100}, size_t{5000}}) {
    WriteJournalTo(u.new_host, Generation());
    std::vector<uint8_t> journal = ReadRaw(Journal());
    journal[offset] ^= 0x10;
    WriteRaw(Journal(), journal);
    WriteRaw(Host(), u.old_host);
    auto read = ReadFile(kPath);
    ASSERT_FALSE(read.ok()) << "offset " << offset;
    EXPECT_NE(read.status().ToString().find(kPath), std::string::npos) << read.status().ToString();
  }
}

// An applied commit's journal brought back (its removal not yet on disk at a power loss) with
// a changed byte: a file past the small-file size replays any journal of its generation at
// open, so this one must be refused as torn, and the intact file kept as it is.
TEST_F(SmallFileOpenTest, ChangedByteInAnAppliedCommitsLeftoverJournalLeavesTheFileIntact) {
  std::vector<uint8_t> content = Pattern(40 << 10, 5);
  std::vector<uint8_t> host;
  Commit(0, content, nullptr, &host);
  ASSERT_GT(host.size(), 32u << 10) << "the test needs a file not read whole at open";
  WriteJournalTo(host, Generation());
  std::vector<uint8_t> journal = ReadRaw(Journal());
  journal[kHeaderSize + kTagBlockSize + 4096 + 100] ^= 0x10;  // in a chunk's bytes
  WriteRaw(Journal(), journal);
  auto read = ReadFile(kPath);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, content);
  EXPECT_EQ(ReadRaw(Host()), host);
}

TEST_F(SmallFileOpenTest, CommitInterruptedHalfwayThroughItsJournalIsFinishedAtOpen) {
  Update u;
  ASSERT_NO_FATAL_FAILURE(CommitUpdate(5000, 3000, 3, &u));
  // The new header and tag block are on disk, the chunks are not: the tag block matches the
  // fspf, only the chunks' verification tells. Opening must find that out and recover, not
  // serve chunk errors later.
  WriteJournalTo(u.new_host, Generation());
  std::vector<uint8_t> mixed = u.old_host;
  std::copy(u.new_host.begin(), u.new_host.begin() + kHeaderSize + kTagBlockSize, mixed.begin());
  WriteRaw(Host(), mixed);
  auto read = ReadFile(kPath);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, u.content);
  EXPECT_FALSE(std::filesystem::exists(Journal()));
}

TEST_F(SmallFileOpenTest, UncommittedTailWithItsJournalIsDroppedAtOpen) {
  std::vector<uint8_t> content = ThreeChunks();
  std::vector<uint8_t> host;
  Commit(0, content, nullptr, &host);
  // A crash before the commit point: a journal for a generation the fspf never recorded, and
  // bytes appended past the committed end.
  WriteJournalTo(host, Generation() + 1);
  std::vector<uint8_t> extended = host;
  extended.resize(host.size() + 4096, 0x5a);
  WriteRaw(Host(), extended);
  auto read = ReadFile(kPath);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, content);
  EXPECT_EQ(ReadRaw(Host()), host);
  EXPECT_FALSE(std::filesystem::exists(Journal()));
}

TEST_F(SmallFileOpenTest, LeftoverJournalOfAnUncommittedGenerationIsNeverReplayed) {
  std::vector<uint8_t> content = ThreeChunks();
  std::vector<uint8_t> host;
  Commit(0, content, nullptr, &host);
  // A journal for generation + 1 that never reached the fspf, and no tail: the file verifies,
  // so the open does not even look at the journal.
  std::vector<uint8_t> bogus = host;
  bogus[kHeaderSize + kTagBlockSize + 10] ^= 1;
  WriteJournalTo(bogus, Generation() + 1);
  auto read = ReadFile(kPath);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, content);
  // The next commit reaches that generation: it rewrites the journal before its commit point,
  // so the leftover one can never be applied over it.
  auto update = Pattern(100, 4);
  Commit(0, update, nullptr, nullptr);
  std::copy(update.begin(), update.end(), content.begin());
  EXPECT_FALSE(std::filesystem::exists(Journal()));
  read = ReadFile(kPath);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, content);
}

TEST_F(SmallFileOpenTest, FlippedBitWithoutJournalIsReportedNamingTheFile) {
  std::vector<uint8_t> content = ThreeChunks();
  std::vector<uint8_t> host;
  Commit(0, content, nullptr, &host);
  // Header: refused at open. Tag entry or chunk: the open succeeds (as for larger files) and
  // the read fails; either way no byte of the file reaches the reader.
  for (size_t offset : {size_t{20}, kHeaderSize + 5, kHeaderSize + kTagBlockSize + 4096 + 7}) {
    std::vector<uint8_t> tampered = host;
    tampered[offset] ^= 0x10;
    WriteRaw(Host(), tampered);
    auto read = ReadFile(kPath);
    ASSERT_FALSE(read.ok()) << "offset " << offset;
    EXPECT_NE(read.status().ToString().find(kPath), std::string::npos) << read.status().ToString();
    EXPECT_FALSE(std::filesystem::exists(Journal()));
  }
  WriteRaw(Host(), host);
  EXPECT_EQ(*ReadFile(kPath), content);
}

}  // namespace
}  // namespace cove::shield
