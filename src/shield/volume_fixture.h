// Test fixture for the shield's volume tests: a fresh sealed fspf in a temp directory with two
// regions, /data (encrypted, host directory <tmp>/enc) and /auth (authenticated, <tmp>/auth);
// and two volumes on one fspf that merge each other's commits, as two processes' do.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "shield/shield_test_util.h"
#include "shield/volume.h"

namespace cove::shield::testing {

class VolumeFixture : public ::testing::Test {
 public:
  void SetUp() override {
    fspf_path_ = dir_ / "fspf.pb";
    ASSERT_TRUE(Volume::CreateFspf(fspf_path_).ok());
    auto volume = OpenVolume(SecretBytes(), std::nullopt);
    ASSERT_NE(volume, nullptr);
    ASSERT_TRUE(volume->AddRegion({"/data", RegionKind::kEncrypted, dir_ / "enc"}).ok());
    ASSERT_TRUE(volume->AddRegion({"/auth", RegionKind::kAuthenticated, dir_ / "auth"}).ok());
    std::filesystem::create_directories(dir_ / "enc");
    std::filesystem::create_directories(dir_ / "auth");
    auto key = volume->Encrypt();
    ASSERT_TRUE(key.ok());
    key_ = *key;
  }

  // The volume as a new process sees it: with `key`, expecting fspf tag `tag` if given.
  std::unique_ptr<Volume> OpenVolume(SecretBytes key, std::optional<FspfTag> tag) {
    VolumeOptions options;
    options.fspf_path = fspf_path_;
    options.key = std::move(key);
    options.expected_tag = tag;
    auto volume = Volume::Open(std::move(options));
    EXPECT_TRUE(volume.ok()) << volume.status().ToString();
    return volume.ok() ? std::move(volume).value() : nullptr;
  }
  std::unique_ptr<Volume> Reopen() { return OpenVolume(key_, std::nullopt); }
  // The same over `env` (one that injects failures).
  std::unique_ptr<Volume> ReopenWith(Env& env) {
    VolumeOptions options;
    options.fspf_path = fspf_path_;
    options.key = key_;
    options.env = &env;
    auto volume = Volume::Open(std::move(options));
    EXPECT_TRUE(volume.ok()) << volume.status().ToString();
    return volume.ok() ? std::move(volume).value() : nullptr;
  }

  // The whole plaintext of committed file `path`, read by a new process.
  Result<std::vector<uint8_t>> ReadFile(const std::string& path) {
    auto volume = Reopen();
    COVE_ASSIGN_OR_RETURN(auto file, volume->OpenFile(path, false));
    std::vector<uint8_t> out(file->size());
    COVE_ASSIGN_OR_RETURN(size_t n, file->Read(0, out));
    out.resize(n);
    return out;
  }

  TempDir dir_;
  std::string fspf_path_;
  SecretBytes key_;
};

// Env::Default() with injected failures: the next fsync of a host file whose path contains
// `fail_next_sync_of` (journals excepted) fails with EIO, and so does the next fsync of the
// directory of a path that contains `fail_next_directory_sync_of`.
class SyncFailingEnv : public Env {
 public:
  std::string fail_next_sync_of;
  std::string fail_next_directory_sync_of;

  Result<UniqueFd> Open(const std::string& path, int flags, mode_t mode) override {
    return base_.Open(path, flags, mode);
  }
  Status ReadExactly(int fd, std::span<uint8_t> buf, uint64_t offset,
                     const std::string& path) override {
    return base_.ReadExactly(fd, buf, offset, path);
  }
  Result<size_t> ReadAt(int fd, std::span<uint8_t> buf, uint64_t offset,
                        const std::string& path) override {
    return base_.ReadAt(fd, buf, offset, path);
  }
  Result<size_t> ReadOnce(int fd, std::span<uint8_t> buf, uint64_t offset,
                          const std::string& path) override {
    return base_.ReadOnce(fd, buf, offset, path);
  }
  Status WriteAt(int fd, std::span<const uint8_t> buf, uint64_t offset,
                 const std::string& path) override {
    return base_.WriteAt(fd, buf, offset, path);
  }
  Result<uint64_t> FileSize(int fd, const std::string& path) override {
    return base_.FileSize(fd, path);
  }
  Status Truncate(int fd, uint64_t size, const std::string& path) override {
    return base_.Truncate(fd, size, path);
  }
  Status Sync(int fd, const std::string& path) override {
    if (!fail_next_sync_of.empty() && path.find(fail_next_sync_of) != std::string::npos &&
        path.find("journal") == std::string::npos) {
      fail_next_sync_of.clear();
      return IoError("injected fsync failure of " + path, EIO);
    }
    return base_.Sync(fd, path);
  }
  Status Rename(const std::string& from, const std::string& to) override {
    return base_.Rename(from, to);
  }
  Status Unlink(const std::string& path) override { return base_.Unlink(path); }
  bool Exists(const std::string& path) override { return base_.Exists(path); }
  Status SyncParentDir(const std::string& path) override {
    if (!fail_next_directory_sync_of.empty() &&
        path.find(fail_next_directory_sync_of) != std::string::npos) {
      fail_next_directory_sync_of.clear();
      return IoError("injected fsync failure of the directory of " + path, EIO);
    }
    return base_.SyncParentDir(path);
  }
  Status SyncFilesystems(const std::set<std::string>& dirs) override {
    return base_.SyncFilesystems(dirs);
  }
  Result<UniqueFd> LockFile(const std::string& path, bool wait, bool shared) override {
    return base_.LockFile(path, wait, shared);
  }

 private:
  Env& base_ = Env::Default();
};

// Plays the runtime's tag publisher for volumes on one fspf: `published` is the tag of the last
// save of any of them, and a save over another fspf is told about it (*newer) so that it
// merges.
class MergingObserver : public FspfSaveObserver {
 public:
  explicit MergingObserver(FspfTag* published) : published_(published) {}
  Status BeforeSave(const FspfTag& current, const FspfTag& /*next*/,
                    std::optional<FspfTag>* newer) override {
    if (current == *published_) return Status::Ok();
    ++merges;
    *newer = *published_;
    return FailedPrecondition("another volume committed");
  }
  void AfterSave(const FspfTag& tag) override { *published_ = tag; }
  Status LockCommits(const FspfTag& current, std::optional<FspfTag>* newer) override {
    if (current == *published_) return Status::Ok();
    ++merges;
    *newer = *published_;
    return Status::Ok();
  }
  int merges = 0;

 private:
  FspfTag* published_;
};

// Two processes' volumes on one fspf, each told about the other's commits (MergingObserver).
struct TwoProcesses {
  TwoProcesses(std::unique_ptr<Volume> a, std::unique_ptr<Volume> b)
      : first(std::move(a)),
        second(std::move(b)),
        first_observer(&published),
        second_observer(&published) {
    published = first->tag();
    first->SetSaveObserver(&first_observer);
    second->SetSaveObserver(&second_observer);
  }
  std::unique_ptr<Volume> first, second;
  MergingObserver first_observer, second_observer;
  FspfTag published{};
};

}  // namespace cove::shield::testing
