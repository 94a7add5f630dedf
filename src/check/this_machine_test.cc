// The checks on the real build machine, which has every CPU feature cove needs and no SGX driver
// (skips where that is not so, e.g. a developer laptop with SGX).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "check/platform_check.h"
#include "check/platform_probe.h"

namespace cove::check {
namespace {

TEST(ThisMachineTest, ReadsTheRealKernelFiles) {
  PlatformReport r = ReadThisMachine();
  EXPECT_FALSE(r.cpu.vendor.empty());
  ASSERT_TRUE(r.mem_available_bytes.has_value());
  EXPECT_GT(*r.mem_available_bytes, 0u);
  EXPECT_TRUE(r.smt_active.has_value());
  EXPECT_NE(r.FindVulnerability("meltdown"), nullptr);
}

// The runtime's cheap probe decides exactly as the full one: same required CPU features, same
// reasons for both modes (the warnings, from the files it skips, may differ).
TEST(ThisMachineTest, ModeCheckProbeAgreesWithTheFullReport) {
  PlatformReport full = ReadThisMachine();
  for (bool hardware : {false, true}) {
    PlatformReport light = ReadThisMachineForModeCheck(hardware);
    EXPECT_EQ(light.cpu.vendor, full.cpu.vendor);
    EXPECT_TRUE(light.cpu.brand.empty());
    EXPECT_EQ(light.cpu.aes_ni, full.cpu.aes_ni);
    EXPECT_EQ(light.cpu.pclmulqdq, full.cpu.pclmulqdq);
    EXPECT_EQ(light.cpu.sse4_2, full.cpu.sse4_2);
    EXPECT_EQ(light.cpu.avx, full.cpu.avx);
    EXPECT_EQ(light.cpu.avx2, full.cpu.avx2);
    EXPECT_EQ(light.cpu.os_avx_state, full.cpu.os_avx_state);
    EXPECT_EQ(light.cpu.sgx, full.cpu.sgx);
    EXPECT_EQ(light.HasTeeDevice(TeeKind::kSgx), hardware && full.HasTeeDevice(TeeKind::kSgx));
    EXPECT_TRUE(light.mem_available_bytes.has_value());
    Verdict a = Evaluate(full);
    Verdict b = Evaluate(light);
    EXPECT_EQ(a.simulation_reasons, b.simulation_reasons);
    if (hardware) {
      EXPECT_EQ(a.hardware_reasons, b.hardware_reasons);
    }
  }
}

TEST(ThisMachineTest, SimulationModeIsSupported) {
  Status status = CheckSimulationModeSupported();
  EXPECT_TRUE(status.ok()) << status.ToString();
}

TEST(ThisMachineTest, HardwareModeIsRefusedForTheMissingSgxDriver) {
  if (ReadThisMachine().HasTeeDevice(TeeKind::kSgx)) GTEST_SKIP() << "this machine has SGX";
  Status status = CheckHardwareModeSupported();
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(),
              testing::HasSubstr("no SGX driver: none of /dev/sgx_enclave, /dev/sgx/enclave, "
                                 "/dev/isgx exists"));
}

TEST(ThisMachineTest, AbsurdMemoryRequirementIsRefused) {
  Status status =
      CheckSimulationModeSupported(Requirements{.min_available_memory_bytes = uint64_t{1} << 60});
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), testing::HasSubstr("of memory available"));
}

}  // namespace
}  // namespace cove::check
