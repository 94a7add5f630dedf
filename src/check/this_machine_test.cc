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
