// Evaluate on synthetic PlatformReports: each missing requirement refuses simulation mode with its
// reason, performance features and side channels only warn, and the SGX driver gates hardware mode.
#include "check/platform_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cove::check {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

CpuFeatures EveryFeature() {
  CpuFeatures f;
  f.aes_ni = f.pclmulqdq = f.sse4_2 = f.avx = f.avx2 = f.os_avx_state = true;
  f.sha_ni = f.vaes = f.vpclmulqdq = f.rdrand = true;
  return f;
}

// A machine that can run simulation mode but has no SGX driver, like the build machine.
PlatformReport CapableMachine() {
  PlatformReport r;
  r.cpu = EveryFeature();
  r.tee_devices = {{TeeKind::kSgx, "/dev/sgx_enclave", false},
                   {TeeKind::kSgx, "/dev/sgx/enclave", false},
                   {TeeKind::kSgx, "/dev/isgx", false},
                   {TeeKind::kTdxGuest, "/dev/tdx_guest", false},
                   {TeeKind::kSnpGuest, "/dev/sev-guest", false}};
  r.smt_active = false;
  r.vulnerabilities = {{"l1tf", "Not affected"}, {"mds", "Not affected"}};
  r.mem_available_bytes = 8ull << 30;
  return r;
}

TEST(EvaluateTest, CapableMachineRunsSimulationButNotHardwareMode) {
  Verdict v = Evaluate(CapableMachine());
  EXPECT_TRUE(v.simulation_mode_ok);
  EXPECT_THAT(v.simulation_reasons, IsEmpty());
  EXPECT_THAT(v.warnings, IsEmpty());
  EXPECT_FALSE(v.hardware_mode_ok);
  EXPECT_THAT(v.hardware_reasons,
              ElementsAre("no SGX driver: none of /dev/sgx_enclave, /dev/sgx/enclave, /dev/isgx "
                          "exists (and the CPU does not report SGX)"));
  EXPECT_TRUE(SimulationModeStatus(v).ok());
}

TEST(EvaluateTest, MissingAesNiRefusesSimulationModeWithTheReason) {
  PlatformReport r = CapableMachine();
  r.cpu.aes_ni = false;
  Verdict v = Evaluate(r);
  EXPECT_FALSE(v.simulation_mode_ok);
  EXPECT_THAT(v.simulation_reasons,
              ElementsAre("CPU lacks AES-NI: simulation mode needs AES-NI for the file shield's "
                          "AES-GCM"));
  Status status = SimulationModeStatus(v);
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("CPU lacks AES-NI: simulation mode needs AES-NI for the "
                                          "file shield's AES-GCM"));
}

TEST(EvaluateTest, EachRequiredFeatureIsNamedWhenMissing) {
  struct Case {
    bool CpuFeatures::*feature;
    const char* reason_start;
  };
  for (const Case& c :
       {Case{&CpuFeatures::pclmulqdq, "CPU lacks PCLMULQDQ: "},
        Case{&CpuFeatures::sse4_2, "CPU lacks SSE4.2: "},
        Case{&CpuFeatures::avx, "CPU lacks AVX: "}, Case{&CpuFeatures::avx2, "CPU lacks AVX2: "}}) {
    PlatformReport r = CapableMachine();
    r.cpu.*c.feature = false;
    Verdict v = Evaluate(r);
    EXPECT_FALSE(v.simulation_mode_ok) << c.reason_start;
    ASSERT_EQ(v.simulation_reasons.size(), 1u) << c.reason_start;
    EXPECT_TRUE(v.simulation_reasons[0].starts_with(c.reason_start)) << v.simulation_reasons[0];
  }
}

TEST(EvaluateTest, AvxPresentButNotEnabledByTheOsRefusesSimulationMode) {
  PlatformReport r = CapableMachine();
  r.cpu.os_avx_state = false;
  Verdict v = Evaluate(r);
  EXPECT_FALSE(v.simulation_mode_ok);
  EXPECT_THAT(v.simulation_reasons, ElementsAre(AllOf(HasSubstr("the OS has not enabled AVX state"),
                                                      HasSubstr("OSXSAVE/XCR0"))));
}

TEST(EvaluateTest, NoCpuFeaturesListsEveryMissingOne) {
  PlatformReport r = CapableMachine();
  r.cpu = CpuFeatures{};
  Verdict v = Evaluate(r);
  EXPECT_EQ(v.simulation_reasons.size(), 5u);
  EXPECT_EQ(v.hardware_reasons.size(), 6u);  // the same five plus the SGX driver
}

TEST(EvaluateTest, LowMemoryRefusesSimulationModeWithTheNumbers) {
  PlatformReport r = CapableMachine();
  r.mem_available_bytes = 40 * kMiB;
  Verdict v = Evaluate(r);
  EXPECT_FALSE(v.simulation_mode_ok);
  EXPECT_THAT(v.simulation_reasons,
              ElementsAre(AllOf(HasSubstr("only 40 MiB of memory available"),
                                HasSubstr(std::to_string(40 * kMiB) + " bytes"),
                                HasSubstr("needs at least 96 MiB"))));
}

TEST(EvaluateTest, MemoryThresholdIsAParameter) {
  PlatformReport r = CapableMachine();
  r.mem_available_bytes = 40 * kMiB;
  EXPECT_TRUE(
      Evaluate(r, Requirements{.min_available_memory_bytes = 32 * kMiB}).simulation_mode_ok);
  r.mem_available_bytes = 1ull << 30;
  Verdict v = Evaluate(r, Requirements{.min_available_memory_bytes = 2ull << 30});
  EXPECT_THAT(v.simulation_reasons, ElementsAre(HasSubstr("needs at least 2048 MiB")));
}

TEST(EvaluateTest, UnreadableMemoryOnlyWarns) {
  PlatformReport r = CapableMachine();
  r.mem_available_bytes.reset();
  Verdict v = Evaluate(r);
  EXPECT_TRUE(v.simulation_mode_ok);
  EXPECT_THAT(v.warnings, Contains(HasSubstr("could not read MemAvailable")));
}

TEST(EvaluateTest, MissingShaNiAndVaesOnlyWarn) {
  PlatformReport r = CapableMachine();
  r.cpu.sha_ni = false;
  r.cpu.vaes = false;
  Verdict v = Evaluate(r);
  EXPECT_TRUE(v.simulation_mode_ok);
  EXPECT_THAT(v.warnings, ElementsAre(HasSubstr("CPU lacks SHA-NI"), HasSubstr("CPU lacks VAES")));
}

TEST(EvaluateTest, HyperthreadingOnAnL1tfAffectedCpuWarns) {
  PlatformReport r = CapableMachine();
  r.smt_active = true;
  r.vulnerabilities = {{"l1tf",
                        "Mitigation: PTE Inversion; VMX: conditional cache flushes, SMT "
                        "vulnerable"},
                       {"mds", "Not affected"}};
  Verdict v = Evaluate(r);
  EXPECT_TRUE(v.simulation_mode_ok);
  EXPECT_THAT(v.warnings, Contains(HasSubstr("kernel reports l1tf: Mitigation: PTE Inversion")));
  EXPECT_THAT(v.warnings, Contains(HasSubstr("hyperthreading is active")));
}

TEST(EvaluateTest, HyperthreadingOnAnUnaffectedCpuDoesNotWarn) {
  PlatformReport r = CapableMachine();
  r.smt_active = true;
  EXPECT_THAT(Evaluate(r).warnings, IsEmpty());
}

TEST(EvaluateTest, UnmitigatedVulnerabilityWarns) {
  PlatformReport r = CapableMachine();
  r.vulnerabilities.push_back({"spectre_v2", "Vulnerable"});
  EXPECT_THAT(Evaluate(r).warnings, ElementsAre("kernel reports spectre_v2: Vulnerable"));
}

TEST(EvaluateTest, AnySgxDeviceNodeAllowsHardwareMode) {
  for (size_t sgx_node = 0; sgx_node < 3; ++sgx_node) {
    PlatformReport r = CapableMachine();
    r.tee_devices[sgx_node].present = true;
    Verdict v = Evaluate(r);
    EXPECT_TRUE(v.hardware_mode_ok) << r.tee_devices[sgx_node].path;
    EXPECT_TRUE(HardwareModeStatus(v).ok());
  }
}

TEST(EvaluateTest, TdxOrSnpGuestDeviceDoesNotAllowSgxHardwareMode) {
  PlatformReport r = CapableMachine();
  r.tee_devices[3].present = true;
  r.tee_devices[4].present = true;
  EXPECT_FALSE(Evaluate(r).hardware_mode_ok);
}

TEST(EvaluateTest, HardwareModeAlsoNeedsWhatSimulationModeNeeds) {
  PlatformReport r = CapableMachine();
  r.tee_devices[0].present = true;
  r.cpu.aes_ni = false;
  Verdict v = Evaluate(r);
  EXPECT_FALSE(v.hardware_mode_ok);
  Status status = HardwareModeStatus(v);
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), AllOf(HasSubstr("hardware mode cannot run"),
                                      HasSubstr("CPU lacks AES-NI"), Not(HasSubstr("SGX driver"))));
}

TEST(EvaluateTest, MissingDriverOnAnSgxCpuDoesNotBlameTheCpu) {
  PlatformReport r = CapableMachine();
  r.cpu.sgx = true;
  Verdict v = Evaluate(r);
  EXPECT_THAT(v.hardware_reasons,
              ElementsAre("no SGX driver: none of /dev/sgx_enclave, /dev/sgx/enclave, /dev/isgx "
                          "exists"));
}

}  // namespace
}  // namespace cove::check
