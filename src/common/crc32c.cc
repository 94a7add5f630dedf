// CRC-32C, on the SSE4.2 crc32 instruction where the CPU has it (every CPU with AES-NI, which
// cove needs, does), else bitwise (reflected polynomial 0x82F63B78).
#include "common/crc32c.h"

#include <atomic>
#include <cstring>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace cove {
namespace {

constexpr uint32_t kReflectedPolynomial = 0x82F63B78;

uint32_t BitwiseCrc32c(const uint8_t* data, size_t size, uint32_t crc) {
  for (size_t i = 0; i < size; ++i) {
    crc ^= data[i];
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (kReflectedPolynomial & (0U - (crc & 1U)));
  }
  return crc;
}

#if defined(__x86_64__)
[[gnu::target("sse4.2")]] uint32_t HardwareCrc32c(const uint8_t* data, size_t size, uint32_t crc) {
  uint64_t crc64 = crc;
  for (; size >= 8; data += 8, size -= 8) {
    uint64_t word = 0;
    std::memcpy(&word, data, sizeof(word));
    crc64 = __builtin_ia32_crc32di(crc64, word);
  }
  auto crc32 = static_cast<uint32_t>(crc64);
  for (; size > 0; ++data, --size) crc32 = __builtin_ia32_crc32qi(crc32, *data);
  return crc32;
}

// SSE4.2, from CPUID leaf 1 at the first checksum (racing first callers both ask; the answer
// is the same). Not __builtin_cpu_supports: it links in libgcc's CPU-feature constructor,
// whose eight CPUID leaves (~6 us each in a VM) every program started under the runtime, and
// every `cove` command, paid at start. Not glibc's <sys/platform/x86.h>: clang rejects its
// C-only _Bool in C++.
bool HasSse42() {
  enum : int { kUnknown, kYes, kNo };
  static std::atomic<int> known{kUnknown};
  int answer = known.load(std::memory_order_relaxed);
  if (answer == kUnknown) {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    answer = __get_cpuid(1, &eax, &ebx, &ecx, &edx) != 0 && (ecx & bit_SSE4_2) != 0 ? kYes : kNo;
    known.store(answer, std::memory_order_relaxed);
  }
  return answer == kYes;
}
#endif

}  // namespace

uint32_t Crc32c(std::span<const uint8_t> data, uint32_t crc) {
  crc = ~crc;
#if defined(__x86_64__)
  if (HasSse42()) return ~HardwareCrc32c(data.data(), data.size(), crc);
#endif
  return ~BitwiseCrc32c(data.data(), data.size(), crc);
}

}  // namespace cove
