// Tests of the namespace operations the runtime needs (Volume::RemoveFile, Volume::RenameFile,
// the save observer): the fspf follows renames and unlinks, and an interrupted rename is
// completed on the next open.
#include <gtest/gtest.h>

#include <filesystem>

#include "shield/journal.h"
#include "shield/shield_test_util.h"
#include "shield/volume.h"
#include "shield/volume_fixture.h"

namespace cove::shield {
namespace {

using testing::Pattern;
using testing::TempDir;
using testing::TwoProcesses;

class VolumeRenameTest : public testing::VolumeFixture {
 protected:
  void Write(Volume& volume, const std::string& path, const std::vector<uint8_t>& content) {
    auto file = volume.CreateFile(path);
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    ASSERT_TRUE((*file)->Write(0, content).ok());
    ASSERT_TRUE(volume.Commit(**file).ok());
  }

  // Commits `update` at offset 0 of `path` (committed before), then puts the host file back as
  // it was with the commit's redo journal beside it: the state a crash after the fspf write
  // and before the journal's apply leaves. Returns the committed content.
  std::vector<uint8_t> LeaveCommitUnapplied(Volume& volume, const std::string& path,
                                            const std::vector<uint8_t>& update) {
    std::string host = volume.HostPathFor(path);
    std::vector<uint8_t> before = testing::ReadRaw(host);
    auto file = volume.OpenFile(path, true);
    EXPECT_TRUE(file.ok()) << file.status().ToString();
    if (!file.ok()) return {};
    EXPECT_TRUE((*file)->Write(0, update).ok());
    EXPECT_TRUE(volume.Commit(**file).ok());
    std::vector<uint8_t> content((*file)->size());
    EXPECT_TRUE((*file)->Read(0, content).ok());
    file->reset();
    std::vector<uint8_t> after = testing::ReadRaw(host);
    const FileEntry* entry = volume.FindFile(path);
    Journal journal;
    journal.file_id = entry->id;
    journal.target_generation = entry->generation;
    journal.new_host_size = after.size();
    journal.records.push_back({0, after});
    EXPECT_TRUE(WriteJournal(Env::Default(), host, journal).ok());
    testing::WriteRaw(host, before);
    return content;
  }

  // The intent a rename of /data/FROM to /data/TO leaves (RenameFile), as a crash would.
  void LeaveRenameIntent(const std::string& from, const std::string& to) {
    std::string intent = "cove-rename-v1\n" + (dir_ / ("enc/" + from)) + "\n" +
                         (dir_ / ("enc/" + to)) + "\n/data/" + to;
    testing::WriteRaw(fspf_path_ + ".cove-rename", {intent.begin(), intent.end()});
  }

  std::vector<uint8_t> Read(Volume& volume, const std::string& path) {
    auto file = volume.OpenFile(path, false);
    EXPECT_TRUE(file.ok()) << file.status().ToString();
    if (!file.ok()) return {};
    std::vector<uint8_t> out((*file)->size());
    EXPECT_TRUE((*file)->Read(0, out).ok());
    return out;
  }
};

TEST_F(VolumeRenameTest, RemoveFileDropsEntryAndHostFile) {
  auto volume = Reopen();
  Write(*volume, "/data/a", Pattern(5000, 1));
  ASSERT_TRUE(volume->RemoveFile("/data/a").ok());
  EXPECT_FALSE(std::filesystem::exists(dir_ / "enc/a"));
  auto reopened = Reopen();
  EXPECT_EQ(reopened->FindFile("/data/a"), nullptr);
  EXPECT_EQ(reopened->RemoveFile("/data/a").code(), StatusCode::kNotFound);
}

TEST_F(VolumeRenameTest, RenameMovesEntryAndHostFileAndReplacesTarget) {
  auto volume = Reopen();
  auto a = Pattern(9000, 2);
  Write(*volume, "/data/a", a);
  Write(*volume, "/data/b", Pattern(100, 3));
  ASSERT_TRUE(volume->RenameFile("/data/a", "/data/b").ok());
  EXPECT_FALSE(std::filesystem::exists(dir_ / "enc/a"));
  EXPECT_FALSE(std::filesystem::exists(volume->RenameIntentPath()));
  auto reopened = Reopen();
  EXPECT_EQ(reopened->FindFile("/data/a"), nullptr);
  EXPECT_EQ(Read(*reopened, "/data/b"), a);
}

// A failure after the host rename (here the directory's fsync) does not make the rename look
// failed: the fspf and the host file both name the target, so its caller (the runtime, whose
// open files follow the name) must hear that it happened. The failure is kept as a warning,
// and the intent stays for the next start, which finishes it.
TEST_F(VolumeRenameTest, AFailureAfterTheHostRenameIsAWarningNotAnError) {
  testing::SyncFailingEnv env;
  auto volume = ReopenWith(env);
  ASSERT_NE(volume, nullptr);
  auto a = Pattern(5000, 6);
  Write(*volume, "/data/a", a);
  env.fail_next_directory_sync_of = "/enc/";
  Status renamed = volume->RenameFile("/data/a", "/data/moved");
  ASSERT_TRUE(renamed.ok()) << renamed.ToString();
  std::vector<std::string> warnings = volume->TakeWarnings();
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("injected fsync failure"), std::string::npos) << warnings[0];
  EXPECT_TRUE(volume->TakeWarnings().empty());
  EXPECT_TRUE(std::filesystem::exists(volume->RenameIntentPath()));
  EXPECT_EQ(Read(*volume, "/data/moved"), a);
  auto reopened = Reopen();  // finishes the intent
  EXPECT_FALSE(std::filesystem::exists(reopened->RenameIntentPath()));
  EXPECT_EQ(reopened->FindFile("/data/a"), nullptr);
  EXPECT_EQ(Read(*reopened, "/data/moved"), a);
}

// The kernel refuses the host side (a non-empty directory where the file should go, or is):
// the fspf goes back to what it was, no rename intent stays (the next start would try it
// again and refuse to start), and the file keeps its content under its old name.
TEST_F(VolumeRenameTest, HostRefusalLeavesTheFspfAsItWas) {
  auto volume = Reopen();
  auto a = Pattern(3000, 4);
  Write(*volume, "/data/a", a);
  std::filesystem::create_directories(dir_ / "enc/dir/inside");
  Status renamed = volume->RenameFile("/data/a", "/data/dir");
  EXPECT_FALSE(renamed.ok());
  EXPECT_FALSE(std::filesystem::exists(volume->RenameIntentPath()));
  EXPECT_EQ(volume->FindFile("/data/dir"), nullptr);
  EXPECT_EQ(Read(*volume, "/data/a"), a);

  Write(*volume, "/data/b", Pattern(100, 5));
  std::filesystem::remove(dir_ / "enc/b");
  std::filesystem::create_directories(dir_ / "enc/b/inside");  // unlink(2) of it fails
  EXPECT_FALSE(volume->RemoveFile("/data/b").ok());
  EXPECT_NE(volume->FindFile("/data/b"), nullptr);

  auto reopened = Reopen();  // what is on disk
  EXPECT_EQ(Read(*reopened, "/data/a"), a);
  EXPECT_EQ(reopened->FindFile("/data/dir"), nullptr);
  EXPECT_NE(reopened->FindFile("/data/b"), nullptr);
}

TEST_F(VolumeRenameTest, RefusesRenameAcrossRegionKinds) {
  auto volume = Reopen();
  Write(*volume, "/data/a", Pattern(10, 4));
  EXPECT_EQ(volume->RenameFile("/data/a", "/auth/a").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(volume->RenameFile("/data/a", "/elsewhere/a").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Read(*volume, "/data/a"), Pattern(10, 4));
}

TEST_F(VolumeRenameTest, OpenCompletesRenameInterruptedAfterFspfWrite) {
  auto a = Pattern(7000, 5);
  {
    auto volume = Reopen();
    Write(*volume, "/data/a", a);
    ASSERT_TRUE(volume->RenameFile("/data/a", "/data/c").ok());
  }
  // Simulate a crash between the fspf write and the host rename: undo the host rename and
  // put the intent back.
  std::filesystem::rename(dir_ / "enc/c", dir_ / "enc/a");
  LeaveRenameIntent("a", "c");
  auto volume = Reopen();
  EXPECT_EQ(Read(*volume, "/data/c"), a);
  EXPECT_FALSE(std::filesystem::exists(fspf_path_ + ".cove-rename"));
}

TEST_F(VolumeRenameTest, OpenIgnoresIntentTheFspfDoesNotRecord) {
  auto a = Pattern(300, 6);
  {
    auto volume = Reopen();
    Write(*volume, "/data/a", a);
  }
  // Crash before the fspf write: the fspf still records /data/a; nothing may move.
  LeaveRenameIntent("a", "z");
  auto volume = Reopen();
  EXPECT_EQ(Read(*volume, "/data/a"), a);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "enc/z"));
}

// A crash after the intent but before the rename's save, when the target existed (os.replace
// of a temporary file over a committed one): the fspf still records the old target, which must
// stay, and the source too. (Finishing the rename destroyed both.)
TEST_F(VolumeRenameTest, OpenDropsAnIntentOverAnExistingTargetTheFspfStillRecords) {
  auto a = Pattern(300, 7);
  auto c = Pattern(500, 8);
  {
    auto volume = Reopen();
    Write(*volume, "/data/a", a);
    Write(*volume, "/data/c", c);
  }
  LeaveRenameIntent("a", "c");
  auto volume = Reopen();
  EXPECT_EQ(Read(*volume, "/data/a"), a);
  EXPECT_EQ(Read(*volume, "/data/c"), c);
  EXPECT_FALSE(std::filesystem::exists(fspf_path_ + ".cove-rename"));
}

// A file whose last commit is recorded but not applied yet (its journal beside it) keeps that
// commit when renamed: the journal moves with it. (It stayed under the old name, and the
// renamed file no longer matched the fspf.)
TEST_F(VolumeRenameTest, RenameTakesAnUnappliedCommitsJournalAlong) {
  auto volume = Reopen();
  Write(*volume, "/data/a", Pattern(size_t{3} * 4096, 9));
  auto content = LeaveCommitUnapplied(*volume, "/data/a", Pattern(5000, 10));
  ASSERT_TRUE(volume->RenameFile("/data/a", "/data/b").ok());
  EXPECT_FALSE(std::filesystem::exists(JournalPath(dir_ / "enc/a")));
  EXPECT_EQ(Read(*Reopen(), "/data/b"), content);
}

// The same commit when the crash came inside a rename, after its save: whether the host file
// had moved or not, the next open moves the file and its journal, and the commit is kept.
TEST_F(VolumeRenameTest, OpenCompletesARenameWithItsFilesUnappliedCommit) {
  for (bool file_moved : {false, true}) {
    SCOPED_TRACE(file_moved ? "host file moved" : "host file not moved");
    std::vector<uint8_t> content;
    {
      auto volume = Reopen();
      (void)volume->RemoveFile("/data/b");
      Write(*volume, "/data/a", Pattern(size_t{3} * 4096, 11));
      ASSERT_TRUE(volume->RenameFile("/data/a", "/data/b").ok());
      content = LeaveCommitUnapplied(*volume, "/data/b", Pattern(5000, 12));
    }
    // Back to a rename whose save happened (the fspf says /data/b) and nothing after it on the
    // host, or only the host file's move.
    std::filesystem::rename(JournalPath(dir_ / "enc/b"), JournalPath(dir_ / "enc/a"));
    if (!file_moved) std::filesystem::rename(dir_ / "enc/b", dir_ / "enc/a");
    LeaveRenameIntent("a", "b");
    auto volume = Reopen();
    EXPECT_EQ(Read(*volume, "/data/b"), content);
    EXPECT_FALSE(std::filesystem::exists(JournalPath(dir_ / "enc/a")));
    EXPECT_FALSE(std::filesystem::exists(fspf_path_ + ".cove-rename"));
  }
}

// A crash after the intent and before the save of a rename over an existing file, when the
// source (and the target) had a commit recorded but not applied: the rename never happened,
// so neither journal may move (moving the source's onto the target lost both commits).
TEST_F(VolumeRenameTest, OpenKeepsBothJournalsOfARenameThatWasNeverSaved) {
  for (bool target_journal : {true, false}) {
    SCOPED_TRACE(target_journal ? "target with a journal" : "target without");
    std::vector<uint8_t> a_content;
    std::vector<uint8_t> c_content = Pattern(size_t{3} * 4096, 22);
    {
      auto volume = Reopen();
      Write(*volume, "/data/a", Pattern(size_t{3} * 4096, 21));
      Write(*volume, "/data/c", c_content);
      a_content = LeaveCommitUnapplied(*volume, "/data/a", Pattern(5000, 23));
      if (target_journal) c_content = LeaveCommitUnapplied(*volume, "/data/c", Pattern(5000, 24));
    }
    LeaveRenameIntent("a", "c");
    auto volume = Reopen();
    EXPECT_EQ(Read(*volume, "/data/a"), a_content);
    EXPECT_EQ(Read(*volume, "/data/c"), c_content);
  }
}

// A rename a -> b saved and done on the host, the crash before its intent's removal; since
// then another process created a new /data/a whose commit is recorded, not applied: the next
// open must leave that journal to the new file.
TEST_F(VolumeRenameTest, OpenLeavesANewFilesJournalAtTheOldName) {
  std::vector<uint8_t> b_content = Pattern(size_t{3} * 4096, 41);
  std::vector<uint8_t> new_a;
  {
    auto volume = Reopen();
    Write(*volume, "/data/a", b_content);
    ASSERT_TRUE(volume->RenameFile("/data/a", "/data/b").ok());
    Write(*volume, "/data/a", Pattern(size_t{3} * 4096, 42));
    new_a = LeaveCommitUnapplied(*volume, "/data/a", Pattern(5000, 43));
  }
  LeaveRenameIntent("a", "b");
  auto volume = Reopen();
  EXPECT_EQ(Read(*volume, "/data/b"), b_content);
  EXPECT_EQ(Read(*volume, "/data/a"), new_a);
}

TEST_F(VolumeRenameTest, ReloadSeesAnotherWritersCommitsOnlyWithItsTag) {
  auto reader = Reopen();
  FspfTag before = reader->tag();
  auto writer = Reopen();
  Write(*writer, "/data/new", Pattern(1234, 9));
  EXPECT_EQ(reader->FindFile("/data/new"), nullptr);
  EXPECT_EQ(reader->Reload(before).code(), StatusCode::kIntegrityError);  // not that version
  ASSERT_TRUE(reader->Reload(writer->tag()).ok());
  EXPECT_EQ(reader->tag(), writer->tag());
  EXPECT_EQ(Read(*reader, "/data/new"), Pattern(1234, 9));
}

// Two processes' volumes commit, remove, rename and stage different files of one fspf in turn,
// each from the version it loaded: every save merges its own change into the other's newer
// fspf, and the fspf on disk ends up with all of them.
TEST_F(VolumeRenameTest, SavesOverAnotherVolumesCommitsMergeTheirChanges) {
  auto setup = Reopen();
  Write(*setup, "/data/old", Pattern(100, 1));
  Write(*setup, "/data/moved", Pattern(200, 2));
  Write(*setup, "/data/kept", Pattern(300, 3));
  setup.reset();
  TwoProcesses two(Reopen(), Reopen());
  auto& first = two.first;
  auto& second = two.second;
  auto& first_observer = two.first_observer;
  auto& second_observer = two.second_observer;

  Write(*second, "/data/b", Pattern(1000, 4));  // second's fspf is newer than first's now
  Write(*first, "/data/a", Pattern(2000, 5));   // merges into second's
  ASSERT_TRUE(second->RemoveFile("/data/old").ok());
  ASSERT_TRUE(first->RenameFile("/data/moved", "/data/renamed").ok());
  auto staged = second->CreateFile("/data/staged");
  ASSERT_TRUE(staged.ok());
  ASSERT_TRUE((*staged)->Write(0, Pattern(500, 6)).ok());
  ASSERT_TRUE(second->Stage(**staged).ok());
  Write(*first, "/data/c", Pattern(3000, 7));
  ASSERT_TRUE(second->SaveIfUnsaved().ok());
  EXPECT_EQ(first_observer.merges, 2);   // a, the rename (c follows its own save)
  EXPECT_EQ(second_observer.merges, 2);  // the removal, the staged file

  auto after = Reopen();
  EXPECT_EQ(Read(*after, "/data/a"), Pattern(2000, 5));
  EXPECT_EQ(Read(*after, "/data/b"), Pattern(1000, 4));
  EXPECT_EQ(Read(*after, "/data/c"), Pattern(3000, 7));
  EXPECT_EQ(Read(*after, "/data/renamed"), Pattern(200, 2));
  EXPECT_EQ(Read(*after, "/data/staged"), Pattern(500, 6));
  EXPECT_EQ(Read(*after, "/data/kept"), Pattern(300, 3));
  EXPECT_EQ(after->FindFile("/data/old"), nullptr);
  EXPECT_EQ(after->FindFile("/data/moved"), nullptr);
  EXPECT_EQ(after->file_count(), 6u);
}

// Two processes that share one descriptor (after fork) share its flock, so both may write the
// file. Each appended to the version both read; the first commit stands, and the second is
// refused before it writes anything: written, its chunks would have overwritten the first's
// in place and left a file that matches neither fspf entry.
TEST_F(VolumeRenameTest, CommitOverAnotherProcesssCommitOfTheSameFileIsRefused) {
  auto setup = Reopen();
  Write(*setup, "/data/log", Pattern(5000, 1));
  setup.reset();
  TwoProcesses two(Reopen(), Reopen());
  auto first_log = two.first->OpenFile("/data/log", true);
  auto second_log = two.second->OpenFile("/data/log", true);
  ASSERT_TRUE(first_log.ok() && second_log.ok());
  (*first_log)->set_other_writers(true);  // what the runtime says of a file shared by fork
  (*second_log)->set_other_writers(true);
  ASSERT_TRUE((*first_log)->Write(5000, Pattern(3000, 2)).ok());
  ASSERT_TRUE((*second_log)->Write(5000, Pattern(7000, 3)).ok());
  ASSERT_TRUE(two.first->Commit(**first_log).ok());

  Status refused = two.second->Commit(**second_log);
  EXPECT_EQ(refused.code(), StatusCode::kConflict) << refused.ToString();
  EXPECT_NE(refused.ToString().find("/data/log: another process committed it"), std::string::npos)
      << refused.ToString();
  EXPECT_TRUE((*second_log)->dirty());  // its writes stay buffered, not half-committed
  std::vector<uint8_t> expected = Pattern(5000, 1);
  std::vector<uint8_t> appended = Pattern(3000, 2);
  expected.insert(expected.end(), appended.begin(), appended.end());
  auto after = Reopen();
  EXPECT_EQ(Read(*after, "/data/log"), expected);
  // Opened anew under the commit lock, the file is the first process's version.
  auto latest = two.second->OpenLatestFile("/data/log", false);
  ASSERT_TRUE(latest.ok()) << latest.status().ToString();
  EXPECT_EQ((*latest)->generation(), (*first_log)->generation());
  // The second process still commits its other files: the refusal concerned that file only.
  Write(*two.second, "/data/other", Pattern(100, 4));
  EXPECT_EQ(Read(*Reopen(), "/data/other"), Pattern(100, 4));
}

// A staged file committed again (reopened and appended to) while another volume committed: the
// file is both staged and in flight, and the merge must carry it over once, not leave an empty
// entry behind (the fspf written then could not be read back: every later start failed).
TEST_F(VolumeRenameTest, MergeOfAStagedFileCommittedAgainKeepsItsEntry) {
  TwoProcesses two(Reopen(), Reopen());
  auto& first = two.first;
  auto& second = two.second;
  auto& first_observer = two.first_observer;
  auto staged = first->CreateFile("/data/a");
  ASSERT_TRUE(staged.ok());
  ASSERT_TRUE((*staged)->Write(0, Pattern(10, 1)).ok());
  ASSERT_TRUE(first->Stage(**staged).ok());
  Write(*second, "/data/b", Pattern(20, 2));
  ASSERT_TRUE((*staged)->Write(10, Pattern(30, 3)).ok());
  Status committed = first->Commit(**staged);
  ASSERT_TRUE(committed.ok()) << committed.ToString();
  EXPECT_EQ(first_observer.merges, 1);

  auto after = Reopen();
  std::vector<uint8_t> a = Pattern(10, 1);
  std::vector<uint8_t> rest = Pattern(30, 3);
  a.insert(a.end(), rest.begin(), rest.end());
  EXPECT_EQ(Read(*after, "/data/a"), a);
  EXPECT_EQ(Read(*after, "/data/b"), Pattern(20, 2));
}

class RecordingObserver : public FspfSaveObserver {
 public:
  Status BeforeSave(const FspfTag& current, const FspfTag& next,
                    std::optional<FspfTag>* /*newer*/) override {
    before.push_back({current, next});
    return fail ? Internal("observer refused") : Status::Ok();
  }
  void AfterSave(const FspfTag& tag) override { after.push_back(tag); }
  std::vector<std::pair<FspfTag, FspfTag>> before;
  std::vector<FspfTag> after;
  bool fail = false;
};

TEST_F(VolumeRenameTest, ObserverSeesEveryCommitBeforeAndAfterIt) {
  auto volume = Reopen();
  RecordingObserver observer;
  volume->SetSaveObserver(&observer);
  FspfTag start = volume->tag();
  Write(*volume, "/data/a", Pattern(10, 7));
  ASSERT_EQ(observer.before.size(), 1u);
  ASSERT_EQ(observer.after.size(), 1u);
  EXPECT_EQ(observer.before[0].first, start);
  EXPECT_EQ(observer.before[0].second, observer.after[0]);
  EXPECT_EQ(volume->tag(), observer.after[0]);
  observer.fail = true;
  auto file = volume->OpenFile("/data/a", true);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*file)->Write(0, Pattern(10, 8)).ok());
  EXPECT_FALSE(volume->Commit(**file).ok());
  EXPECT_EQ(volume->tag(), observer.after[0]);  // the refused save changed nothing
}

}  // namespace
}  // namespace cove::shield
