// The real SGX and TDX vectors give exactly the outcome of tests/data/attestation/README.md,
// verified as of a time inside their windows, and fail with a named step outside them.
#include "attestation/dcap_verifier.h"

#include <gtest/gtest.h>

#include "attestation/dcap_quote.h"
#include "attestation/dcap_test_data.h"
#include "common/hex.h"

namespace cove::attestation {
namespace {

using testing::DcapVector;
using testing::ReadDcapVector;
using testing::ReadDcapVectorText;

Result<VerifiedEvidence> VerifyVector(const EvidenceVerifier& verifier, const DcapVector& vector,
                                      std::time_t at) {
  VerificationInputs inputs;
  inputs.at = at;
  inputs.collateral = ReadDcapVectorText(vector.collateral);
  return verifier.Verify(ReadDcapVector(vector.quote), inputs);
}

std::string ReportDataPrefix(const VerifiedEvidence& evidence, size_t n) {
  return std::string(evidence.report_data.begin(), evidence.report_data.begin() + n);
}

TEST(DcapVerifierTest, SgxQuoteV3VerifiesWithConfigurationAndSwHardeningNeeded) {
  auto result = VerifyVector(SgxDcapVerifier(), testing::SgxVector(), testing::SgxVector().inside);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->kind, EvidenceKind::kSgx);
  EXPECT_EQ(result->tcb_status, TcbStatus::kConfigurationAndSWHardeningNeeded);
  EXPECT_EQ(result->advisories, (std::vector<std::string>{"INTEL-SA-00289", "INTEL-SA-00615"}));
  EXPECT_EQ(result->details.at("qe_tcb_status"), "UpToDate");
  EXPECT_EQ(result->details.at("fmspc"), "00a067110000");
  EXPECT_EQ(result->details.at("quote_version"), "3");
  ASSERT_EQ(result->report_data.size(), 64u);
  EXPECT_EQ(ReportDataPrefix(*result, 13), "Hello, world!");

  // The fields as they sit in the quote (README offsets), independently of the parser.
  std::vector<uint8_t> quote = ReadDcapVector(testing::SgxVector().quote);
  auto hex_at = [&](size_t offset, size_t size) {
    return HexEncode(std::span<const uint8_t>(quote).subspan(offset, size));
  };
  EXPECT_EQ(result->measurements.at("mrenclave"), hex_at(112, 32));
  EXPECT_EQ(result->measurements.at("mrsigner"), hex_at(176, 32));
  uint16_t isvprodid = quote[304] | (quote[305] << 8);
  uint16_t isvsvn = quote[306] | (quote[307] << 8);
  EXPECT_EQ(std::stoul(result->measurements.at("isvprodid"), nullptr, 16), isvprodid);
  EXPECT_EQ(std::stoul(result->measurements.at("isvsvn"), nullptr, 16), isvsvn);
  EXPECT_EQ(result->debug, (quote[96] & 0x02) != 0);
  EXPECT_EQ(HexEncode(result->report_data), hex_at(368, 64));
}

TEST(DcapVerifierTest, TdxQuoteV4VerifiesUpToDateWithModuleTdx01) {
  auto result = VerifyVector(TdxDcapVerifier(), testing::TdxVector(), testing::TdxVector().inside);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->kind, EvidenceKind::kTdx);
  EXPECT_EQ(result->tcb_status, TcbStatus::kUpToDate);
  EXPECT_TRUE(result->advisories.empty());
  EXPECT_EQ(result->measurements.at("tdx_module"), "TDX_01");
  EXPECT_EQ(result->details.at("tdx_module_tcb_status"), "UpToDate");
  EXPECT_EQ(result->details.at("qe_tcb_status"), "UpToDate");
  EXPECT_EQ(result->details.at("quote_version"), "4");

  std::vector<uint8_t> quote = ReadDcapVector(testing::TdxVector().quote);
  auto hex_at = [&](size_t offset, size_t size) {
    return HexEncode(std::span<const uint8_t>(quote).subspan(offset, size));
  };
  EXPECT_EQ(result->measurements.at("mrtd"), hex_at(184, 48));
  EXPECT_EQ(result->measurements.at("rtmr0"), hex_at(376, 48));
  EXPECT_EQ(result->measurements.at("rtmr1"), hex_at(424, 48));
  EXPECT_EQ(result->measurements.at("rtmr2"), hex_at(472, 48));
  EXPECT_EQ(result->measurements.at("rtmr3"), hex_at(520, 48));
  EXPECT_EQ(HexEncode(result->report_data), hex_at(568, 64));
  EXPECT_EQ(result->debug, (quote[168] & 0x01) != 0);
}

TEST(DcapVerifierTest, TdxQuoteV5OutdatedIsRejectedAsTcbNotSupported) {
  auto vector = testing::TdxOutdatedVector();
  auto result = VerifyVector(TdxDcapVerifier(), vector, vector.inside);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message().rfind("tcb-level: ", 0), 0u) << result.status().message();
  EXPECT_NE(result.status().message().find("TCB not supported"), std::string::npos);
}

TEST(DcapVerifierTest, TdxQuoteV5SignaturesVerifyBeforeTcbEvaluation) {
  // Every signature step passes: the only failure is the TCB level, which comes last.
  auto vector = testing::TdxOutdatedVector();
  auto collateral = TrustedDcapCollateral::Create(ReadDcapVectorText(vector.collateral));
  ASSERT_TRUE(collateral.ok()) << collateral.status().message();
  std::vector<uint8_t> quote = ReadDcapVector(vector.quote);
  auto result = VerifyDcapQuote(EvidenceKind::kTdx, quote, **collateral, vector.inside);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message().rfind("tcb-level: ", 0), 0u) << result.status().message();
}

TEST(DcapVerifierTest, EveryVectorVerifiesAtBothEndsOfItsWindow) {
  struct Case {
    const EvidenceVerifier& verifier;
    DcapVector vector;
  };
  for (const Case& c : {Case{SgxDcapVerifier(), testing::SgxVector()},
                        Case{TdxDcapVerifier(), testing::TdxVector()}}) {
    EXPECT_TRUE(VerifyVector(c.verifier, c.vector, c.vector.valid_from).ok()) << c.vector.quote;
    // Windows are half-open: the last valid second is one before nextUpdate / notAfter.
    EXPECT_TRUE(VerifyVector(c.verifier, c.vector, c.vector.valid_until - 1).ok())
        << c.vector.quote;
  }
}

TEST(DcapVerifierTest, FailsWithANamedStepOutsideTheValidityWindow) {
  struct Case {
    const EvidenceVerifier& verifier;
    DcapVector vector;
    const char* before_step;
    const char* after_step;
  };
  for (const Case& c :
       {Case{SgxDcapVerifier(), testing::SgxVector(),
             "tcb-info-not-yet-valid: ", "qe-identity-expired: "},
        Case{TdxDcapVerifier(), testing::TdxVector(), "qe-identity-not-yet-valid: ", "pck-crl: "},
        Case{TdxDcapVerifier(), testing::TdxOutdatedVector(),
             "tcb-info-not-yet-valid: ", "pck-crl: "}}) {
    auto before = VerifyVector(c.verifier, c.vector, c.vector.valid_from - 1);
    ASSERT_FALSE(before.ok()) << c.vector.quote;
    EXPECT_EQ(before.status().message().rfind(c.before_step, 0), 0u) << before.status().message();
    auto after = VerifyVector(c.verifier, c.vector, c.vector.valid_until);
    ASSERT_FALSE(after.ok()) << c.vector.quote;
    EXPECT_EQ(after.status().message().rfind(c.after_step, 0), 0u) << after.status().message();
    // Years later, still a step-specific error.
    auto much_later = VerifyVector(c.verifier, c.vector, c.vector.valid_until + 400 * 86400);
    ASSERT_FALSE(much_later.ok());
    EXPECT_NE(much_later.status().message().find(": "), std::string::npos);
  }
}

TEST(DcapVerifierTest, RefusesAQuoteOfTheOtherTee) {
  auto sgx = testing::SgxVector();
  auto as_tdx = VerifyVector(TdxDcapVerifier(), sgx, sgx.inside);
  ASSERT_FALSE(as_tdx.ok());
  EXPECT_EQ(as_tdx.status().message().rfind("quote-parse: ", 0), 0u);
  auto tdx = testing::TdxVector();
  auto as_sgx = VerifyVector(SgxDcapVerifier(), tdx, tdx.inside);
  ASSERT_FALSE(as_sgx.ok());
  EXPECT_EQ(as_sgx.status().message().rfind("quote-parse: ", 0), 0u);
}

TEST(DcapVerifierTest, RefusesCollateralOfTheOtherTee) {
  auto tdx = testing::TdxVector();
  auto sgx = testing::SgxVector();
  VerificationInputs inputs;
  inputs.at = sgx.inside;
  inputs.collateral = ReadDcapVectorText(tdx.collateral);
  auto result = SgxDcapVerifier().Verify(ReadDcapVector(sgx.quote), inputs);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message().rfind("tcb-info: ", 0), 0u) << result.status().message();
}

TEST(DcapVerifierTest, RequiresCollateral) {
  auto sgx = testing::SgxVector();
  VerificationInputs inputs;
  inputs.at = sgx.inside;
  auto result = SgxDcapVerifier().Verify(ReadDcapVector(sgx.quote), inputs);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message().rfind("collateral-parse: ", 0), 0u);
}

TEST(DcapVerifierTest, VerifierForReturnsTheDcapSingletons) {
  EXPECT_EQ(&VerifierFor(EvidenceKind::kSgx), &SgxDcapVerifier());
  EXPECT_EQ(&VerifierFor(EvidenceKind::kTdx), &TdxDcapVerifier());
  EXPECT_EQ(SgxDcapVerifier().kind(), EvidenceKind::kSgx);
  EXPECT_EQ(TdxDcapVerifier().kind(), EvidenceKind::kTdx);
}

}  // namespace
}  // namespace cove::attestation

namespace cove::attestation {
namespace {

using testing::At;
using testing::ReadDcapVector;
using testing::ReadDcapVectorText;

TEST(DcapCollateralReuseTest, CachedPckChainIsReverifiedOutsideItsWindow) {
  auto vector = testing::SgxVector();
  auto collateral = TrustedDcapCollateral::Create(ReadDcapVectorText(vector.collateral)).value();
  std::vector<uint8_t> quote = ReadDcapVector(vector.quote);
  auto parsed = ParseDcapQuote(quote).value();
  auto first = collateral->VerifyPckChain(parsed.pck_chain_pem, vector.inside);
  ASSERT_TRUE(first.ok()) << first.status().message();
  auto again = collateral->VerifyPckChain(parsed.pck_chain_pem, vector.inside + 60);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(first->get(), again->get());  // the memo, not a new verification
  auto late = collateral->VerifyPckChain(parsed.pck_chain_pem, At("2040-01-01T00:00:00Z"));
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.status().message().rfind("pck-", 0), 0u) << late.status().message();
}

TEST(DcapCollateralReuseTest, OneTrustedCollateralVerifiesManyQuotesAlike) {
  auto vector = testing::TdxVector();
  auto collateral = TrustedDcapCollateral::Create(ReadDcapVectorText(vector.collateral)).value();
  std::vector<uint8_t> quote = ReadDcapVector(vector.quote);
  for (int i = 0; i < 3; ++i) {
    auto result = VerifyDcapQuote(EvidenceKind::kTdx, quote, *collateral, vector.inside + i);
    ASSERT_TRUE(result.ok()) << result.status().message();
    EXPECT_EQ(result->tcb_status, TcbStatus::kUpToDate);
  }
  EXPECT_GE(collateral->valid_from(), vector.valid_from);
  EXPECT_EQ(collateral->valid_until(), vector.valid_until);
}

}  // namespace
}  // namespace cove::attestation
