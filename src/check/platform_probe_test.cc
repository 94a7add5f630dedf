// ReadPlatformReport on a fake root in a temp dir: sysfs vulnerabilities and SMT, /proc meminfo
// and cpuinfo, and TEE device nodes (plain files stand in for the character devices).
#include "check/platform_probe.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "check/platform_check.h"

namespace cove::check {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

CpuFeatures EveryRequiredFeature() {
  CpuFeatures f;
  f.aes_ni = f.pclmulqdq = f.sse4_2 = f.avx = f.avx2 = f.os_avx_state = true;
  f.sha_ni = f.vaes = true;
  return f;
}

class FakeRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "cove-check-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(root_, ignored);
  }

  // Creates `path` (absolute, as on a real machine) below the fake root with `content`.
  void WriteFile(const std::string& path, const std::string& content) {
    fs::path full = root_ / path.substr(1);
    fs::create_directories(full.parent_path());
    std::ofstream(full) << content;
  }

  PlatformReport Probe() {
    return ReadPlatformReport(EveryRequiredFeature(), ProbeOptions{.root = root_.string()});
  }

  fs::path root_;
};

TEST_F(FakeRootTest, EmptyRootReportsNothingPresentAndNothingKnown) {
  PlatformReport r = Probe();
  ASSERT_EQ(r.tee_devices.size(), 6u);
  for (const TeeDevice& d : r.tee_devices) EXPECT_FALSE(d.present) << d.path;
  EXPECT_FALSE(r.smt_active.has_value());
  EXPECT_THAT(r.vulnerabilities, IsEmpty());
  EXPECT_FALSE(r.mem_available_bytes.has_value());
}

TEST_F(FakeRootTest, ReadsEveryVulnerabilityFileSortedAndTrimmed) {
  const std::string dir = "/sys/devices/system/cpu/vulnerabilities/";
  WriteFile(dir + "mds", "Mitigation: Clear CPU buffers; SMT vulnerable\n");
  WriteFile(dir + "l1tf", "Not affected\n");
  WriteFile(dir + "spectre_v2", "Vulnerable\n");
  PlatformReport r = Probe();
  ASSERT_EQ(r.vulnerabilities.size(), 3u);
  EXPECT_EQ(r.vulnerabilities[0].name, "l1tf");
  EXPECT_EQ(r.vulnerabilities[0].status, "Not affected");
  EXPECT_EQ(r.vulnerabilities[1].name, "mds");
  EXPECT_EQ(r.vulnerabilities[1].status, "Mitigation: Clear CPU buffers; SMT vulnerable");
  EXPECT_EQ(r.vulnerabilities[2].name, "spectre_v2");
}

TEST_F(FakeRootTest, SmtFromSysfsWinsOverCpuinfo) {
  WriteFile("/sys/devices/system/cpu/smt/active", "1\n");
  WriteFile("/proc/cpuinfo", "siblings\t: 2\ncpu cores\t: 2\n");
  PlatformReport r = Probe();
  EXPECT_EQ(r.smt_active, true);
  EXPECT_EQ(r.smt_source, "/sys/devices/system/cpu/smt/active");
}

TEST_F(FakeRootTest, SmtFallsBackToSiblingsVersusCores) {
  WriteFile("/proc/cpuinfo", "processor\t: 0\nsiblings\t: 16\ncpu cores\t: 8\n");
  PlatformReport r = Probe();
  EXPECT_EQ(r.smt_active, true);
  EXPECT_EQ(r.smt_source, "/proc/cpuinfo (siblings vs cpu cores)");
}

TEST_F(FakeRootTest, ReadsAvailableAndTotalMemory) {
  WriteFile("/proc/meminfo", "MemTotal:        2048000 kB\nMemAvailable:      51200 kB\n");
  PlatformReport r = Probe();
  EXPECT_EQ(r.mem_total_bytes, 2048000ull * 1024);
  EXPECT_EQ(r.mem_available_bytes, 51200ull * 1024);
  Verdict v = Evaluate(r);
  EXPECT_FALSE(v.simulation_mode_ok);
  EXPECT_THAT(v.simulation_reasons,
              ElementsAre(testing::HasSubstr("only 50 MiB of memory available")));
}

TEST_F(FakeRootTest, SgxDeviceNodeMakesHardwareModeOk) {
  WriteFile("/proc/meminfo", "MemAvailable:   8000000 kB\n");
  WriteFile("/dev/sgx/enclave", "");
  PlatformReport r = Probe();
  EXPECT_TRUE(r.HasTeeDevice(TeeKind::kSgx));
  EXPECT_FALSE(r.HasTeeDevice(TeeKind::kTdxGuest));
  Verdict v = Evaluate(r);
  EXPECT_TRUE(v.simulation_mode_ok);
  EXPECT_TRUE(v.hardware_mode_ok);
}

TEST_F(FakeRootTest, DetectsTdxAndSnpGuestNodes) {
  WriteFile("/dev/tdx_guest", "");
  WriteFile("/dev/sev-guest", "");
  PlatformReport r = Probe();
  EXPECT_TRUE(r.HasTeeDevice(TeeKind::kTdxGuest));
  EXPECT_TRUE(r.HasTeeDevice(TeeKind::kSnpGuest));
  EXPECT_FALSE(r.HasTeeDevice(TeeKind::kSgx));
}

TEST_F(FakeRootTest, RootWithTrailingSlashWorks) {
  WriteFile("/dev/isgx", "");
  PlatformReport r =
      ReadPlatformReport(EveryRequiredFeature(), ProbeOptions{.root = root_.string() + "/"});
  EXPECT_TRUE(r.HasTeeDevice(TeeKind::kSgx));
  EXPECT_EQ(r.tee_devices[2].path, "/dev/isgx");
}

}  // namespace
}  // namespace cove::check
