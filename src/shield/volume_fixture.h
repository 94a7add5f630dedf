// Test fixture for the shield's volume tests: a fresh sealed fspf in a temp directory with two
// regions, /data (encrypted, host directory <tmp>/enc) and /auth (authenticated, <tmp>/auth).
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

}  // namespace cove::shield::testing
