// Staging: new files recorded in memory and committed by one later fspf write.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace cove::shield
