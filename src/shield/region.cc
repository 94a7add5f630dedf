// Region lookup and path normalization.
#include "shield/region.h"

#include <cstring>

namespace cove::shield {

const char* RegionKindName(RegionKind kind) {
  switch (kind) {
    case RegionKind::kNotProtected:
      return "not-protected";
    case RegionKind::kAuthenticated:
      return "authenticated";
    case RegionKind::kEncrypted:
      return "encrypted";
  }
  return "unknown";
}

std::optional<RegionKind> ParseRegionKind(std::string_view name) {
  if (name == "not-protected") return RegionKind::kNotProtected;
  if (name == "authenticated") return RegionKind::kAuthenticated;
  if (name == "encrypted") return RegionKind::kEncrypted;
  return std::nullopt;
}

bool IsNormalizedAbsolutePath(std::string_view path) {
  // One pass: after every '/', the next name must be non-empty and neither "." nor "..";
  // no trailing '/' except for the root itself.
  size_t n = path.size();
  if (n == 0 || path[0] != '/') return false;
  if (n == 1) return true;
  for (size_t i = 0; i < n; ++i) {
    if (path[i] != '/') continue;
    if (i + 1 == n || path[i + 1] == '/') return false;  // trailing or doubled slash
    if (path[i + 1] == '.') {
      size_t end = i + 2;
      if (end < n && path[end] == '.') ++end;
      if (end == n || path[end] == '/') return false;  // "." or ".."
    }
  }
  return true;
}

Result<std::string> NormalizeAbsolutePath(std::string_view path) {
  if (IsNormalizedAbsolutePath(path)) return std::string(path);  // the usual case, one copy
  if (path.empty() || path.front() != '/') {
    return InvalidArgument("path '" + std::string(path) + "' is not absolute");
  }
  std::string out(path);
  out.resize(NormalizeAbsolutePathInPlace(out.data(), out.size()));
  return out;
}

size_t NormalizeAbsolutePathInPlace(char* path, size_t length) {
  size_t write = 0;  // path[0, write) is the normalized prefix, without trailing slash
  size_t read = 0;
  while (read < length) {
    while (read < length && path[read] == '/') ++read;  // the separators before a component
    size_t start = read;
    while (read < length && path[read] != '/') ++read;
    size_t name = read - start;
    if (name == 0 || (name == 1 && path[start] == '.')) continue;
    if (name == 2 && path[start] == '.' && path[start + 1] == '.') {
      while (write > 0 && path[write - 1] != '/') --write;  // drop the last component...
      if (write > 0) --write;                               // ...and its slash
      continue;
    }
    if (write + 1 != start) {  // something was dropped before: move the component down
      path[write] = '/';
      std::memmove(path + write + 1, path + start, name);
    }
    write += 1 + name;
  }
  if (write == 0) path[write++] = '/';
  return write;
}

bool PathIsUnder(std::string_view path, std::string_view prefix) {
  if (prefix == "/") return !path.empty() && path.front() == '/';
  if (path.size() < prefix.size() || path.substr(0, prefix.size()) != prefix) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

const Region* FindRegion(const std::vector<Region>& regions, std::string_view path) {
  const Region* best = nullptr;
  for (const auto& region : regions) {
    if (PathIsUnder(path, region.path) &&
        (best == nullptr || region.path.size() > best->path.size())) {
      best = &region;
    }
  }
  return best;
}

}  // namespace cove::shield
