// The DCAP quote parser reads the three real quote versions at the documented offsets and
// refuses every truncation, unknown version or type, and non-zero trailing bytes.
#include "attestation/dcap_quote.h"

#include <gtest/gtest.h>

#include "attestation/dcap_test_data.h"

namespace cove::attestation {
namespace {

using testing::ReadDcapVector;

TEST(DcapQuoteTest, ParsesSgxQuoteV3WithPckChainCertificationData) {
  std::vector<uint8_t> bytes = ReadDcapVector("sgx-dcap-qvl/sgx_quote");
  auto quote = ParseDcapQuote(bytes);
  ASSERT_TRUE(quote.ok()) << quote.status().message();
  EXPECT_EQ(quote->version, 3);
  ASSERT_TRUE(quote->sgx_body.has_value());
  EXPECT_FALSE(quote->td_body.has_value());
  EXPECT_EQ(quote->signed_region.size(), kQuoteHeaderSize + kSgxReportBodySize);
  EXPECT_EQ(
      std::string(quote->sgx_body->report_data.begin(), quote->sgx_body->report_data.begin() + 13),
      "Hello, world!");
  std::string pem(quote->pck_chain_pem.begin(), quote->pck_chain_pem.end());
  EXPECT_EQ(pem.rfind("-----BEGIN CERTIFICATE-----", 0), 0u);
}

TEST(DcapQuoteTest, ParsesTdxQuoteV4WithQeReportCertificationDataAndZeroPadding) {
  std::vector<uint8_t> bytes = ReadDcapVector("tdx-dcap-qvl/tdx_quote");
  auto quote = ParseDcapQuote(bytes);
  ASSERT_TRUE(quote.ok()) << quote.status().message();
  EXPECT_EQ(quote->version, 4);
  ASSERT_TRUE(quote->td_body.has_value());
  EXPECT_FALSE(quote->td_body->td15);
  EXPECT_EQ(quote->signed_region.size(), kQuoteHeaderSize + kTd10ReportBodySize);
  EXPECT_EQ(quote->td_body->tee_tcb_svn[1], 1);  // TDX module major version: TDX_01
  EXPECT_TRUE(
      std::equal(quote->td_body->mrtd.begin(), quote->td_body->mrtd.end(), bytes.begin() + 184));
}

TEST(DcapQuoteTest, ParsesTdxQuoteV5WithTd15Body) {
  std::vector<uint8_t> bytes = ReadDcapVector("tdx-dcap-qvl/tdx_quote_outdated");
  auto quote = ParseDcapQuote(bytes);
  ASSERT_TRUE(quote.ok()) << quote.status().message();
  EXPECT_EQ(quote->version, 5);
  ASSERT_TRUE(quote->td_body.has_value());
  EXPECT_TRUE(quote->td_body->td15);
  EXPECT_EQ(quote->signed_region.size(), kQuoteHeaderSize + 6 + kTd15ReportBodySize);
  EXPECT_TRUE(std::equal(quote->td_body->mrtd.begin(), quote->td_body->mrtd.end(),
                         bytes.begin() + 184 + 6));
}

TEST(DcapQuoteTest, RefusesEveryTruncation) {
  for (const char* name :
       {"sgx-dcap-qvl/sgx_quote", "tdx-dcap-qvl/tdx_quote", "tdx-dcap-qvl/tdx_quote_outdated"}) {
    std::vector<uint8_t> bytes = ReadDcapVector(name);
    size_t minimum = ParseDcapQuote(bytes)->pck_chain_pem.data() - bytes.data() +
                     ParseDcapQuote(bytes)->pck_chain_pem.size();
    for (size_t size = 0; size < minimum; size += (size < 700 ? 1 : 97)) {
      auto quote = ParseDcapQuote(std::span<const uint8_t>(bytes).first(size));
      ASSERT_FALSE(quote.ok()) << name << " truncated to " << size;
      EXPECT_EQ(quote.status().message().rfind("quote-parse: ", 0), 0u);
    }
  }
}

TEST(DcapQuoteTest, RefusesNonZeroTrailingBytes) {
  std::vector<uint8_t> bytes = ReadDcapVector("tdx-dcap-qvl/tdx_quote");
  bytes.back() = 1;
  auto quote = ParseDcapQuote(bytes);
  ASSERT_FALSE(quote.ok());
  EXPECT_NE(quote.status().message().find("after the signature data"), std::string::npos);
}

TEST(DcapQuoteTest, RefusesUnknownVersionsAndKeyTypes) {
  std::vector<uint8_t> bytes = ReadDcapVector("sgx-dcap-qvl/sgx_quote");
  for (uint8_t version : {0, 1, 2, 6, 255}) {
    std::vector<uint8_t> changed = bytes;
    changed[0] = version;
    EXPECT_FALSE(ParseDcapQuote(changed).ok()) << int{version};
  }
  std::vector<uint8_t> key_type = bytes;
  key_type[2] = 3;  // ECDSA P-384 is not produced by Intel's QE
  EXPECT_FALSE(ParseDcapQuote(key_type).ok());
}

TEST(DcapQuoteTest, RefusesACertificationDataSizeBeyondTheQuote) {
  std::vector<uint8_t> bytes = ReadDcapVector("sgx-dcap-qvl/sgx_quote");
  auto quote = ParseDcapQuote(bytes).value();
  size_t size_field = quote.pck_chain_pem.data() - bytes.data() - 4;
  bytes[size_field + 3] = 0x7f;
  auto result = ParseDcapQuote(bytes);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message().rfind("quote-parse: ", 0), 0u);
}

}  // namespace
}  // namespace cove::attestation
