// DecodeCpuFeatures on hand-made CPUID registers: each required bit, the OS-enabled AVX state,
// SGX leaves, and leaves above the CPU's maximum.
#include "check/cpu_features.h"

#include <gtest/gtest.h>

namespace cove::check {
namespace {

// Registers of a CPU with every feature cove looks at, its OS saving AVX state.
CpuidSnapshot ModernCpu() {
  CpuidSnapshot s;
  s.vendor = "GenuineIntel";
  s.max_basic_leaf = 0x1b;
  s.leaf1_ecx = (1u << 1) | (1u << 20) | (1u << 25) | (1u << 27) | (1u << 28) | (1u << 30);
  s.leaf7_ebx = (1u << 2) | (1u << 5) | (1u << 29);
  s.leaf7_ecx = (1u << 9) | (1u << 10) | (1u << 30);
  s.leaf0x12_eax = 0x3;
  s.xcr0_readable = true;
  s.xcr0 = 0x7;  // x87, SSE, AVX
  return s;
}

TEST(DecodeCpuFeaturesTest, DecodesEveryFeatureOfAModernCpu) {
  CpuFeatures f = DecodeCpuFeatures(ModernCpu());
  EXPECT_EQ(f.vendor, "GenuineIntel");
  EXPECT_TRUE(f.aes_ni);
  EXPECT_TRUE(f.pclmulqdq);
  EXPECT_TRUE(f.sse4_2);
  EXPECT_TRUE(f.avx_usable());
  EXPECT_TRUE(f.avx2_usable());
  EXPECT_TRUE(f.rdrand);
  EXPECT_TRUE(f.sha_ni);
  EXPECT_TRUE(f.vaes);
  EXPECT_TRUE(f.vpclmulqdq);
  EXPECT_TRUE(f.sgx);
  EXPECT_TRUE(f.sgx1);
  EXPECT_TRUE(f.sgx2);
  EXPECT_TRUE(f.sgx_launch_control);
}

TEST(DecodeCpuFeaturesTest, ClearedAesBitMeansNoAesNi) {
  CpuidSnapshot s = ModernCpu();
  s.leaf1_ecx &= ~(1u << 25);
  CpuFeatures f = DecodeCpuFeatures(s);
  EXPECT_FALSE(f.aes_ni);
  EXPECT_TRUE(f.pclmulqdq);
}

TEST(DecodeCpuFeaturesTest, AvxWithoutOsxsaveIsNotUsable) {
  CpuidSnapshot s = ModernCpu();
  s.leaf1_ecx &= ~(1u << 27);
  s.xcr0_readable = false;
  s.xcr0 = 0;
  CpuFeatures f = DecodeCpuFeatures(s);
  EXPECT_TRUE(f.avx);
  EXPECT_TRUE(f.avx2);
  EXPECT_FALSE(f.os_avx_state);
  EXPECT_FALSE(f.avx_usable());
  EXPECT_FALSE(f.avx2_usable());
}

TEST(DecodeCpuFeaturesTest, AvxWhoseStateTheOsDoesNotSaveIsNotUsable) {
  CpuidSnapshot s = ModernCpu();
  s.xcr0 = 0x3;  // x87 and SSE only: the kernel booted with noxsave-like settings
  CpuFeatures f = DecodeCpuFeatures(s);
  EXPECT_TRUE(f.avx);
  EXPECT_FALSE(f.os_avx_state);
  EXPECT_FALSE(f.avx_usable());
}

TEST(DecodeCpuFeaturesTest, IgnoresLeafSevenAboveTheMaximumLeaf) {
  CpuidSnapshot s = ModernCpu();
  s.max_basic_leaf = 6;
  CpuFeatures f = DecodeCpuFeatures(s);
  EXPECT_TRUE(f.aes_ni);
  EXPECT_FALSE(f.avx2);
  EXPECT_FALSE(f.sha_ni);
  EXPECT_FALSE(f.sgx);
}

TEST(DecodeCpuFeaturesTest, SgxLeafIsIgnoredWhenLeafSevenDeniesSgx) {
  CpuidSnapshot s = ModernCpu();
  s.leaf7_ebx &= ~(1u << 2);
  CpuFeatures f = DecodeCpuFeatures(s);
  EXPECT_FALSE(f.sgx);
  EXPECT_FALSE(f.sgx1);
  EXPECT_FALSE(f.sgx2);
}

TEST(DecodeCpuFeaturesTest, EmptySnapshotHasNoFeatures) {
  CpuFeatures f = DecodeCpuFeatures(CpuidSnapshot{});
  EXPECT_FALSE(f.aes_ni);
  EXPECT_FALSE(f.sse4_2);
  EXPECT_FALSE(f.avx);
}

}  // namespace
}  // namespace cove::check
