// CPU features that decide whether cove can run: the raw CPUID/XCR0 registers (CpuidSnapshot) and
// the pure decoding of them into named features (CpuFeatures), so that every combination, e.g. AVX
// reported by the CPU but not enabled by the OS, can be tested without that CPU.
#pragma once

#include <cstdint>
#include <string>

namespace cove::check {

// The CPUID leaves and XCR0 value cove looks at, exactly as the CPU returned them. Registers of a
// leaf above `max_basic_leaf` are zero.
struct CpuidSnapshot {
  std::string vendor;  // leaf 0, e.g. "GenuineIntel"
  std::string brand;   // leaves 0x80000002..4, empty when not supported
  uint32_t max_basic_leaf = 0;
  uint32_t leaf1_ecx = 0;
  uint32_t leaf1_edx = 0;
  uint32_t leaf7_ebx = 0;  // leaf 7, sub-leaf 0
  uint32_t leaf7_ecx = 0;
  uint32_t leaf0x12_eax = 0;  // SGX capabilities, sub-leaf 0; read only when leaf 7 reports SGX
  // XCR0 (XGETBV 0): which register states the OS saves on context switch. Only readable when
  // CPUID reports OSXSAVE; otherwise `xcr0_readable` is false and `xcr0` zero.
  bool xcr0_readable = false;
  uint64_t xcr0 = 0;
};

// Named features decoded from a CpuidSnapshot.
struct CpuFeatures {
  std::string vendor;
  std::string brand;
  // Required for simulation mode.
  bool aes_ni = false;     // AES rounds in hardware: the file shield's AES-256-GCM
  bool pclmulqdq = false;  // carry-less multiply: GHASH, the authentication half of GCM
  bool sse4_2 = false;
  bool avx = false;           // the CPU implements AVX...
  bool avx2 = false;          // ...and AVX2...
  bool os_avx_state = false;  // ...and the OS saves YMM state (OSXSAVE and XCR0 bits 1 and 2)
  // Reported for performance only.
  bool sha_ni = false;
  bool vaes = false;
  bool vpclmulqdq = false;
  bool rdrand = false;
  // SGX as the CPU reports it (a VM may hide it even when the host has it).
  bool sgx = false;
  bool sgx1 = false;
  bool sgx2 = false;
  bool sgx_launch_control = false;

  // AVX and AVX2 can be executed: implemented by the CPU and enabled by the OS.
  bool avx_usable() const { return avx && os_avx_state; }
  bool avx2_usable() const { return avx2 && os_avx_state; }
};

// Decodes the feature bits (Intel SDM Vol. 2A, CPUID; AMD uses the same bits for these features).
CpuFeatures DecodeCpuFeatures(const CpuidSnapshot& snapshot);

// Reads CPUID and XCR0 of the CPU this code runs on (all zero on non-x86 machines).
CpuidSnapshot ReadCpuidSnapshot();
// The same without the brand string (leaves 0x80000000..4) and the SGX leaf 0x12: only leaves 0,
// 1, 7 and XCR0, which is everything the mode checks decide on. CPUID is a VM exit under a
// hypervisor (microseconds each), and the runtime runs this at the start of every program.
CpuidSnapshot ReadCpuidFeatureLeaves();

}  // namespace cove::check
