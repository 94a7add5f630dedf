// ParseMeminfoBytes and ParseCpuinfoSmtActive on kernel text, real and malformed.
#include "check/proc_text_parsers.h"

#include <gtest/gtest.h>

namespace cove::check {
namespace {

constexpr const char* kMeminfo =
    "MemTotal:       32857864 kB\n"
    "MemFree:        10211204 kB\n"
    "MemAvailable:   24367132 kB\n"
    "Buffers:          123456 kB\n"
    "HugePages_Total:       0\n";

TEST(ParseMeminfoBytesTest, ReadsKilobytesAsKibibytes) {
  EXPECT_EQ(ParseMeminfoBytes(kMeminfo, "MemAvailable"), 24367132ull * 1024);
  EXPECT_EQ(ParseMeminfoBytes(kMeminfo, "MemTotal"), 32857864ull * 1024);
}

TEST(ParseMeminfoBytesTest, ReadsUnitlessCounts) {
  EXPECT_EQ(ParseMeminfoBytes(kMeminfo, "HugePages_Total"), 0u);
}

TEST(ParseMeminfoBytesTest, DoesNotMatchAFieldByPrefix) {
  EXPECT_EQ(ParseMeminfoBytes("MemAvailableX: 5 kB\n", "MemAvailable"), std::nullopt);
}

TEST(ParseMeminfoBytesTest, RejectsMissingFieldGarbageAndOverflow) {
  EXPECT_EQ(ParseMeminfoBytes("MemTotal: 1 kB\n", "MemAvailable"), std::nullopt);
  EXPECT_EQ(ParseMeminfoBytes("MemAvailable: lots\n", "MemAvailable"), std::nullopt);
  EXPECT_EQ(ParseMeminfoBytes("MemAvailable: 5 MB\n", "MemAvailable"), std::nullopt);
  EXPECT_EQ(ParseMeminfoBytes("MemAvailable: 18446744073709551615 kB\n", "MemAvailable"),
            std::nullopt);
  EXPECT_EQ(ParseMeminfoBytes("", "MemAvailable"), std::nullopt);
}

TEST(ParseCpuinfoSmtActiveTest, MoreSiblingsThanCoresMeansHyperthreading) {
  EXPECT_EQ(ParseCpuinfoSmtActive("processor\t: 0\nsiblings\t: 8\ncpu cores\t: 4\n"), true);
  EXPECT_EQ(ParseCpuinfoSmtActive("processor\t: 0\nsiblings\t: 2\ncpu cores\t: 2\n"), false);
}

TEST(ParseCpuinfoSmtActiveTest, UnknownWithoutTheFields) {
  EXPECT_EQ(ParseCpuinfoSmtActive("processor\t: 0\nBogoMIPS\t: 50.00\n"), std::nullopt);
  EXPECT_EQ(ParseCpuinfoSmtActive("siblings\t: 2\ncpu cores\t: 0\n"), std::nullopt);
}

}  // namespace
}  // namespace cove::check
