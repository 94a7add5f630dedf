// RegionPrefixFilter (see path_prefilter.h): SSE2 scan for "/" followed by "/" or ".", then a
// length/last-byte/memcmp comparison per region prefix.
#include "runtime/path_prefilter.h"

#include <immintrin.h>
#include <sys/platform/x86.h>

#include <algorithm>
#include <cstring>

namespace cove::runtime {
namespace {

// `p` points at a '/' followed by '/' or '.': true when that starts a "//", "/." or "/.."
// that normalization would remove (the component is exactly "." or "..").
inline bool StartsRemovableComponent(const char* p) {
  if (p[1] == '/') return true;
  // p[1] == '.': the string goes on at least to p[2] (its NUL at the latest).
  char c = p[2];
  if (c == '\0' || c == '/') return true;
  return c == '.' && (p[3] == '\0' || p[3] == '/');
}

}  // namespace

// IsNormalAbsolutePath, inlined into ClearlyOutside (one function on the hot path).
__attribute__((always_inline)) static inline bool ScanNormal(const char* path, size_t length) {
  if (length == 0 || path[0] != '/') return false;
  // Pairs (k, k + 1) for k in [0, length - 1] (the last pair ends at the NUL) hold every
  // "/x" to check. Short paths byte by byte; longer ones 16 bytes at a time with chunks that
  // overlap by one byte, so that each pair lies inside one chunk. No load goes past the NUL.
  constexpr size_t kChunk = 16;
  if (length + 1 < kChunk) {
    for (size_t k = 0; k < length; ++k) {
      if (path[k] == '/' && (path[k + 1] == '/' || path[k + 1] == '.') &&
          StartsRemovableComponent(path + k)) {
        return false;
      }
    }
    return true;
  }
  const __m128i slash = _mm_set1_epi8('/');
  const __m128i dot = _mm_set1_epi8('.');
  const size_t last = length + 1 - kChunk;
  for (size_t at = 0;; at = std::min(at + kChunk - 1, last)) {
    __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(path + at));
    unsigned slashes = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, slash)));
    unsigned dots = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, dot)));
    // Bit j: path[at + j] is '/' and path[at + j + 1] is '/' or '.' (j <= 14).
    unsigned candidates = slashes & ((slashes | dots) >> 1);
    while (candidates != 0) {
      if (StartsRemovableComponent(path + at + __builtin_ctz(candidates))) return false;
      candidates &= candidates - 1;
    }
    if (at == last) return true;
  }
}

bool IsNormalAbsolutePath(const char* path, size_t length) {
  return ScanNormal(path, length);
}

// One pass over aligned 32-byte blocks finds the NUL and every "/" followed by "/" or ".", so
// no separate strlen. An aligned load never crosses a page, so reading the bytes after the NUL
// in its block is safe (strlen does the same), but AddressSanitizer and ThreadSanitizer would
// report it.
__attribute__((target("avx2"), no_sanitize("address", "thread"))) bool IsNormalAbsolutePathAvx2(
    const char* path, size_t* length) {
  if (path[0] != '/') return false;
  const uintptr_t address = reinterpret_cast<uintptr_t>(path);
  const char* block = reinterpret_cast<const char*>(address & ~uintptr_t{31});
  const __m256i nul = _mm256_setzero_si256();
  const __m256i slash = _mm256_set1_epi8('/');
  const __m256i dot = _mm256_set1_epi8('.');
  // Bits of the first block's bytes that precede the path are cleared.
  uint32_t keep = ~uint32_t{0} << (address & 31);
  uint32_t carry = 0;  // bit 0: the previous block's last byte is a '/'
  for (;;) {
    __m256i bytes = _mm256_load_si256(reinterpret_cast<const __m256i*>(block));
    uint32_t nuls = static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(bytes, nul)));
    uint32_t slashes =
        static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(bytes, slash))) & keep;
    uint32_t slash_or_dot =
        slashes | static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(bytes, dot)));
    nuls &= keep;
    // Bit j: block[j] is '/' and block[j + 1] is '/' or '.'; bit 0 of `seam`: the pair across
    // the seam with the previous block.
    uint32_t candidates = slashes & (slash_or_dot >> 1);
    uint32_t seam = carry & slash_or_dot;
    if (nuls != 0) candidates &= (nuls & (0 - nuls)) - 1;  // only pairs before the NUL
    if ((candidates | seam) != 0) [[unlikely]] {
      if (seam != 0 && StartsRemovableComponent(block - 1)) return false;
      for (; candidates != 0; candidates &= candidates - 1) {
        if (StartsRemovableComponent(block + __builtin_ctz(candidates))) return false;
      }
    }
    if (nuls != 0) {
      *length = static_cast<size_t>(block + __builtin_ctz(nuls) - path);
      return true;
    }
    carry = slashes >> 31;
    keep = ~uint32_t{0};
    block += 32;
  }
}

RegionPrefixFilter::RegionPrefixFilter(std::vector<std::string> prefixes)
    : prefixes_(std::move(prefixes)), avx2_(CPU_FEATURE_ACTIVE(AVX2)) {
  for (const std::string& prefix : prefixes_) {
    if (prefix.empty() || prefix == "/") has_root_ = true;  // every absolute path is below
  }
}

bool RegionPrefixFilter::ClearlyOutside(const char* path) const {
  if (path == nullptr || path[0] != '/' || has_root_) return false;
  size_t length = 0;
  if (avx2_) {
    if (!IsNormalAbsolutePathAvx2(path, &length)) return false;
  } else {
    length = std::strlen(path);
    if (!ScanNormal(path, length)) return false;
  }
  for (const std::string& prefix : prefixes_) {
    size_t n = prefix.size();
    // Cheap rejections first: too short, the byte after the prefix is not a boundary, the
    // prefix's last byte differs; only then the full comparison.
    if (n > length || (path[n] != '/' && path[n] != '\0') || path[n - 1] != prefix[n - 1]) {
      continue;
    }
    if (std::memcmp(path, prefix.data(), n) == 0) return false;
  }
  return true;
}

}  // namespace cove::runtime
