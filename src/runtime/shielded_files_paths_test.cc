// ShieldedFiles' path pre-checks (ClearlyOutside, ClearlyOutsideResolved) against the full
// resolution (Resolve + IsProtectedPath): relative paths from the current directory, "..",
// "//", "/./", prefixes that share a leading part with the region, the region itself,
// trailing slashes. A pre-check may say "look closer" for an outside path, never "outside"
// for a path in the region.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "runtime/runtime_log.h"
#include "runtime/shielded_files.h"

namespace cove::runtime {
namespace {

class ShieldedFilesPathsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetLogTarget(kLogError, 2);
    char tmpl[] = "/tmp/cove-paths-XXXXXX";
    dir_ = mkdtemp(tmpl);
    region_ = dir_ + "/enc";
    std::filesystem::create_directories(region_);
    std::filesystem::create_directories(dir_ + "/work/sub");
    fspf_ = dir_ + "/fspf";
    ASSERT_TRUE(shield::Volume::CreateFspf(fspf_).ok());
    shield::VolumeOptions options;
    options.fspf_path = fspf_;
    auto volume = shield::Volume::Open(options);
    ASSERT_TRUE(volume.ok());
    ASSERT_TRUE((*volume)->AddRegion({region_, shield::RegionKind::kEncrypted, ""}).ok());
    RuntimeConfig config;
    config.fspf_path = fspf_;
    files_ = std::make_unique<ShieldedFiles>(config, std::move(volume).value(), false);
    old_cwd_ = std::filesystem::current_path();
    std::filesystem::current_path(dir_ + "/work");
  }
  void TearDown() override {
    std::filesystem::current_path(old_cwd_);
    files_.reset();
    std::filesystem::remove_all(dir_);
  }

  // The full answer: is `path` (from the current directory) inside the protected region?
  bool Inside(const std::string& path) {
    std::string abs;
    return files_->Resolve(AT_FDCWD, path.c_str(), &abs) && files_->IsProtectedPath(abs);
  }

  std::string dir_, region_, fspf_;
  std::filesystem::path old_cwd_;
  std::unique_ptr<ShieldedFiles> files_;
};

TEST_F(ShieldedFilesPathsTest, PreChecksAgreeWithFullResolution) {
  const std::string base = std::filesystem::path(dir_).filename();
  struct Case {
    std::string path;
    bool outside;  // the expected answer of ClearlyOutsideResolved
  };
  const Case cases[] = {
      {"x", true},
      {"sub/./y", true},
      {"../enc", false},   // the region itself
      {"../enc/", false},  // with a trailing slash
      {"../enc/f", false},
      {"../encx/f", true},  // shares a leading part with the region
      {"../en", true},
      {"..//enc//f", false},  // doubled slashes
      {"./../enc/./f", false},
      {"sub/../../enc/f", false},
      {"../../" + base + "/enc/f", false},
      {"../../../../../../../../" + dir_ + "/enc/f", false},  // ".." stops at the root
      {"..", true},  // an ancestor of the region is outside
      {".", true},
      {dir_ + "/enc", false},
      {dir_ + "/enc/../work/f", true},
      {dir_ + "/work/../enc/f", false},
      {dir_ + "//enc/f", false},
      {dir_ + "/encrypted", true},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(files_->ClearlyOutsideResolved(AT_FDCWD, c.path.c_str()), c.outside) << c.path;
    EXPECT_EQ(Inside(c.path), !c.outside) << c.path;
    // The cheap test decides only absolute normal paths, and never wrongly.
    if (files_->ClearlyOutside(c.path.c_str())) {
      EXPECT_TRUE(c.outside) << c.path;
      EXPECT_EQ(c.path[0], '/') << c.path;
    }
  }
  EXPECT_TRUE(files_->ClearlyOutside((dir_ + "/work/f").c_str()));
  EXPECT_FALSE(files_->ClearlyOutside("x"));  // relative: look closer
}

TEST_F(ShieldedFilesPathsTest, LooksCloserWhenItCannotResolveCheaply) {
  int dirfd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dirfd, 0);
  EXPECT_FALSE(files_->ClearlyOutsideResolved(dirfd, "x"));  // relative to a descriptor
  EXPECT_TRUE(files_->ClearlyOutsideResolved(dirfd, (dir_ + "/x").c_str()));  // absolute
  close(dirfd);
  EXPECT_FALSE(files_->ClearlyOutsideResolved(AT_FDCWD, ""));
  EXPECT_FALSE(files_->ClearlyOutsideResolved(AT_FDCWD, nullptr));
  std::string huge(PATH_MAX, 'a');
  EXPECT_FALSE(files_->ClearlyOutsideResolved(AT_FDCWD, huge.c_str()));
}

}  // namespace
}  // namespace cove::runtime
