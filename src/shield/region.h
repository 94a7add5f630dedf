// File regions, as in SCONE: a region is a path prefix with a protection kind; the longest
// matching prefix wins. A region's files may live under another host path (`--kernel`).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace cove::shield {

enum class RegionKind : uint8_t {
  kNotProtected = 0,   // plain host file, no checks
  kAuthenticated = 1,  // plaintext on disk; integrity and freshness
  kEncrypted = 2,      // confidentiality, integrity and freshness
};
const char* RegionKindName(RegionKind kind);  // "not-protected", "authenticated", "encrypted"
std::optional<RegionKind> ParseRegionKind(std::string_view name);

struct Region {
  std::string path;  // normalized absolute path prefix, e.g. "/data"
  RegionKind kind = RegionKind::kNotProtected;
  std::string kernel_path;  // host path holding the region's files; empty: same as `path`
};

// Normalizes an absolute path: collapses "//", "." and ".." and drops a trailing "/".
// Relative paths are refused: regions and protected files are always named absolutely.
Result<std::string> NormalizeAbsolutePath(std::string_view path);
// True when `path` is already what NormalizeAbsolutePath returns for it (no allocation).
bool IsNormalizedAbsolutePath(std::string_view path);
// NormalizeAbsolutePath in place, without allocating (the runtime's path pre-filter uses it on
// the stack): `path[0, length)` must start with '/'; returns the normalized length, never more
// than `length`. Every byte but '/' is part of a name (a NUL too).
size_t NormalizeAbsolutePathInPlace(char* path, size_t length);

// True when `path` equals `prefix` or lies below it ("/data" covers "/data/x", not "/database").
bool PathIsUnder(std::string_view path, std::string_view prefix);

// The region covering `path` (longest prefix), or nullptr if none does.
const Region* FindRegion(const std::vector<Region>& regions, std::string_view path);

}  // namespace cove::shield
