// RegionPrefixFilter: the allocation-free first test every interposed path call makes. It
// answers "does this path clearly lie outside every region?" from the path's bytes alone, so
// that an open/stat of an unprotected absolute path costs a vectorized scan and one comparison
// per region before the real syscall. It may say "not clearly" for paths that are outside
// after all (relative paths, "..", "//"): the caller then resolves and classifies them fully.
// Pure and thread-safe after construction; no locks, no allocation, async-signal-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace cove::runtime {

// True when `path` (length bytes, NUL at path[length]) is absolute and already normal in the
// sense of shield::NormalizeAbsolutePath: no "//" and no "." or ".." component. A trailing
// slash is allowed (it does not change which region a path lies below). Components that only
// start with a dot (".cache", "..x") are normal.
bool IsNormalAbsolutePath(const char* path, size_t length);
// The same for NUL-terminated `path` with AVX2, finding the length on the way (*length is set
// when it returns true). Only on CPUs with AVX2 (glibc's CPU_FEATURE_ACTIVE(AVX2)); the filter
// picks it when it can, so the usual open/stat costs no separate strlen.
bool IsNormalAbsolutePathAvx2(const char* path, size_t* length);

class RegionPrefixFilter {
 public:
  RegionPrefixFilter() = default;
  // `prefixes`: normalized absolute region paths ("/" allowed: then nothing is clearly outside).
  explicit RegionPrefixFilter(std::vector<std::string> prefixes);

  // True when `path` is a normal absolute path (above) below none of the prefixes, i.e. equal
  // to none and not starting with "PREFIX/". False means "look closer", never "inside".
  bool ClearlyOutside(const char* path) const;

 private:
  std::vector<std::string> prefixes_;
  bool has_root_ = false;
  bool avx2_ = false;
};

}  // namespace cove::runtime
