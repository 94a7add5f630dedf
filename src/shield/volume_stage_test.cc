// Staging: new files and rewrites recorded in memory and committed by one later fspf write.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "shield/shield_test_util.h"
#include "shield/volume.h"
#include "shield/volume_fixture.h"

namespace cove::shield {
namespace {

using testing::Pattern;
using testing::TempDir;

class VolumeStageTest : public testing::VolumeFixture {
 protected:
  void WriteNew(Volume& volume, const std::string& path, const std::vector<uint8_t>& content) {
    auto file = std::move(volume.CreateFile(path)).value();
    ASSERT_TRUE(file->Write(0, content).ok());
    ASSERT_TRUE(volume.Stage(*file).ok());
  }
};

TEST_F(VolumeStageTest, StagedFilesAreReadableAtOnceAndDurableOnlyAfterSave) {
  auto volume = Reopen();
  FspfTag before = volume->tag();
  WriteNew(*volume, "/data/a", Pattern(5000, 1));
  WriteNew(*volume, "/data/b", Pattern(70000, 2));
  EXPECT_EQ(volume->unsaved_count(), 2u);
  EXPECT_EQ(volume->tag(), before) << "staging must not write the fspf";
  // Readable in this process right away.
  auto a = volume->OpenFile("/data/a", false);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  std::vector<uint8_t> back(5000);
  ASSERT_EQ(*(*a)->Read(0, back), 5000u);
  EXPECT_EQ(back, Pattern(5000, 1));
  // Another process (a fresh Volume) does not see them yet.
  EXPECT_EQ(Reopen()->FindFile("/data/a"), nullptr);

  ASSERT_TRUE(volume->SaveIfUnsaved().ok());
  EXPECT_EQ(volume->unsaved_count(), 0u);
  EXPECT_NE(volume->tag(), before);
  auto other = Reopen();
  auto b = other->OpenFile("/data/b", false);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  std::vector<uint8_t> content(70000);
  ASSERT_EQ(*(*b)->Read(0, content), 70000u);
  EXPECT_EQ(content, Pattern(70000, 2));
}

TEST_F(VolumeStageTest, CommitOfAnotherFileAlsoSavesStagedFiles) {
  auto volume = Reopen();
  WriteNew(*volume, "/data/staged", Pattern(100, 3));
  auto file = std::move(volume->CreateFile("/data/committed")).value();
  ASSERT_TRUE(file->Write(0, Pattern(100, 4)).ok());
  ASSERT_TRUE(volume->Commit(*file).ok());
  EXPECT_EQ(volume->unsaved_count(), 0u);
  EXPECT_NE(Reopen()->FindFile("/data/staged"), nullptr);
}

TEST_F(VolumeStageTest, ReloadKeepsFilesStagedButNotSaved) {
  auto mine = Reopen();
  auto theirs = Reopen();
  WriteNew(*mine, "/data/mine", Pattern(10, 5));
  auto file = std::move(theirs->CreateFile("/data/theirs")).value();
  ASSERT_TRUE(file->Write(0, Pattern(10, 6)).ok());
  ASSERT_TRUE(theirs->Commit(*file).ok());
  ASSERT_TRUE(mine->Reload(theirs->tag()).ok());
  EXPECT_NE(mine->FindFile("/data/theirs"), nullptr);
  EXPECT_NE(mine->FindFile("/data/mine"), nullptr) << "a reload must not drop staged files";
  EXPECT_EQ(mine->unsaved_count(), 1u);
  ASSERT_TRUE(mine->SaveIfUnsaved().ok());
  auto fresh = Reopen();
  EXPECT_NE(fresh->FindFile("/data/mine"), nullptr);
  EXPECT_NE(fresh->FindFile("/data/theirs"), nullptr);
}

// Rewrites (Volume::StageRewrite): a committed file's new content is staged with its journal.
class VolumeStageRewriteTest : public VolumeStageTest {
 protected:
  void SetUp() override {
    VolumeStageTest::SetUp();
    auto volume = Reopen();
    auto file = std::move(volume->CreateFile("/data/f")).value();
    ASSERT_TRUE(file->Write(0, kOld).ok());
    ASSERT_TRUE(volume->Commit(*file).ok());
  }
  // Opens /data/f in `volume`, replaces its content with kNew and stages the rewrite.
  void StageNew(Volume& volume) {
    auto file = std::move(volume.OpenFile("/data/f", true)).value();
    ASSERT_TRUE(file->Truncate(0).ok());
    ASSERT_TRUE(file->Write(0, kNew).ok());
    ASSERT_TRUE(volume.StageRewrite(file).ok());
    EXPECT_EQ(file, nullptr) << "the Volume keeps the file until the save";
  }
  std::string Journal() const { return dir_ / "enc/f.cove-journal"; }

  const std::vector<uint8_t> kOld = Pattern(6000, 7);
  const std::vector<uint8_t> kNew = Pattern(9000, 8);
};

TEST_F(VolumeStageRewriteTest, IsSavedBeforeAnOpenAndDurableOnlyAfterTheSave) {
  auto volume = Reopen();
  FspfTag before = volume->tag();
  StageNew(*volume);
  EXPECT_EQ(volume->tag(), before) << "staging must not write the fspf";
  EXPECT_EQ(volume->staged_rewrite_count(), 1u);
  EXPECT_EQ(volume->FindFile("/data/f")->size, kNew.size()) << "stat sees the new size";
  // (Another process cannot open the file meanwhile: the runtime keeps its exclusive lock.)
  EXPECT_EQ(Reopen()->FindFile("/data/f")->size, kOld.size()) << "the fspf on disk is unchanged";
  EXPECT_TRUE(std::filesystem::exists(Journal()));
  // An open in this process saves first: the host file must not be read before its journal
  // is applied.
  auto file = volume->OpenFile("/data/f", false);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_NE(volume->tag(), before);
  EXPECT_EQ(volume->staged_rewrite_count(), 0u);
  std::vector<uint8_t> back(kNew.size());
  ASSERT_EQ(*(*file)->Read(0, back), kNew.size());
  EXPECT_EQ(back, kNew);
  EXPECT_EQ(*ReadFile("/data/f"), kNew);
  EXPECT_FALSE(std::filesystem::exists(Journal())) << "the journal goes once applied";
}

TEST_F(VolumeStageRewriteTest, TheNextSaveOfAnyKindAppliesTheJournal) {
  auto volume = Reopen();
  StageNew(*volume);
  WriteNew(*volume, "/data/new", Pattern(100, 9));
  EXPECT_EQ(volume->unsaved_count(), 2u);
  ASSERT_TRUE(volume->SaveIfUnsaved().ok());
  EXPECT_EQ(volume->staged_rewrite_count(), 0u);
  EXPECT_FALSE(std::filesystem::exists(Journal()));
  EXPECT_EQ(*ReadFile("/data/f"), kNew);
  EXPECT_EQ(*ReadFile("/data/new"), Pattern(100, 9));
}

TEST_F(VolumeStageRewriteTest, RenameAndRemoveSaveFirst) {
  auto volume = Reopen();
  StageNew(*volume);
  ASSERT_TRUE(volume->RenameFile("/data/f", "/data/g").ok());
  EXPECT_FALSE(std::filesystem::exists(Journal()));
  EXPECT_EQ(*ReadFile("/data/g"), kNew);
  auto file = std::move(volume->OpenFile("/data/g", true)).value();
  ASSERT_TRUE(file->Write(0, kOld).ok());
  ASSERT_TRUE(volume->StageRewrite(file).ok());
  ASSERT_TRUE(volume->RemoveFile("/data/g").ok());
  EXPECT_EQ(Reopen()->FindFile("/data/g"), nullptr);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "enc/g"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "enc/g.cove-journal"));
}

TEST_F(VolumeStageRewriteTest, ACrashBeforeTheSaveLeavesTheCommittedVersion) {
  {
    auto volume = Reopen();
    StageNew(*volume);
  }  // gone without a save, as a killed process
  EXPECT_TRUE(std::filesystem::exists(Journal()));
  EXPECT_EQ(*ReadFile("/data/f"), kOld);
  // And the file takes new commits.
  auto volume = Reopen();
  auto file = std::move(volume->OpenFile("/data/f", true)).value();
  ASSERT_TRUE(file->Write(0, kNew).ok());
  ASSERT_TRUE(volume->Commit(*file).ok());
  EXPECT_EQ(*ReadFile("/data/f"), kNew);
}

// Ends the process right after the fspf is durable, before the journals are applied.
class ExitAfterSave : public FspfSaveObserver {
 public:
  Status BeforeSave(const FspfTag&, const FspfTag&, std::optional<FspfTag>*) override {
    return Status::Ok();
  }
  void AfterSave(const FspfTag&) override { _exit(0); }
};

TEST_F(VolumeStageRewriteTest, ACrashAfterTheSaveIsFinishedAtTheNextOpen) {
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto volume = Reopen();
    if (volume == nullptr) _exit(2);
    StageNew(*volume);
    ExitAfterSave observer;
    volume->SetSaveObserver(&observer);
    (void)volume->SaveIfUnsaved();
    _exit(3);  // not reached
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_TRUE(std::filesystem::exists(Journal())) << "the child ended before applying it";
  EXPECT_EQ(*ReadFile("/data/f"), kNew);
  EXPECT_FALSE(std::filesystem::exists(Journal()));
}

// The runtime's locks keep other processes from changing a file whose rewrite is staged; if
// one did anyway, the merge must not carry the staged entry over the newer one (its journal
// was prepared on the old version): it is dropped and reported, and the rest is saved.
TEST_F(VolumeStageRewriteTest, AMergeDropsAStagedRewriteOfAFileAnotherVolumeChanged) {
  testing::TwoProcesses two(Reopen(), Reopen());
  StageNew(*two.first);
  WriteNew(*two.first, "/data/mine", Pattern(10, 11));
  ASSERT_TRUE(two.second->RemoveFile("/data/f").ok());
  ASSERT_TRUE(two.first->SaveIfUnsaved().ok());
  EXPECT_EQ(two.first->TakeLostRewrites(), std::vector<std::string>{"/data/f"});
  EXPECT_TRUE(two.first->TakeLostRewrites().empty()) << "reported once";
  EXPECT_EQ(two.first->staged_rewrite_count(), 0u);
  auto fresh = Reopen();
  EXPECT_EQ(fresh->FindFile("/data/f"), nullptr) << "the other volume's removal stands";
  EXPECT_NE(fresh->FindFile("/data/mine"), nullptr);
}

TEST_F(VolumeStageRewriteTest, AMergeKeepsAStagedRewriteWhenOtherFilesChanged) {
  testing::TwoProcesses two(Reopen(), Reopen());
  StageNew(*two.first);
  auto other = std::move(two.second->CreateFile("/data/other")).value();
  ASSERT_TRUE(other->Write(0, Pattern(10, 12)).ok());
  ASSERT_TRUE(two.second->Commit(*other).ok());
  ASSERT_TRUE(two.first->SaveIfUnsaved().ok());
  EXPECT_TRUE(two.first->TakeLostRewrites().empty());
  EXPECT_EQ(*ReadFile("/data/f"), kNew);
  EXPECT_EQ(*ReadFile("/data/other"), Pattern(10, 12));
}

// A file staged new and rewritten before any save rests on nothing the other volume has seen
// (a shell's `echo 1 >> new; echo 2 >> new` beside another process's commits).
TEST_F(VolumeStageRewriteTest, AMergeKeepsARewriteOfAFileStagedNewBeforeAnySave) {
  testing::TwoProcesses two(Reopen(), Reopen());
  WriteNew(*two.first, "/data/n", Pattern(10, 13));
  auto again = std::move(two.first->OpenFile("/data/n", true)).value();
  ASSERT_TRUE(again->Write(10, Pattern(10, 14)).ok());
  ASSERT_TRUE(two.first->StageRewrite(again).ok());
  auto other = std::move(two.second->CreateFile("/data/other")).value();
  ASSERT_TRUE(other->Write(0, Pattern(10, 12)).ok());
  ASSERT_TRUE(two.second->Commit(*other).ok());
  ASSERT_TRUE(two.first->SaveIfUnsaved().ok());
  EXPECT_TRUE(two.first->TakeLostRewrites().empty());
  std::vector<uint8_t> expected = Pattern(10, 13);
  auto tail = Pattern(10, 14);
  expected.insert(expected.end(), tail.begin(), tail.end());
  EXPECT_EQ(*ReadFile("/data/n"), expected);
}

TEST_F(VolumeStageRewriteTest, ANewFileOrAFileWithOtherWritersIsNotStagedAsARewrite) {
  auto volume = Reopen();
  auto fresh = std::move(volume->CreateFile("/data/fresh")).value();
  ASSERT_TRUE(fresh->Write(0, kNew).ok());
  EXPECT_FALSE(volume->StageRewrite(fresh).ok());
  ASSERT_NE(fresh, nullptr);
  auto shared = std::move(volume->OpenFile("/data/f", true)).value();
  shared->set_other_writers(true);
  ASSERT_TRUE(shared->Write(0, kNew).ok());
  EXPECT_FALSE(volume->StageRewrite(shared).ok());
  EXPECT_EQ(volume->staged_rewrite_count(), 0u);
}

}  // namespace
}  // namespace cove::shield
