// ReadCpuidSnapshot: executes CPUID and XGETBV on this CPU. The only file of cove_check that
// touches the processor; everything it returns is decoded by the pure DecodeCpuFeatures.
#include <cstring>

#include "check/cpu_features.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace cove::check {

#if defined(__x86_64__) || defined(__i386__)
namespace {

constexpr int kOsxsaveBit = 27;
constexpr int kSgxBit = 2;

// XGETBV raises #UD unless CR4.OSXSAVE is set, so callers check CPUID.1:ECX.OSXSAVE first.
uint64_t ReadXcr0() {
  uint32_t eax = 0;
  uint32_t edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}

std::string ReadBrand() {
  if (__get_cpuid_max(0x80000000, nullptr) < 0x80000004) return "";
  char brand[49] = {};
  for (unsigned i = 0; i < 3; ++i) {
    unsigned regs[4] = {};
    __get_cpuid(0x80000002 + i, &regs[0], &regs[1], &regs[2], &regs[3]);
    std::memcpy(brand + 16 * i, regs, sizeof(regs));
  }
  std::string text(brand);
  // Brand strings are padded with spaces on either side.
  auto first = text.find_first_not_of(' ');
  auto last = text.find_last_not_of(' ');
  return first == std::string::npos ? "" : text.substr(first, last - first + 1);
}

// Leaves 0, 1, 7 and XCR0; with `full` also the brand string and the SGX leaf.
CpuidSnapshot ReadLeaves(bool full) {
  CpuidSnapshot s;
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  __cpuid(0, eax, ebx, ecx, edx);  // x86-64 always has CPUID
  s.max_basic_leaf = eax;
  if (s.max_basic_leaf == 0) return s;
  char vendor[13] = {};
  std::memcpy(vendor, &ebx, 4);
  std::memcpy(vendor + 4, &edx, 4);
  std::memcpy(vendor + 8, &ecx, 4);
  s.vendor = vendor;
  if (full) s.brand = ReadBrand();

  __cpuid_count(1, 0, eax, ebx, ecx, edx);
  s.leaf1_ecx = ecx;
  s.leaf1_edx = edx;
  if ((ecx >> kOsxsaveBit) & 1) {
    s.xcr0_readable = true;
    s.xcr0 = ReadXcr0();
  }
  if (s.max_basic_leaf >= 7) {
    __cpuid_count(7, 0, eax, ebx, ecx, edx);
    s.leaf7_ebx = ebx;
    s.leaf7_ecx = ecx;
  }
  if (full && s.max_basic_leaf >= 0x12 && ((s.leaf7_ebx >> kSgxBit) & 1)) {
    __cpuid_count(0x12, 0, eax, ebx, ecx, edx);
    s.leaf0x12_eax = eax;
  }
  return s;
}

}  // namespace

CpuidSnapshot ReadCpuidSnapshot() {
  return ReadLeaves(true);
}

CpuidSnapshot ReadCpuidFeatureLeaves() {
  return ReadLeaves(false);
}

#else

CpuidSnapshot ReadCpuidSnapshot() {
  return {};
}
CpuidSnapshot ReadCpuidFeatureLeaves() {
  return {};
}

#endif

}  // namespace cove::check
