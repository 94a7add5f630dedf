// DecodeCpuFeatures: CPUID register bits to named features. Pure; the machine is read in
// cpuid_reader.cc.
#include "check/cpu_features.h"

namespace cove::check {
namespace {

bool Bit(uint64_t reg, int bit) {
  return ((reg >> bit) & 1) != 0;
}

// CPUID.1:ECX
constexpr int kPclmulqdqBit = 1;
constexpr int kSse42Bit = 20;
constexpr int kAesNiBit = 25;
constexpr int kOsxsaveBit = 27;
constexpr int kAvxBit = 28;
constexpr int kRdrandBit = 30;
// CPUID.(7,0):EBX
constexpr int kSgxBit = 2;
constexpr int kAvx2Bit = 5;
constexpr int kShaBit = 29;
// CPUID.(7,0):ECX
constexpr int kVaesBit = 9;
constexpr int kVpclmulqdqBit = 10;
constexpr int kSgxLaunchControlBit = 30;
// CPUID.(0x12,0):EAX
constexpr int kSgx1Bit = 0;
constexpr int kSgx2Bit = 1;
// XCR0: the OS saves SSE (XMM) and AVX (upper YMM) state.
constexpr uint64_t kXcr0SseAndAvxState = 0x6;

}  // namespace

CpuFeatures DecodeCpuFeatures(const CpuidSnapshot& s) {
  CpuFeatures f;
  f.vendor = s.vendor;
  f.brand = s.brand;
  if (s.max_basic_leaf >= 1) {
    f.pclmulqdq = Bit(s.leaf1_ecx, kPclmulqdqBit);
    f.sse4_2 = Bit(s.leaf1_ecx, kSse42Bit);
    f.aes_ni = Bit(s.leaf1_ecx, kAesNiBit);
    f.avx = Bit(s.leaf1_ecx, kAvxBit);
    f.rdrand = Bit(s.leaf1_ecx, kRdrandBit);
    f.os_avx_state = Bit(s.leaf1_ecx, kOsxsaveBit) && s.xcr0_readable &&
                     (s.xcr0 & kXcr0SseAndAvxState) == kXcr0SseAndAvxState;
  }
  if (s.max_basic_leaf >= 7) {
    f.sgx = Bit(s.leaf7_ebx, kSgxBit);
    f.avx2 = Bit(s.leaf7_ebx, kAvx2Bit);
    f.sha_ni = Bit(s.leaf7_ebx, kShaBit);
    f.vaes = Bit(s.leaf7_ecx, kVaesBit);
    f.vpclmulqdq = Bit(s.leaf7_ecx, kVpclmulqdqBit);
    f.sgx_launch_control = Bit(s.leaf7_ecx, kSgxLaunchControlBit);
  }
  if (f.sgx && s.max_basic_leaf >= 0x12) {
    f.sgx1 = Bit(s.leaf0x12_eax, kSgx1Bit);
    f.sgx2 = Bit(s.leaf0x12_eax, kSgx2Bit);
  }
  return f;
}

}  // namespace cove::check
