// Tests of CRC-32C against the iSCSI check values (RFC 3720, B.4) and a bitwise reference.
#include "common/crc32c.h"

#include <gtest/gtest.h>

#include <array>
#include <random>
#include <string_view>
#include <vector>

namespace cove {
namespace {

uint32_t Of(std::string_view text) {
  return Crc32c({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
}

TEST(Crc32c, MatchesTheStandardCheckValues) {
  EXPECT_EQ(Of("123456789"), 0xE3069283u);
  EXPECT_EQ(Of(""), 0u);
  std::array<uint8_t, 32> bytes{};
  EXPECT_EQ(Crc32c(bytes), 0x8A9136AAu);  // 32 zeros
  bytes.fill(0xFF);
  EXPECT_EQ(Crc32c(bytes), 0x62A8AB43u);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(Crc32c(bytes), 0x46DD794Eu);  // 0x00..0x1F
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(31 - i);
  EXPECT_EQ(Crc32c(bytes), 0x113FDB5Cu);  // 0x1F..0x00
}

// Every length and alignment the word loop and its tail can meet, and data in pieces.
TEST(Crc32c, AgreesWithABitwiseReferenceAtAnyLengthAndSplit) {
  auto reference = [](std::span<const uint8_t> data) {
    uint32_t crc = ~0u;
    for (uint8_t byte : data) {
      crc ^= byte;
      for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
    }
    return ~crc;
  };
  std::mt19937 rng(7);
  std::vector<uint8_t> data(300);
  for (auto& byte : data) byte = static_cast<uint8_t>(rng());
  for (size_t offset = 0; offset < 8; ++offset) {
    for (size_t size = 0; offset + size <= data.size(); size += 1 + size / 8) {
      std::span<const uint8_t> piece(data.data() + offset, size);
      uint32_t whole = Crc32c(piece);
      EXPECT_EQ(whole, reference(piece)) << offset << "+" << size;
      size_t half = size / 3;
      EXPECT_EQ(Crc32c(piece.subspan(half), Crc32c(piece.first(half))), whole);
    }
  }
}

}  // namespace
}  // namespace cove
