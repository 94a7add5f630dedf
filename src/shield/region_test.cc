// Tests of path normalization and longest-prefix region lookup.
#include "shield/region.h"

#include <gtest/gtest.h>

#include <iterator>
#include <random>
#include <string>
#include <vector>

namespace cove::shield {
namespace {

// Reference normalization for the test below, independent of region.cc (which uses
// IsNormalizedAbsolutePath as its fast path).
std::string ReferenceNormalize(const std::string& path) {
  std::vector<std::string> parts;
  std::string part;
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') {
      if (part == "..") {
        if (!parts.empty()) parts.pop_back();
      } else if (!part.empty() && part != ".") {
        parts.push_back(part);
      }
      part.clear();
    } else {
      part += path[i];
    }
  }
  std::string out;
  for (const auto& p : parts) out += "/" + p;
  return out.empty() ? "/" : out;
}

// IsNormalizedAbsolutePath and NormalizeAbsolutePath agree with the reference on every path
// built from a small alphabet of components, separators and dots.
TEST(IsNormalizedAbsolutePath, AgreesWithAReferenceNormalization) {
  const char* pieces[] = {"/", "a", "bc", ".", "..", "...", ".a", "a."};
  size_t checked = 0;
  for (int n = 0; n < 6; ++n) {
    size_t combinations = 1;
    for (int i = 0; i < n; ++i) combinations *= std::size(pieces);
    for (size_t code = 0; code < combinations; ++code) {
      std::string path;
      for (size_t c = code, i = 0; i < static_cast<size_t>(n); ++i, c /= std::size(pieces)) {
        path += pieces[c % std::size(pieces)];
      }
      bool absolute = !path.empty() && path[0] == '/';
      bool expected = absolute && ReferenceNormalize(path) == path;
      EXPECT_EQ(IsNormalizedAbsolutePath(path), expected) << "'" << path << "'";
      auto normalized = NormalizeAbsolutePath(path);
      ASSERT_EQ(normalized.ok(), absolute) << "'" << path << "'";
      if (absolute) {
        EXPECT_EQ(*normalized, ReferenceNormalize(path)) << "'" << path << "'";
      }
      ++checked;
    }
  }
  EXPECT_GT(checked, 30000u);
}

TEST(NormalizeAbsolutePath, CollapsesDotsAndSlashes) {
  EXPECT_EQ(*NormalizeAbsolutePath("/a//b/./c/../d/"), "/a/b/d");
  EXPECT_EQ(*NormalizeAbsolutePath("/.."), "/");
  EXPECT_FALSE(NormalizeAbsolutePath("relative/path").ok());
}

// The in-place form (the runtime's pre-filter, on the stack) gives the reference result on
// random paths over components that exercise "", ".", "..", dot names and repeated slashes,
// and never writes past the normalized length it returns.
TEST(NormalizeAbsolutePathInPlace, AgreesWithTheReferenceOnRandomPaths) {
  const char* parts[] = {"", ".", "..", "a", "bc", ".x", "..y", "...", "d.", "/"};
  std::mt19937 rng(11);
  for (int i = 0; i < 100000; ++i) {
    std::string path;
    int n = static_cast<int>(rng() % 8);
    for (int k = 0; k < n; ++k) {
      path += '/';
      path += parts[rng() % std::size(parts)];
    }
    if (path.empty() || rng() % 5 == 0) path += '/';
    std::string buffer = path + "#";
    size_t length = NormalizeAbsolutePathInPlace(buffer.data(), path.size());
    ASSERT_LE(length, path.size()) << path;
    ASSERT_EQ(buffer.substr(0, length), ReferenceNormalize(path)) << path;
    ASSERT_EQ(buffer.back(), '#') << path;
  }
}

// A NUL is part of a name, as in any byte string the shield is given (string_view paths).
TEST(NormalizeAbsolutePath, KeepsEmbeddedNulInNames) {
  using namespace std::string_literals;
  EXPECT_EQ(*NormalizeAbsolutePath("/a/\0b/../c"s), "/a/c");
  EXPECT_EQ(*NormalizeAbsolutePath("/a\0//./b/"s), "/a\0/b"s);
  EXPECT_FALSE(IsNormalizedAbsolutePath("/a\0//b"s));
}

TEST(FindRegion, LongestPrefixWinsOnComponentBoundaries) {
  std::vector<Region> regions = {{"/", RegionKind::kNotProtected, ""},
                                 {"/data", RegionKind::kEncrypted, ""},
                                 {"/data/public", RegionKind::kAuthenticated, ""}};
  EXPECT_EQ(FindRegion(regions, "/data/x")->kind, RegionKind::kEncrypted);
  EXPECT_EQ(FindRegion(regions, "/data/public/y")->kind, RegionKind::kAuthenticated);
  EXPECT_EQ(FindRegion(regions, "/database")->kind, RegionKind::kNotProtected);
  EXPECT_EQ(FindRegion(regions, "/data")->kind, RegionKind::kEncrypted);
  EXPECT_EQ(FindRegion({}, "/x"), nullptr);
}

}  // namespace
}  // namespace cove::shield
