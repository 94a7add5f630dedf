// Region lookup and path normalization.
#include "shield/region.h"

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
  std::vector<std::string_view> parts;
  size_t pos = 0;
  while (pos < path.size()) {
    size_t next = path.find('/', pos);
    if (next == std::string_view::npos) next = path.size();
    std::string_view part = path.substr(pos, next - pos);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    pos = next + 1;
  }
  std::string out;
  for (auto part : parts) {
    out += '/';
    out += part;
  }
  return out.empty() ? std::string("/") : out;
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
