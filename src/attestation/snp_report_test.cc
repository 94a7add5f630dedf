// Parsing of the SEV-SNP attestation report layout against the checked-in virtee/sev and
// go-sev-guest reports, and refusal of reports of the wrong size or version.
#include "attestation/snp_report.h"

#include <gtest/gtest.h>

#include "attestation/snp_test_data.h"
#include "common/hex.h"

namespace cove::attestation {
namespace {

using testing::DebugReport;
using testing::VirteeReport;

TEST(SnpReportTest, ParsesVirteeMilanReportFields) {
  std::vector<uint8_t> bytes = VirteeReport();
  ASSERT_EQ(bytes.size(), kSnpReportSize);
  Result<SnpReport> report = ParseSnpReport(bytes);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->version, 2u);
  EXPECT_EQ(report->policy, 0x30000u);
  EXPECT_FALSE(report->debug());
  EXPECT_EQ(report->signature_algo, kSnpSignatureAlgoEcdsaP384Sha384);
  EXPECT_EQ(report->signing_key(), kSnpSigningKeyVcek);
  EXPECT_EQ(report->reported_tcb.bootloader, 3);
  EXPECT_EQ(report->reported_tcb.tee, 0);
  EXPECT_EQ(report->reported_tcb.snp, 8);
  EXPECT_EQ(report->reported_tcb.microcode, 115);
  EXPECT_EQ(report->reported_tcb.raw, 0x7308000000000003u);
  EXPECT_EQ(HexEncode(report->chip_id).substr(0, 16), "d49554ec717f4e5b");
  EXPECT_EQ(report->launch_tcb.raw, report->reported_tcb.raw);
}

TEST(SnpReportTest, ConvertsLittleEndianSignatureToBigEndian) {
  std::vector<uint8_t> bytes = VirteeReport();
  Result<SnpReport> report = ParseSnpReport(bytes);
  ASSERT_TRUE(report.ok());
  for (size_t i = 0; i < kSnpSignatureComponentSize; ++i) {
    EXPECT_EQ(report->signature_r[i], bytes[kSnpSignedSize + kSnpSignatureComponentSize - 1 - i]);
    EXPECT_EQ(report->signature_s[i],
              bytes[kSnpSignedSize + 2 * kSnpSignatureComponentSize - 1 - i]);
  }
  // P-384 components are 48 bytes: the 24 high bytes of the 72-byte fields are padding.
  EXPECT_EQ(report->signature_r[0], 0);
  EXPECT_EQ(report->signature_s[23], 0);
}

TEST(SnpReportTest, ReadsDebugPolicyBit) {
  Result<SnpReport> report = ParseSnpReport(DebugReport());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->policy, 0xb0000u);
  EXPECT_TRUE(report->debug());
}

TEST(SnpReportTest, RejectsWrongSize) {
  std::vector<uint8_t> bytes = VirteeReport();
  for (size_t size :
       {size_t{0}, size_t{4}, kSnpSignedSize, kSnpReportSize - 1, kSnpReportSize + 1}) {
    bytes.resize(size);
    Result<SnpReport> report = ParseSnpReport(bytes);
    ASSERT_FALSE(report.ok()) << size;
    EXPECT_EQ(report.status().message().rfind("snp-report-parse: ", 0), 0u)
        << report.status().message();
  }
}

TEST(SnpReportTest, RejectsVersionOne) {
  std::vector<uint8_t> bytes = VirteeReport();
  bytes[0] = 1;
  Result<SnpReport> report = ParseSnpReport(bytes);
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("snp-report-parse: report VERSION 1"), std::string::npos)
      << report.status().message();
}

TEST(SnpReportTest, TcbComparisonIsPerComponent) {
  SnpTcbVersion reported = SnpTcbVersion::FromRaw(0x7308000000000003u);
  EXPECT_TRUE(reported.AtLeast(SnpTcbVersion::FromRaw(0x7308000000000003u)));
  EXPECT_TRUE(reported.AtLeast(SnpTcbVersion::FromRaw(0x0100000000000000u)));
  // A higher SNP SPL is not made up for by a lower microcode SPL.
  EXPECT_FALSE(reported.AtLeast(SnpTcbVersion::FromRaw(0x0109000000000000u)));
  EXPECT_EQ(reported.ToString(), "bl=3 tee=0 snp=8 ucode=115");
}

}  // namespace
}  // namespace cove::attestation
