// The compact layout of files of at most 4 KiB (file_format.h): new small files get it, their
// commits alternate between two slots without a journal, every byte that matters is checked,
// an older generation or the other slot is refused, and a file that grows is converted to the
// chunked layout through the journal, also across an interrupted commit.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "shield/journal.h"
#include "shield/shield_test_util.h"
#include "shield/volume.h"
#include "shield/volume_fixture.h"

namespace cove::shield {
namespace {

using testing::Pattern;
using testing::ReadRaw;
using testing::WriteRaw;

// Env::Default() that records the paths it opens.
class OpenRecordingEnv : public testing::SyncFailingEnv {
 public:
  std::vector<std::string> opened;
  Result<UniqueFd> Open(const std::string& path, int flags, mode_t mode) override {
    opened.push_back(path);
    return SyncFailingEnv::Open(path, flags, mode);
  }
};

class CompactFileTest : public testing::VolumeFixture {
 protected:
  // Writes `content` at `offset` of `path` (created if needed) and commits, in a new process.
  void Commit(const std::string& path, uint64_t offset, const std::vector<uint8_t>& content,
              Env* env = nullptr) {
    auto volume = env != nullptr ? ReopenWith(*env) : Reopen();
    ASSERT_NE(volume, nullptr);
    auto file =
        volume->FindFile(path) != nullptr ? volume->OpenFile(path, true) : volume->CreateFile(path);
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    ASSERT_TRUE((*file)->Write(offset, content).ok());
    Status committed = volume->Commit(**file);
    ASSERT_TRUE(committed.ok()) << committed.ToString();
  }
  // Commits `commits` versions of `size` bytes (patterns 1, 2, ...) to new file `path`, so that
  // its compact generation is in slot (commits - 1) % 2; returns the last one.
  std::vector<uint8_t> CommitGenerations(const std::string& path, uint64_t commits, size_t size) {
    std::vector<uint8_t> model;
    for (uint64_t i = 0; i < commits; ++i) {
      model = Pattern(size, static_cast<uint32_t>(i + 1));
      Commit(path, 0, model);
    }
    return model;
  }
  std::string Host(const std::string& path) { return Reopen()->HostPathFor(path); }
  uint64_t Generation(const std::string& path) { return Reopen()->FindFile(path)->generation; }
  void ExpectReadFails(const std::string& path, const std::string& needle) {
    auto read = ReadFile(path);
    ASSERT_FALSE(read.ok()) << path << " read back although its host file was changed";
    EXPECT_NE(read.status().message().find(needle), std::string::npos)
        << "expected '" << needle << "' in: " << read.status().ToString();
  }
};

TEST_F(CompactFileTest, SmallFilesAreCompactAndCommitsAlternateSlotsWithoutAJournal) {
  for (const std::string path : {"/data/f", "/auth/f"}) {
    SCOPED_TRACE(path);
    std::vector<uint8_t> model = Pattern(100, 1);
    Commit(path, 0, model);
    std::vector<uint8_t> host = ReadRaw(Host(path));
    EXPECT_EQ(host.size(), kCompactHeaderSize + kTagEntrySize + 100);  // generation 1: slot 0
    EXPECT_EQ(host[8], kCompactFileFormatVersion);

    OpenRecordingEnv env;
    std::vector<uint8_t> update = Pattern(300, 2);
    Commit(path, 0, update, &env);
    model = update;
    for (const std::string& opened : env.opened) {
      EXPECT_FALSE(IsJournalName(opened)) << "a compact commit opened " << opened;
    }
    EXPECT_EQ(ReadRaw(Host(path)).size(),
              kCompactHeaderSize + kCompactSlotSize + kTagEntrySize + 300)
        << "generation 2 is in slot 1";
    EXPECT_EQ(*ReadFile(path), model);

    // A partial write: the committed chunk is read from slot 1 and goes to slot 0.
    Commit(path, 50, Pattern(10, 3));
    std::copy_n(Pattern(10, 3).begin(), 10, model.begin() + 50);
    EXPECT_EQ(Generation(path), 3u);
    EXPECT_EQ(*ReadFile(path), model);

    // Extended by a hole, then emptied, then written again.
    {
      auto volume = Reopen();
      auto file = std::move(volume->OpenFile(path, true)).value();
      ASSERT_TRUE(file->Truncate(kCompactMaxSize).ok());
      ASSERT_TRUE(volume->Commit(*file).ok());
    }
    model.resize(kCompactMaxSize, 0);
    EXPECT_EQ(*ReadFile(path), model);
    {
      auto volume = Reopen();
      auto file = std::move(volume->OpenFile(path, true)).value();
      ASSERT_TRUE(file->Truncate(0).ok());
      ASSERT_TRUE(volume->Commit(*file).ok());
    }
    EXPECT_TRUE(ReadFile(path)->empty());
    Commit(path, 0, Pattern(7, 4));
    EXPECT_EQ(*ReadFile(path), Pattern(7, 4));
    EXPECT_EQ(ReadRaw(Host(path))[8], kCompactFileFormatVersion);
    EXPECT_FALSE(std::filesystem::exists(JournalPath(Host(path))));
  }
}

TEST_F(CompactFileTest, EveryCommittedByteIsCheckedAndTheOtherSlotIsNot) {
  Commit("/data/f", 0, Pattern(1000, 1));
  Commit("/data/f", 0, Pattern(300, 2));  // generation 2, slot 1; slot 0 holds generation 1
  std::vector<uint8_t> model = Pattern(1000, 1);
  std::copy_n(Pattern(300, 2).begin(), 300, model.begin());
  std::string host = Host("/data/f");
  std::vector<uint8_t> raw = ReadRaw(host);
  uint64_t slot = CompactSlotOffset(2);
  struct Case {
    uint64_t offset;
    std::string needle;
  };
  std::vector<Case> cases = {
      {0, "header"},
      {8, "header"},                                    // the version: 2 needs 4096 bytes
      {20, "header"},                                   // file id
      {63, "header"},                                   // padding
      {slot, "does not match the fspf"},                // nonce
      {slot + 20, "does not match the fspf"},           // tag
      {slot + 31, "does not match the fspf"},           // flags
      {slot + kTagEntrySize, "authentication failed"},  // data
      {raw.size() - 1, "authentication failed"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.offset);
    auto copy = raw;
    copy[c.offset] ^= 0x04;
    WriteRaw(host, copy);
    ExpectReadFails("/data/f", c.needle);
  }
  auto copy = raw;
  for (uint64_t i = CompactSlotOffset(1); i < slot; ++i) copy[i] ^= 0x5a;
  WriteRaw(host, copy);
  EXPECT_EQ(*ReadFile("/data/f"), model) << "the other slot is never read";
}

TEST_F(CompactFileTest, OlderGenerationAndTheOtherSlotAreRefused) {
  Commit("/data/f", 0, Pattern(500, 1));
  Commit("/data/f", 0, Pattern(500, 2));
  std::string host = Host("/data/f");
  std::vector<uint8_t> generation2 = ReadRaw(host);
  Commit("/data/f", 0, Pattern(500, 3));  // generation 3, back in slot 0
  std::vector<uint8_t> generation3 = ReadRaw(host);

  WriteRaw(host, generation2);  // the whole file rolled back
  ExpectReadFails("/data/f", "does not match the fspf");
  // Generation 2's slot copied into slot 0, where generation 3 is expected.
  auto moved = generation3;
  std::copy_n(generation2.begin() + static_cast<long>(CompactSlotOffset(2)), kTagEntrySize + 500,
              moved.begin() + static_cast<long>(CompactSlotOffset(3)));
  WriteRaw(host, moved);
  ExpectReadFails("/data/f", "does not match the fspf");
  WriteRaw(host, generation3);
  EXPECT_EQ(*ReadFile("/data/f"), Pattern(500, 3));
}

TEST_F(CompactFileTest, TruncatedOrExtendedFileIsRefused) {
  Commit("/data/f", 0, Pattern(500, 1));
  std::string host = Host("/data/f");
  std::vector<uint8_t> raw = ReadRaw(host);
  auto shorter = raw;
  shorter.resize(raw.size() - 1);
  WriteRaw(host, shorter);
  ExpectReadFails("/data/f", "truncated");
  auto longer = raw;
  longer.resize(kCompactMaxHostSize + 1, 0);
  WriteRaw(host, longer);
  ExpectReadFails("/data/f", "extended");
  // Up to the other slot's end, bytes after the committed slot are the other slot's.
  longer.resize(kCompactMaxHostSize);
  WriteRaw(host, longer);
  EXPECT_EQ(*ReadFile("/data/f"), Pattern(500, 1));
}

TEST_F(CompactFileTest, GrowingPastOneChunkConvertsToTheChunkedLayout) {
  for (uint64_t commits : {1, 2}) {  // the compact generation in slot 0, then in slot 1
    std::string path = "/data/grow" + std::to_string(commits);
    SCOPED_TRACE(path);
    std::vector<uint8_t> model = CommitGenerations(path, commits, 3000);
    std::vector<uint8_t> tail = Pattern(20000, 9);
    Commit(path, model.size(), tail);
    model.insert(model.end(), tail.begin(), tail.end());
    std::vector<uint8_t> host = ReadRaw(Host(path));
    EXPECT_EQ(host[8], kFileFormatVersion);
    EXPECT_EQ(host.size(), FileGeometry(kDefaultChunkSize).HostSize(model.size()));
    EXPECT_EQ(*ReadFile(path), model);
    // Shrunk again, the file keeps the chunked layout.
    {
      auto volume = Reopen();
      auto file = std::move(volume->OpenFile(path, true)).value();
      ASSERT_TRUE(file->Truncate(100).ok());
      ASSERT_TRUE(volume->Commit(*file).ok());
    }
    model.resize(100);
    EXPECT_EQ(ReadRaw(Host(path))[8], kFileFormatVersion);
    EXPECT_EQ(*ReadFile(path), model);
  }
}

// Keeps a copy of the host file and journal of `host` as they are when the fspf is renamed
// into place (the commit point), to put back afterwards: the state a crash right after the
// commit point leaves.
class CommitPointSnapshotEnv : public testing::SyncFailingEnv {
 public:
  std::string host;
  std::vector<uint8_t> host_bytes, journal_bytes;
  Status Rename(const std::string& from, const std::string& to) override {
    Status renamed = SyncFailingEnv::Rename(from, to);
    if (!host.empty() && host_bytes.empty()) {
      host_bytes = ReadRaw(host);
      journal_bytes = ReadRaw(JournalPath(host));
    }
    return renamed;
  }
};

TEST_F(CompactFileTest, ConversionInterruptedAfterItsCommitPointIsFinishedAtOpen) {
  for (uint64_t commits : {1, 2}) {  // the compact generation in slot 0, then in slot 1
    std::string path = "/data/c" + std::to_string(commits);
    SCOPED_TRACE(path);
    CommitGenerations(path, commits, 2935);
    std::vector<uint8_t> grown = Pattern(4978, 3);
    CommitPointSnapshotEnv env;
    env.host = Host(path);
    Commit(path, 0, grown, &env);
    ASSERT_FALSE(env.journal_bytes.empty()) << "a conversion goes through the journal";
    WriteRaw(env.host, env.host_bytes);
    WriteRaw(JournalPath(env.host), env.journal_bytes);
    auto read = ReadFile(path);
    ASSERT_TRUE(read.ok()) << read.status().ToString();
    EXPECT_EQ(*read, grown);
    EXPECT_EQ(ReadRaw(env.host).size(), FileGeometry(kDefaultChunkSize).HostSize(grown.size()));
    EXPECT_FALSE(std::filesystem::exists(JournalPath(env.host)));
  }
}

TEST_F(CompactFileTest, ConversionInterruptedBeforeItsCommitPointLeavesTheCompactGeneration) {
  Commit("/data/f", 0, Pattern(3000, 1));
  std::string host = Host("/data/f");
  std::vector<uint8_t> compact = ReadRaw(host);
  // What a conversion leaves before the fspf names it: the chunked layout's groups written past
  // the compact generation, and a journal for the next generation.
  Journal journal;
  journal.file_id = Reopen()->FindFile("/data/f")->id;
  journal.target_generation = Generation("/data/f") + 1;
  journal.new_host_size = 40000;
  journal.records.push_back({0, Pattern(kHeaderSize, 7)});
  ASSERT_TRUE(WriteJournal(Env::Default(), host, journal).ok());
  auto crashed = compact;
  crashed.resize(40000, 0x33);
  WriteRaw(host, crashed);
  EXPECT_EQ(*ReadFile("/data/f"), Pattern(3000, 1));
  EXPECT_EQ(ReadRaw(host), compact) << "the uncommitted tail is cut at the compact slot's end";
  EXPECT_FALSE(std::filesystem::exists(JournalPath(host)));
  Commit("/data/f", 0, Pattern(200, 2));  // and the file stays writable
  auto expected = Pattern(3000, 1);
  std::copy_n(Pattern(200, 2).begin(), 200, expected.begin());
  EXPECT_EQ(*ReadFile("/data/f"), expected);
}

TEST_F(CompactFileTest, FailedCommitOfAConversionKeepsTheCompactGeneration) {
  Commit("/data/f", 0, Pattern(3000, 1));
  Commit("/data/f", 0, Pattern(3000, 2));
  testing::SyncFailingEnv env;
  env.fail_next_sync_of = "/enc/f";  // the host file's fsync before the fspf is written
  {
    auto volume = ReopenWith(env);
    auto file = std::move(volume->OpenFile("/data/f", true)).value();
    ASSERT_TRUE(file->Write(3000, Pattern(50000, 3)).ok());
    EXPECT_FALSE(volume->Commit(*file).ok());
  }
  EXPECT_EQ(*ReadFile("/data/f"), Pattern(3000, 2));
  EXPECT_EQ(ReadRaw(Host("/data/f"))[8], kCompactFileFormatVersion);
  Commit("/data/f", 3000, Pattern(5000, 4));
  auto expected = Pattern(3000, 2);
  auto tail = Pattern(5000, 4);
  expected.insert(expected.end(), tail.begin(), tail.end());
  EXPECT_EQ(*ReadFile("/data/f"), expected);
}

// A commit whose fspf was renamed into place but whose directory fsync failed is reported as
// failed, yet the fspf on disk names the new generation: its slot must still be there (the
// abort cut it off, as it cuts appended bytes; found by review also after appended chunks
// were sealed at write time, then cut off again, which leaves an append-intent journal).
TEST_F(CompactFileTest, AbortAfterTheFspfRenameKeepsTheNewSlot) {
  for (bool sealed_appends : {false, true}) {
    std::string path = sealed_appends ? "/data/sealed" : "/data/f";
    SCOPED_TRACE(path);
    Commit(path, 0, Pattern(700, 1));  // generation 1, slot 0
    testing::SyncFailingEnv env;
    env.fail_next_directory_sync_of = "fspf";
    {
      auto volume = ReopenWith(env);
      auto file = std::move(volume->OpenFile(path, true)).value();
      if (sealed_appends) {
        ASSERT_TRUE(file->Write(0, Pattern(256 << 10, 3)).ok());        // sealed at write time
        ASSERT_TRUE(std::filesystem::exists(JournalPath(Host(path))));  // the append intent
        ASSERT_TRUE(file->Truncate(700).ok());
      }
      ASSERT_TRUE(file->Write(0, Pattern(700, 2)).ok());
      EXPECT_FALSE(volume->Commit(*file).ok());  // generation 2 in slot 1, after slot 0
    }
    ASSERT_EQ(Generation(path), 2u);
    auto read = ReadFile(path);
    ASSERT_TRUE(read.ok()) << read.status().ToString();
    EXPECT_EQ(*read, Pattern(700, 2));
  }
}

// Fails the next ReadOnce of a host file whose path contains `fail_next_read_of` with EIO.
class FlakyReadEnv : public testing::SyncFailingEnv {
 public:
  std::string fail_next_read_of;
  Result<size_t> ReadOnce(int fd, std::span<uint8_t> buf, uint64_t offset,
                          const std::string& path) override {
    if (!fail_next_read_of.empty() && path.find(fail_next_read_of) != std::string::npos &&
        !IsJournalName(path)) {
      fail_next_read_of.clear();
      return IoError("injected read failure of " + path, EIO);
    }
    return SyncFailingEnv::ReadOnce(fd, buf, offset, path);
  }
};

// A conversion whose commit failed after its journal was written leaves that journal (for the
// next generation); a compact commit then reaches that generation without a journal of its own.
// An open that goes to recovery (here after one transient read error) must not replay the stale
// journal over the good compact generation (found by review: the file was lost).
TEST_F(CompactFileTest, StaleConversionJournalIsNotReplayedOverTheCompactGeneration) {
  CommitGenerations("/data/f", 2, 3000);
  std::string host = Host("/data/f");
  {
    testing::SyncFailingEnv env;
    env.fail_next_sync_of = "/enc/f";
    auto volume = ReopenWith(env);
    auto file = std::move(volume->OpenFile("/data/f", true)).value();
    ASSERT_TRUE(file->Write(3000, Pattern(50000, 3)).ok());
    ASSERT_FALSE(volume->Commit(*file).ok());  // the conversion fails after its journal
    ASSERT_TRUE(std::filesystem::exists(JournalPath(host)));
    ASSERT_TRUE(file->Truncate(100).ok());
    Status committed = volume->Commit(*file);  // compact again, generation 3
    ASSERT_TRUE(committed.ok()) << committed.ToString();
  }
  ASSERT_EQ(Generation("/data/f"), 3u);
  ASSERT_TRUE(std::filesystem::exists(JournalPath(host)));
  {
    FlakyReadEnv env;
    env.fail_next_read_of = "/enc/f";
    auto volume = ReopenWith(env);
    auto file = volume->OpenFile("/data/f", false);
    ASSERT_TRUE(file.ok()) << file.status().ToString();
  }
  auto read = ReadFile("/data/f");
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, Pattern(100, 2));
  EXPECT_FALSE(std::filesystem::exists(JournalPath(host))) << "the stale journal is removed";
}

// A new file's host file carries the compact header from its creation on, before any commit:
// the runtime tells a crashed creator's leftover by it (docs/runtime.md).
TEST_F(CompactFileTest, NewFileHasItsHeaderBeforeItsFirstCommit) {
  auto volume = Reopen();
  auto file = std::move(volume->CreateFile("/data/new")).value();
  ASSERT_TRUE(file->Write(0, Pattern(100, 1)).ok());
  std::vector<uint8_t> raw = ReadRaw(volume->HostPathFor("/data/new"));
  ASSERT_EQ(raw.size(), kCompactHeaderSize);
  EXPECT_EQ(std::string(raw.begin(), raw.begin() + 8), "COVEPF01");
}

// Descriptors this process has open.
int OpenDescriptors() {
  int n = 0;
  for ([[maybe_unused]] const auto& fd : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

// A small file whose open finishes a crashed commit's journal uses the caller's host descriptor,
// as a clean open does: reopened by path, a staged rewrite of it held two (found by review).
TEST_F(CompactFileTest, RecoveringOpenUsesTheCallersDescriptor) {
  Commit("/data/g", 0, Pattern(3 * 4096 - 100, 1));  // chunked, read whole at open
  std::vector<uint8_t> old_host = ReadRaw(Host("/data/g"));
  Commit("/data/g", 1000, Pattern(5000, 2));
  std::vector<uint8_t> new_host = ReadRaw(Host("/data/g"));
  {
    auto volume = Reopen();
    const FileEntry* entry = volume->FindFile("/data/g");
    Journal journal;
    journal.file_id = entry->id;
    journal.target_generation = entry->generation;
    journal.new_host_size = new_host.size();
    journal.records.push_back({0, new_host});
    ASSERT_TRUE(WriteJournal(Env::Default(), Host("/data/g"), journal).ok());
  }
  WriteRaw(Host("/data/g"), old_host);  // crashed after the fspf, before the journal
  for (bool recovering : {true, false}) {
    SCOPED_TRACE(recovering ? "recovering" : "clean");
    auto volume = Reopen();
    int before = OpenDescriptors();
    SharedFd lock(UniqueFd(::open(Host("/data/g").c_str(), O_RDWR | O_CLOEXEC)));
    ASSERT_TRUE(lock.valid());
    auto file = volume->OpenFile("/data/g", true, lock);
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    EXPECT_EQ(OpenDescriptors(), before + 1) << "the file holds a descriptor of its own";
  }
}

TEST_F(CompactFileTest, OpenForReplacingChecksTheHeaderAndItsCommitSetsTheSize) {
  // Opens `path` for replacing through a descriptor of its own (as the runtime's O_TRUNC does),
  // empties it, writes `content` and commits.
  auto replace = [&](const std::string& path, const std::vector<uint8_t>& content) -> Status {
    auto volume = Reopen();
    SharedFd fd(UniqueFd(::open(Host(path).c_str(), O_RDWR | O_CLOEXEC)));
    auto file = volume->OpenFile(path, true, fd, OpenFor::kReplacing);
    if (!file.ok()) return file.status();
    COVE_RETURN_IF_ERROR((*file)->Truncate(0));
    COVE_RETURN_IF_ERROR((*file)->Write(0, content));
    return volume->Commit(**file);
  };
  CommitGenerations("/data/f", 2, 1000);  // generation 2 in slot 1
  std::string host = Host("/data/f");
  std::vector<uint8_t> raw = ReadRaw(host);

  // The slot's content is not read: a changed one is discarded with it.
  auto changed = raw;
  changed[CompactSlotOffset(2) + kTagEntrySize] ^= 0x04;
  WriteRaw(host, changed);
  ASSERT_TRUE(replace("/data/f", Pattern(200, 7)).ok());
  EXPECT_EQ(*ReadFile("/data/f"), Pattern(200, 7));

  // A host file extended outside cove past the layout's largest (which a reader refuses) gets
  // the layout's size back from the commit; one extended within it, or cut, needs no truncate
  // (a reader reads only the committed slot, which the commit writes).
  raw = ReadRaw(host);
  auto longer = raw;
  longer.resize(kCompactMaxHostSize + 5000, 0xee);
  WriteRaw(host, longer);
  ASSERT_TRUE(replace("/data/f", Pattern(300, 8)).ok());
  EXPECT_EQ(*ReadFile("/data/f"), Pattern(300, 8));
  EXPECT_EQ(ReadRaw(host).size(), CompactHostEnd(4, 300)) << "generation 4: 300 bytes in slot 1";
  auto shorter = ReadRaw(host);
  shorter.resize(kCompactHeaderSize + 10);
  WriteRaw(host, shorter);
  ASSERT_TRUE(replace("/data/f", Pattern(100, 9)).ok());
  EXPECT_EQ(*ReadFile("/data/f"), Pattern(100, 9));
  auto within = ReadRaw(host);  // generation 5, slot 0
  within.resize(kCompactMaxHostSize, 0xee);
  WriteRaw(host, within);
  ASSERT_TRUE(replace("/data/f", Pattern(4096, 11)).ok());  // generation 6, slot 1: up to the end
  EXPECT_EQ(*ReadFile("/data/f"), Pattern(4096, 11));
  within = ReadRaw(host);
  within.resize(kCompactMaxHostSize - 1);  // the last byte of slot 1 cut: slot 0 is written
  WriteRaw(host, within);
  ASSERT_TRUE(replace("/data/f", Pattern(10, 12)).ok());
  EXPECT_EQ(*ReadFile("/data/f"), Pattern(10, 12));
  EXPECT_EQ(ReadRaw(host).size(), kCompactMaxHostSize - 1) << "a size within the layout is kept";

  // The header is checked: another file's host file (or a changed header) is refused.
  Commit("/data/other", 0, Pattern(100, 1));
  WriteRaw(host, ReadRaw(Host("/data/other")));
  Status refused = replace("/data/f", Pattern(100, 10));
  EXPECT_FALSE(refused.ok()) << "another file's host file was accepted";
  EXPECT_NE(refused.message().find("header"), std::string::npos) << refused.ToString();

  // A read without the truncate still authenticates what it reads.
  Commit("/data/g", 0, Pattern(500, 1));
  raw = ReadRaw(Host("/data/g"));
  raw[CompactSlotOffset(1) + kTagEntrySize + 10] ^= 0x04;
  WriteRaw(Host("/data/g"), raw);
  auto volume = Reopen();
  SharedFd fd(UniqueFd(::open(Host("/data/g").c_str(), O_RDWR | O_CLOEXEC)));
  auto file = volume->OpenFile("/data/g", true, fd, OpenFor::kReplacing);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  std::vector<uint8_t> out(500);
  auto read = (*file)->Read(0, out);
  EXPECT_FALSE(read.ok()) << "a changed chunk was read";
}

}  // namespace
}  // namespace cove::shield
