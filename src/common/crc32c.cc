// CRC-32C, on the SSE4.2 crc32 instruction where the CPU has it (every CPU with AES-NI, which
// cove needs, does), else bitwise (reflected polynomial 0x82F63B78).
#include "common/crc32c.h"

#include <cstring>
#if defined(__x86_64__)
#include <sys/platform/x86.h>
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
#endif

}  // namespace

uint32_t Crc32c(std::span<const uint8_t> data, uint32_t crc) {
  crc = ~crc;
#if defined(__x86_64__)
  // glibc's CPU features, read once at its start: __builtin_cpu_supports would link in
  // libgcc's constructor, whose eight CPUID leaves (~6 us each in a VM) every program started
  // under the runtime, and every `cove` command, paid at start.
  if (CPU_FEATURE_ACTIVE(SSE4_2)) return ~HardwareCrc32c(data.data(), data.size(), crc);
#endif
  return ~BitwiseCrc32c(data.data(), data.size(), crc);
}

}  // namespace cove
