// Tests of the path pre-filter: IsNormalAbsolutePath on the path shapes normalization changes
// ("//", "/./", "/../", trailing "." and ".."), ClearlyOutside against regions that share a
// leading part with the path, and a cross-check of ClearlyOutside against the full
// NormalizeAbsolutePath + FindRegion on generated paths (it may say "not clearly outside" for
// an outside path, never "outside" for a path below a region).
#include "runtime/path_prefilter.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/platform/x86.h>
#include <unistd.h>

#include <cstring>
#include <random>

#include "shield/region.h"

namespace cove::runtime {
namespace {

// Both scans; the AVX2 one with `path` at every offset within a 32-byte block (it reads
// aligned blocks) and junk around it: the answers must agree, and a normal path's length must
// come out right.
bool Normal(const std::string& path) {
  bool normal = IsNormalAbsolutePath(path.c_str(), path.size());
  if (!CPU_FEATURE_ACTIVE(AVX2)) return normal;
  alignas(32) char buffer[256];
  for (size_t offset = 0; offset < 32; ++offset) {
    std::memset(buffer, offset % 2 ? '/' : '.', sizeof(buffer));
    std::memcpy(buffer + offset, path.c_str(), path.size() + 1);
    size_t length = 0;
    bool avx2 = IsNormalAbsolutePathAvx2(buffer + offset, &length);
    EXPECT_EQ(avx2, normal) << path << " at offset " << offset;
    if (avx2) {
      EXPECT_EQ(length, path.size()) << path;
    }
  }
  return normal;
}

TEST(IsNormalAbsolutePathTest, AcceptsNormalPaths) {
  for (const char* path :
       {"/", "/a", "/a/b", "/a/b/", "/tmp/.hidden", "/a/..b", "/a/.b.", "/a/b.", "/a./b", "/a/...",
        "/a/.../b", "/home/user/.cache/some-long-directory/.config/file.txt", "/0123456789abcd/.x",
        "/0123456789abcde/.x", "/0123456789abcdef/.x"}) {
    EXPECT_TRUE(Normal(path)) << path;
  }
}

TEST(IsNormalAbsolutePathTest, RejectsPathsNormalizationChanges) {
  for (const char* path :
       {"", "a", "a/b", "./a", "//", "//a", "/a//b", "/a/b//", "/.", "/..", "/a/.", "/a/..",
        "/a/./b", "/a/../b", "/./a", "/../a", "/a/b/.", "/a/b/..",
        // Long paths: the SIMD chunks (16 bytes, overlapping by one) and their seams.
        "/0123456789abcd/./x", "/0123456789abcde/./x", "/0123456789abcdef/../x",
        "/0123456789abcdefghijklmnopqrstu//x", "/0123456789abcdefghijklmnopqrstuv/.",
        "/0123456789abcdefghijklmnopqrstuvw/..", "/0123456789abcdefghijklmnopqrstuvwxyz/.."}) {
    EXPECT_FALSE(Normal(path)) << path;
  }
}

// The reference: what NormalizeAbsolutePath leaves unchanged, up to one trailing slash.
bool ReferenceNormal(const std::string& path) {
  auto normalized = shield::NormalizeAbsolutePath(path);
  if (!normalized.ok()) return false;
  if (*normalized == path) return true;
  // "/a/" counts as normal, "//" does not (the filter refuses every "//").
  return path.size() > 1 && path.back() == '/' && path[path.size() - 2] != '/' &&
         *normalized == path.substr(0, path.size() - 1);
}

// Random strings over '/', '.' and 'x' of every length up to 80 (both sides of each 16-byte
// chunk seam): the filter and the reference agree on every one.
TEST(IsNormalAbsolutePathTest, AgreesWithNormalizeAbsolutePath) {
  std::mt19937 rng(7);
  const char alphabet[] = {'/', '.', 'x', 'x'};
  for (size_t length = 1; length <= 80; ++length) {
    for (int i = 0; i < 500; ++i) {
      std::string path(length, 'x');
      path[0] = '/';
      for (size_t k = 1; k < length; ++k) path[k] = alphabet[rng() % 4];
      ASSERT_EQ(Normal(path), ReferenceNormal(path)) << path;
    }
  }
}

// Paths that end at the last byte of a page followed by an inaccessible one: no scan may read
// past the page (the AVX2 one reads whole aligned blocks, the SSE2 one ends its loads at the
// NUL).
TEST(IsNormalAbsolutePathTest, NeverReadsIntoTheNextPage) {
  long page = sysconf(_SC_PAGESIZE);
  auto* area = static_cast<char*>(
      mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(area, MAP_FAILED);
  ASSERT_EQ(mprotect(area + page, page, PROT_NONE), 0);
  RegionPrefixFilter filter({"/srv/app"});
  for (const std::string& path :
       {std::string("/"), std::string("/a/b"), std::string("/tmp/some/longer/path/name/x.txt"),
        std::string("/0123456789abcdefghijklmnopqrstuvwxyz/./q")}) {
    char* at = area + page - path.size() - 1;
    std::memcpy(at, path.c_str(), path.size() + 1);
    bool normal = ReferenceNormal(path);
    EXPECT_EQ(IsNormalAbsolutePath(at, path.size()), normal) << path;
    if (CPU_FEATURE_ACTIVE(AVX2)) {
      size_t length = 0;
      EXPECT_EQ(IsNormalAbsolutePathAvx2(at, &length), normal) << path;
    }
    EXPECT_EQ(filter.ClearlyOutside(at), normal) << path;
  }
  munmap(area, 2 * page);
}

TEST(RegionPrefixFilterTest, ComparesWholeComponents) {
  RegionPrefixFilter filter({"/srv/app", "/data/enc"});
  EXPECT_FALSE(filter.ClearlyOutside("/srv/app"));   // the region itself
  EXPECT_FALSE(filter.ClearlyOutside("/srv/app/"));  // with a trailing slash
  EXPECT_FALSE(filter.ClearlyOutside("/srv/app/x"));
  EXPECT_FALSE(filter.ClearlyOutside("/data/enc/a/b/c"));
  EXPECT_TRUE(filter.ClearlyOutside("/srv/application"));  // shares a leading part
  EXPECT_TRUE(filter.ClearlyOutside("/srv/ap"));
  EXPECT_TRUE(filter.ClearlyOutside("/srv/apq/x"));  // same length, other last byte
  EXPECT_TRUE(filter.ClearlyOutside("/srv"));        // an ancestor is outside
  EXPECT_TRUE(filter.ClearlyOutside("/srv/"));
  EXPECT_TRUE(filter.ClearlyOutside("/"));
  EXPECT_TRUE(filter.ClearlyOutside("/tmp/x"));
  EXPECT_TRUE(filter.ClearlyOutside("/data/encrypted/x"));
  EXPECT_TRUE(filter.ClearlyOutside("/zrv/app/x"));  // same length and last byte, other start
}

TEST(RegionPrefixFilterTest, LooksCloserAtEverythingItCannotDecideByBytes) {
  RegionPrefixFilter filter({"/srv/app"});
  EXPECT_FALSE(filter.ClearlyOutside(nullptr));
  EXPECT_FALSE(filter.ClearlyOutside(""));
  EXPECT_FALSE(filter.ClearlyOutside("app/x"));        // relative
  EXPECT_FALSE(filter.ClearlyOutside("x"));            // relative, even if it is outside
  EXPECT_FALSE(filter.ClearlyOutside("/srv//app/x"));  // "//"
  EXPECT_FALSE(filter.ClearlyOutside("/srv/./app/x"));
  EXPECT_FALSE(filter.ClearlyOutside("/tmp/../srv/app/x"));
  EXPECT_FALSE(filter.ClearlyOutside("/srv/app/x/.."));
  EXPECT_TRUE(filter.ClearlyOutside("/tmp/.hidden/..x"));  // dot names are ordinary names
}

TEST(RegionPrefixFilterTest, RootRegionCoversEverything) {
  RegionPrefixFilter filter({"/srv/app", "/"});
  EXPECT_FALSE(filter.ClearlyOutside("/tmp/x"));
  EXPECT_FALSE(filter.ClearlyOutside("/"));
  RegionPrefixFilter none(std::vector<std::string>{});
  EXPECT_TRUE(none.ClearlyOutside("/tmp/x"));
  EXPECT_FALSE(none.ClearlyOutside("tmp/x"));
}

// Random paths over a small alphabet of components that collide with the regions' names:
// whenever the filter says "outside", the full normalization and region lookup agree.
TEST(RegionPrefixFilterTest, NeverCallsAPathBelowARegionOutside) {
  std::vector<shield::Region> regions(3);
  regions[0].path = "/srv/app";
  regions[1].path = "/srv/app2/data";
  regions[2].path = "/a";
  RegionPrefixFilter filter({"/srv/app", "/srv/app2/data", "/a"});
  const char* parts[] = {"srv", "app", "app2", "data", "a", "ab", ".", "..", "", ".a", "x"};
  std::mt19937 rng(42);
  int outside = 0;
  for (int i = 0; i < 200000; ++i) {
    std::string path;
    int n = 1 + static_cast<int>(rng() % 5);
    for (int k = 0; k < n; ++k) {
      path += '/';
      path += parts[rng() % std::size(parts)];
    }
    if (rng() % 4 == 0) path += "/";
    if (!filter.ClearlyOutside(path.c_str())) continue;
    ++outside;
    auto normalized = shield::NormalizeAbsolutePath(path);
    ASSERT_TRUE(normalized.ok()) << path;
    EXPECT_EQ(shield::FindRegion(regions, *normalized), nullptr) << path;
  }
  EXPECT_GT(outside, 1000);  // the filter does decide most plain paths
}

}  // namespace
}  // namespace cove::runtime
