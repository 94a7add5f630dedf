// Tests of path normalization and longest-prefix region lookup.
#include "shield/region.h"

#include <gtest/gtest.h>

namespace cove::shield {
namespace {

TEST(NormalizeAbsolutePath, CollapsesDotsAndSlashes) {
  EXPECT_EQ(*NormalizeAbsolutePath("/a//b/./c/../d/"), "/a/b/d");
  EXPECT_EQ(*NormalizeAbsolutePath("/.."), "/");
  EXPECT_FALSE(NormalizeAbsolutePath("relative/path").ok());
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
