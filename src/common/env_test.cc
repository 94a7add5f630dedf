// Tests of the Env helpers that need no file system.
#include "common/env.h"

#include <gtest/gtest.h>

namespace cove {
namespace {

TEST(ParentDirectory, OfNamesInDirectoriesTheRootAndNowhere) {
  EXPECT_EQ(ParentDirectory("/data/enc/f"), "/data/enc");
  EXPECT_EQ(ParentDirectory("/f"), "/");
  EXPECT_EQ(ParentDirectory("f"), ".");
  EXPECT_EQ(ParentDirectory("dir/f"), "dir");
}

}  // namespace
}  // namespace cove
