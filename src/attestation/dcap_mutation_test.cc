// Tamper matrix for DCAP quotes and collateral: one changed byte anywhere in a signed region, a
// signature, a key, the QE report or auth data, a certificate, or the collateral texts and
// their signatures makes verification fail, and the error names the step that caught it.
#include <gtest/gtest.h>

#include <initializer_list>
#include <nlohmann/json.hpp>

#include "attestation/dcap_quote.h"
#include "attestation/dcap_test_data.h"
#include "attestation/dcap_verifier.h"

namespace cove::attestation {
namespace {

using testing::DcapVector;
using testing::ReadDcapVector;
using testing::ReadDcapVectorText;

struct Target {
  const char* name;
  const EvidenceVerifier& verifier;
  DcapVector vector;
  const char* baseline_error = nullptr;  // how the unmodified vector fails, if it does
};

// The v5 quote fails only at its last step (no TCB level matches), so every mutation of it
// must be caught at an earlier, more specific step.
std::vector<Target> Targets() {
  return {{"sgx-v3", SgxDcapVerifier(), testing::SgxVector()},
          {"tdx-v4", TdxDcapVerifier(), testing::TdxVector()},
          {"tdx-v5", TdxDcapVerifier(), testing::TdxOutdatedVector(), "tcb-level: "}};
}

bool StartsWithAny(const std::string& message, std::initializer_list<const char*> prefixes) {
  for (const char* prefix : prefixes) {
    if (message.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

class DcapMutationTest : public ::testing::Test {
 protected:
  Result<VerifiedEvidence> Verify(const Target& t, const std::vector<uint8_t>& quote,
                                  const std::string& collateral) {
    VerificationInputs inputs;
    inputs.at = t.vector.inside;
    inputs.collateral = collateral;
    return t.verifier.Verify(quote, inputs);
  }

  void ExpectBaseline(const Target& t, const Result<VerifiedEvidence>& result) {
    if (t.baseline_error == nullptr) {
      ASSERT_TRUE(result.ok()) << t.name << ": " << result.status().message();
    } else {
      ASSERT_FALSE(result.ok()) << t.name;
      ASSERT_EQ(result.status().message().rfind(t.baseline_error, 0), 0u) << t.name;
    }
  }

  // Flips one bit of the quote at each of `offsets` and expects a failure at `steps`.
  void ExpectQuoteFlipsFail(const Target& t, const std::vector<size_t>& offsets,
                            std::initializer_list<const char*> steps, const char* region) {
    std::vector<uint8_t> original = ReadDcapVector(t.vector.quote);
    std::string collateral = ReadDcapVectorText(t.vector.collateral);
    ExpectBaseline(t, Verify(t, original, collateral));
    ASSERT_FALSE(offsets.empty());
    for (size_t offset : offsets) {
      std::vector<uint8_t> quote = original;
      ASSERT_LT(offset, quote.size());
      quote[offset] ^= 0x01;
      auto result = Verify(t, quote, collateral);
      ASSERT_FALSE(result.ok()) << t.name << " " << region << " byte " << offset;
      EXPECT_TRUE(StartsWithAny(result.status().message(), steps))
          << t.name << " " << region << " byte " << offset << ": " << result.status().message();
    }
  }
};

// `count` offsets spread over [begin, begin + size).
std::vector<size_t> Spread(size_t begin, size_t size, size_t count = 8) {
  std::vector<size_t> out;
  for (size_t i = 0; i < count && i < size; ++i) out.push_back(begin + i * size / count);
  out.push_back(begin + size - 1);
  return out;
}

size_t OffsetOf(const std::vector<uint8_t>& quote, std::span<const uint8_t> part) {
  return static_cast<size_t>(part.data() - quote.data());
}

TEST_F(DcapMutationTest, SignedHeaderAndBodyBytesFailQuoteSignature) {
  for (const Target& t : Targets()) {
    std::vector<uint8_t> quote = ReadDcapVector(t.vector.quote);
    auto parsed = ParseDcapQuote(quote).value();
    // QE/PCE SVN and user data in the header (the other header fields are checked by the
    // parser), then the whole body.
    std::vector<size_t> offsets = {8, 9, 10, 11, 28, 35, 47};
    size_t body_size = !parsed.td_body        ? kSgxReportBodySize
                       : parsed.td_body->td15 ? kTd15ReportBodySize
                                              : kTd10ReportBodySize;
    size_t body_start = parsed.signed_region.size() - body_size;  // after v5's descriptor
    for (size_t o : Spread(body_start, body_size, 24)) offsets.push_back(o);
    ExpectQuoteFlipsFail(t, offsets, {"quote-signature: "}, "header/body");
  }
}

TEST_F(DcapMutationTest, CheckedHeaderFieldsFailQuoteParse) {
  for (const Target& t : Targets()) {
    // version, attestation key type, TEE type, QE vendor ID
    ExpectQuoteFlipsFail(t, {0, 1, 2, 4, 12, 20, 27}, {"quote-parse: "}, "header");
  }
}

TEST_F(DcapMutationTest, QuoteSignatureBytesFailQuoteSignature) {
  for (const Target& t : Targets()) {
    std::vector<uint8_t> quote = ReadDcapVector(t.vector.quote);
    auto parsed = ParseDcapQuote(quote).value();
    ExpectQuoteFlipsFail(t, Spread(OffsetOf(quote, parsed.quote_signature), 64),
                         {"quote-signature: "}, "quote signature");
  }
}

TEST_F(DcapMutationTest, AttestationKeyBytesFailQeReportData) {
  // The key is bound by the QE report data, which is checked before the quote signature.
  for (const Target& t : Targets()) {
    std::vector<uint8_t> quote = ReadDcapVector(t.vector.quote);
    auto parsed = ParseDcapQuote(quote).value();
    ExpectQuoteFlipsFail(t, Spread(OffsetOf(quote, parsed.attestation_key), 64),
                         {"qe-report-data: "}, "attestation key");
  }
}

TEST_F(DcapMutationTest, QeReportBytesFailQeReportSignature) {
  for (const Target& t : Targets()) {
    std::vector<uint8_t> quote = ReadDcapVector(t.vector.quote);
    auto parsed = ParseDcapQuote(quote).value();
    ExpectQuoteFlipsFail(t, Spread(OffsetOf(quote, parsed.qe_report.raw), kSgxReportBodySize, 16),
                         {"qe-report-signature: "}, "QE report");
  }
}

TEST_F(DcapMutationTest, QeReportSignatureBytesFailQeReportSignature) {
  for (const Target& t : Targets()) {
    std::vector<uint8_t> quote = ReadDcapVector(t.vector.quote);
    auto parsed = ParseDcapQuote(quote).value();
    ExpectQuoteFlipsFail(t, Spread(OffsetOf(quote, parsed.qe_report_signature), 64),
                         {"qe-report-signature: "}, "QE report signature");
  }
}

TEST_F(DcapMutationTest, QeAuthDataBytesFailQeReportData) {
  for (const Target& t : Targets()) {
    std::vector<uint8_t> quote = ReadDcapVector(t.vector.quote);
    auto parsed = ParseDcapQuote(quote).value();
    ASSERT_FALSE(parsed.qe_auth_data.empty());
    ExpectQuoteFlipsFail(t,
                         Spread(OffsetOf(quote, parsed.qe_auth_data), parsed.qe_auth_data.size()),
                         {"qe-report-data: "}, "QE auth data");
  }
}

TEST_F(DcapMutationTest, PckCertificateBytesFailPckChain) {
  // Replace base64 characters inside each of the three certificates (leaf, CA, root).
  for (const Target& t : Targets()) {
    std::vector<uint8_t> original = ReadDcapVector(t.vector.quote);
    auto parsed = ParseDcapQuote(original).value();
    size_t pem_start = OffsetOf(original, parsed.pck_chain_pem);
    std::string pem(parsed.pck_chain_pem.begin(), parsed.pck_chain_pem.end());
    std::string collateral = ReadDcapVectorText(t.vector.collateral);
    size_t certificates = 0, mutations = 0;
    for (size_t begin = pem.find("-----BEGIN CERTIFICATE-----\n"); begin != std::string::npos;
         begin = pem.find("-----BEGIN CERTIFICATE-----\n", begin + 1)) {
      ++certificates;
      size_t body = begin + 28, end = pem.find("-----END", body);
      for (size_t at = body + 10; at + 70 < end; at += (end - body) / 7) {
        if (pem[at] == '\n') ++at;
        std::vector<uint8_t> quote = original;
        char& c = reinterpret_cast<char&>(quote[pem_start + at]);
        c = c == 'A' ? 'B' : 'A';
        auto result = Verify(t, quote, collateral);
        ++mutations;
        ASSERT_FALSE(result.ok()) << t.name << " PEM byte " << at;
        EXPECT_TRUE(StartsWithAny(result.status().message(), {"pck-chain: ", "pck-crl: "}))
            << t.name << " PEM byte " << at << ": " << result.status().message();
      }
    }
    EXPECT_EQ(certificates, 3u) << t.name;
    EXPECT_GE(mutations, 18u) << t.name;
  }
}

// Collateral mutations: change the JSON value `key` at several positions.
class DcapCollateralMutationTest : public DcapMutationTest {
 protected:
  void ExpectValueFlipsFail(const Target& t, const char* key, bool hex, const char* step) {
    std::vector<uint8_t> quote = ReadDcapVector(t.vector.quote);
    nlohmann::json original = nlohmann::json::parse(ReadDcapVectorText(t.vector.collateral));
    std::string value = original[key].get<std::string>();
    for (size_t at : Spread(0, value.size(), 10)) {
      nlohmann::json mutated = original;
      std::string changed = value;
      if (hex) {
        changed[at] = changed[at] == '0' ? '1' : '0';
      } else {
        changed[at] ^= 0x01;
      }
      mutated[key] = changed;
      auto result = Verify(t, quote, mutated.dump());
      ASSERT_FALSE(result.ok()) << t.name << " " << key << " char " << at;
      EXPECT_EQ(result.status().message().rfind(step, 0), 0u)
          << t.name << " " << key << " char " << at << ": " << result.status().message();
    }
  }
};

TEST_F(DcapCollateralMutationTest, TcbInfoTextFailsTcbInfoSignature) {
  for (const Target& t : Targets()) {
    ExpectValueFlipsFail(t, "tcb_info", false, "tcb-info-signature: ");
  }
}

TEST_F(DcapCollateralMutationTest, TcbInfoSignatureFailsTcbInfoSignature) {
  for (const Target& t : Targets()) {
    ExpectValueFlipsFail(t, "tcb_info_signature", true, "tcb-info-signature: ");
  }
}

TEST_F(DcapCollateralMutationTest, QeIdentityTextFailsQeIdentitySignature) {
  for (const Target& t : Targets()) {
    ExpectValueFlipsFail(t, "qe_identity", false, "qe-identity-signature: ");
  }
}

TEST_F(DcapCollateralMutationTest, QeIdentitySignatureFailsQeIdentitySignature) {
  for (const Target& t : Targets()) {
    ExpectValueFlipsFail(t, "qe_identity_signature", true, "qe-identity-signature: ");
  }
}

TEST_F(DcapCollateralMutationTest, CrlBytesFailAtParseOrCrlSignature) {
  for (const Target& t : Targets()) {
    std::vector<uint8_t> quote = ReadDcapVector(t.vector.quote);
    nlohmann::json original = nlohmann::json::parse(ReadDcapVectorText(t.vector.collateral));
    for (const char* key : {"root_ca_crl", "pck_crl"}) {
      std::string value = original[key].get<std::string>();
      for (size_t at : Spread(0, value.size(), 10)) {
        nlohmann::json mutated = original;
        std::string changed = value;
        changed[at] = changed[at] == '0' ? '1' : '0';
        mutated[key] = changed;
        auto result = Verify(t, quote, mutated.dump());
        ASSERT_FALSE(result.ok()) << t.name << " " << key << " char " << at;
        EXPECT_TRUE(StartsWithAny(result.status().message(),
                                  {"collateral-parse: ", "root-ca-crl: ", "pck-crl: "}))
            << t.name << " " << key << " char " << at << ": " << result.status().message();
      }
    }
  }
}

TEST_F(DcapCollateralMutationTest, IssuerChainWithAForeignLeafFailsChainStep) {
  // A genuine Intel certificate (the PCK CA) put in front of the TCB signing chain: the chain
  // still ends in the pinned root, but the carried signer is not on the verified path.
  for (const Target& t : Targets()) {
    std::vector<uint8_t> quote = ReadDcapVector(t.vector.quote);
    nlohmann::json collateral = nlohmann::json::parse(ReadDcapVectorText(t.vector.collateral));
    std::string chain = collateral["tcb_info_issuer_chain"].get<std::string>();
    std::string pck_ca = collateral["pck_crl_issuer_chain"].get<std::string>();
    pck_ca = pck_ca.substr(0, pck_ca.find("-----END CERTIFICATE-----") + 26);
    collateral["tcb_info_issuer_chain"] = pck_ca + chain.substr(chain.find("-----BEGIN", 1));
    auto result = Verify(t, quote, collateral.dump());
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().message().rfind("tcb-info-chain: ", 0), 0u)
        << result.status().message();
  }
}

}  // namespace
}  // namespace cove::attestation
