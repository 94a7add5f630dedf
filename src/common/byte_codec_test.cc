// Tests of the bounds-checked binary reader/writer.
#include "common/byte_codec.h"

#include <gtest/gtest.h>

namespace cove {
namespace {

TEST(ByteCodec, RoundTripsFields) {
  ByteWriter w;
  w.U8(7);
  w.U32(0xdeadbeef);
  w.U64(1ULL << 40);
  w.String("region");
  ByteReader r(w.buffer(), "test");
  EXPECT_EQ(*r.U8("a"), 7);
  EXPECT_EQ(*r.U32("b"), 0xdeadbeefU);
  EXPECT_EQ(*r.U64("c"), 1ULL << 40);
  EXPECT_EQ(*r.String("d", 100), "region");
  EXPECT_TRUE(r.ExpectEnd().ok());
}

TEST(ByteCodec, ReportsTruncationWithFieldName) {
  std::vector<uint8_t> two = {1, 2};
  ByteReader r(two, "fspf");
  auto v = r.U32("region count");
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("fspf: truncated at region count"), std::string::npos);
}

TEST(ByteCodec, RefusesCountsLargerThanInput) {
  ByteWriter w;
  w.U32(1000000);
  ByteReader r(w.buffer(), "fspf");
  EXPECT_FALSE(r.Count("files", 16).ok());
}

}  // namespace
}  // namespace cove
