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
  if (path.empty() || path.front() != '/') return false;
  if (path.size() == 1) return true;
  size_t pos = 1;
  while (true) {
    size_t next = path.find('/', pos);
    std::string_view part =
        path.substr(pos, next == std::string_view::npos ? std::string_view::npos : next - pos);
    if (part.empty() || part == "." || part == "..") return false;
    if (next == std::string_view::npos) return true;
    pos = next + 1;
  }
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
