// Tests of hex encoding and strict decoding.
#include "common/hex.h"

#include <gtest/gtest.h>

namespace cove {
namespace {

TEST(Hex, RoundTrips) {
  std::vector<uint8_t> bytes = {0x00, 0xab, 0xff, 0x10};
  EXPECT_EQ(HexEncode(bytes), "00abff10");
  EXPECT_EQ(*HexDecode(" 00ABff10\n", "x"), bytes);
}

TEST(Hex, RejectsBadInputNamingTheField) {
  auto odd = HexDecode("abc", "tag");
  EXPECT_FALSE(odd.ok());
  EXPECT_NE(odd.status().message().find("tag"), std::string::npos);
  EXPECT_FALSE(HexDecode("zz", "key").ok());
  EXPECT_FALSE(HexDecodeSecret("0011", 32, "key").ok());
}

}  // namespace
}  // namespace cove
