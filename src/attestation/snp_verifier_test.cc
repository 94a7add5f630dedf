// SEV-SNP verification against the genuine Milan vectors: both verify inside their windows with
// the expected policy and debug bit, and every single-byte change of the signed region, of the
// signature or of the VCEK, a wrong product root, or a time outside the VCEK's window fails with
// an error naming the step.
#include "attestation/snp_verifier.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <string>

#include "attestation/snp_report.h"
#include "attestation/snp_test_data.h"

namespace cove::attestation {
namespace {

using namespace cove::attestation::testing;

bool StartsWith(const Status& status, std::string_view prefix) {
  return status.message().rfind(prefix, 0) == 0;
}

Result<VerifiedEvidence> Verify(const std::vector<uint8_t>& report,
                                const std::vector<uint8_t>& vcek, std::time_t at = kInsideWindow) {
  VerificationInputs inputs;
  inputs.at = at;
  inputs.vcek = vcek;
  return SnpVerifier().Verify(report, inputs);
}

std::vector<uint8_t> DerToPem(const std::vector<uint8_t>& der) {
  const unsigned char* cursor = der.data();
  X509* cert = d2i_X509(nullptr, &cursor, static_cast<long>(der.size()));
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  std::vector<uint8_t> pem(data, data + size);
  BIO_free(bio);
  X509_free(cert);
  return pem;
}

TEST(SnpVerifierTest, VerifiesVirteeMilanReportInsideWindow) {
  Result<VerifiedEvidence> evidence = Verify(VirteeReport(), VirteeVcek());
  ASSERT_TRUE(evidence.ok()) << evidence.status().ToString();
  EXPECT_EQ(evidence->kind, EvidenceKind::kSnp);
  EXPECT_EQ(evidence->tcb_status, TcbStatus::kUpToDate);
  EXPECT_FALSE(evidence->debug);
  EXPECT_EQ(evidence->report_data.size(), 64u);
  EXPECT_EQ(evidence->measurements.at("policy"), "30000");
  EXPECT_EQ(evidence->measurements.at("reported_tcb"), "7308000000000003");
  EXPECT_EQ(evidence->measurements.at("measurement").size(), 96u);
  EXPECT_EQ(evidence->measurements.at("host_data").size(), 64u);
  EXPECT_EQ(evidence->measurements.at("chip_id").substr(0, 16), "d49554ec717f4e5b");
  for (const char* key : {"report_id", "family_id", "image_id", "guest_svn", "vmpl"}) {
    EXPECT_TRUE(evidence->measurements.contains(key)) << key;
  }
  EXPECT_EQ(evidence->details.at("product"), "Milan");
  EXPECT_EQ(evidence->details.at("signing_key"), "VCEK");
  EXPECT_EQ(evidence->details.at("reported_tcb"), "bl=3 tee=0 snp=8 ucode=115");
}

TEST(SnpVerifierTest, VerifiesDebugReportAndReportsDebug) {
  Result<VerifiedEvidence> evidence = Verify(DebugReport(), DebugVcek());
  ASSERT_TRUE(evidence.ok()) << evidence.status().ToString();
  EXPECT_TRUE(evidence->debug);
  EXPECT_EQ(evidence->measurements.at("policy"), "b0000");
  EXPECT_EQ(evidence->report_data[0], 1);
  EXPECT_EQ(evidence->report_data[4], 5);
}

TEST(SnpVerifierTest, AcceptsPemVcek) {
  Result<VerifiedEvidence> evidence = Verify(VirteeReport(), DerToPem(VirteeVcek()));
  ASSERT_TRUE(evidence.ok()) << evidence.status().ToString();
}

TEST(SnpVerifierTest, RequiresVcek) {
  VerificationInputs inputs;
  inputs.at = kInsideWindow;
  Result<VerifiedEvidence> evidence = SnpVerifier().Verify(VirteeReport(), inputs);
  ASSERT_FALSE(evidence.ok());
  EXPECT_TRUE(StartsWith(evidence.status(), "snp-vcek-parse: ")) << evidence.status().message();
}

TEST(SnpVerifierTest, RejectsTruncatedReport) {
  std::vector<uint8_t> report = VirteeReport();
  report.pop_back();
  Result<VerifiedEvidence> evidence = Verify(report, VirteeVcek());
  ASSERT_FALSE(evidence.ok());
  EXPECT_TRUE(StartsWith(evidence.status(), "snp-report-parse: ")) << evidence.status().message();
}

TEST(SnpVerifierTest, RejectsEverySingleByteChangeOfTheSignedRegion) {
  const std::vector<uint8_t> original = VirteeReport();
  for (size_t offset = 0; offset < kSnpSignedSize; ++offset) {
    std::vector<uint8_t> report = original;
    report[offset] ^= 0x01;
    Result<VerifiedEvidence> evidence = Verify(report, VirteeVcek());
    ASSERT_FALSE(evidence.ok()) << "byte " << offset;
    EXPECT_TRUE(StartsWith(evidence.status(), "snp-signature: "))
        << "byte " << offset << ": " << evidence.status().message();
  }
}

TEST(SnpVerifierTest, RejectsEverySingleByteChangeOfTheSignature) {
  const std::vector<uint8_t> original = DebugReport();
  for (size_t offset = kSnpSignedSize; offset < kSnpSignedSize + 2 * kSnpSignatureComponentSize;
       ++offset) {
    std::vector<uint8_t> report = original;
    report[offset] ^= 0x80;
    Result<VerifiedEvidence> evidence = Verify(report, DebugVcek());
    ASSERT_FALSE(evidence.ok()) << "byte " << offset;
    EXPECT_TRUE(StartsWith(evidence.status(), "snp-signature: "))
        << "byte " << offset << ": " << evidence.status().message();
  }
}

TEST(SnpVerifierTest, RejectsEverySingleByteChangeOfTheVcek) {
  const std::vector<uint8_t> original = VirteeVcek();
  for (size_t offset = 0; offset < original.size(); ++offset) {
    std::vector<uint8_t> vcek = original;
    vcek[offset] ^= 0x01;
    Result<VerifiedEvidence> evidence = Verify(VirteeReport(), vcek);
    ASSERT_FALSE(evidence.ok()) << "byte " << offset;
    EXPECT_TRUE(StartsWith(evidence.status(), "snp-vcek-parse: ") ||
                StartsWith(evidence.status(), "snp-cert-chain: "))
        << "byte " << offset << ": " << evidence.status().message();
  }
}

TEST(SnpVerifierTest, RejectsTheVcekOfAnotherChip) {
  Result<VerifiedEvidence> evidence = Verify(VirteeReport(), DebugVcek());
  ASSERT_FALSE(evidence.ok());
  EXPECT_TRUE(StartsWith(evidence.status(), "snp-signature: ")) << evidence.status().message();
}

TEST(SnpVerifierTest, RejectsVerificationAfterVcekExpiry) {
  Result<VerifiedEvidence> evidence = Verify(VirteeReport(), VirteeVcek(), kAfterExpiry);
  ASSERT_FALSE(evidence.ok());
  EXPECT_EQ(evidence.status().message().rfind("snp-cert-chain: VCEK: certificate has expired", 0),
            0u)
      << evidence.status().message();
}

TEST(SnpVerifierTest, RejectsVerificationBeforeVcekIssue) {
  Result<VerifiedEvidence> evidence = Verify(DebugReport(), DebugVcek(), kBeforeIssue);
  ASSERT_FALSE(evidence.ok());
  EXPECT_EQ(
      evidence.status().message().rfind("snp-cert-chain: VCEK: certificate is not yet valid", 0),
      0u)
      << evidence.status().message();
}

const SnpProductRoots& BuiltinRootsFor(std::string_view product) {
  for (const SnpProductRoots& roots : SnpBuiltinRoots()) {
    if (roots.product == product) return roots;
  }
  ADD_FAILURE() << "no built-in roots for " << product;
  return SnpBuiltinRoots().front();
}

TEST(SnpVerifierTest, BuildsInMilanAndGenoaRoots) {
  const SnpProductRoots& milan = BuiltinRootsFor("Milan");
  const SnpProductRoots& genoa = BuiltinRootsFor("Genoa");
  EXPECT_EQ(milan.ark_sha256, "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd");
  EXPECT_EQ(genoa.ark_sha256, "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1");
  // The Genoa roots load (fingerprint pinned) even though no Genoa report is at hand: a Milan
  // VCEK is refused by them for its issuer.
  SnpProductRoots only_genoa[] = {genoa};
  Result<VerifiedEvidence> evidence =
      VerifySnpReport(VirteeReport(), VirteeVcek(), kInsideWindow, only_genoa);
  ASSERT_FALSE(evidence.ok());
  EXPECT_TRUE(StartsWith(evidence.status(), "snp-cert-chain: the VCEK's issuer"))
      << evidence.status().message();
}

TEST(SnpVerifierTest, RejectsAskUnderTheWrongProductRoot) {
  SnpProductRoots mixed = BuiltinRootsFor("Milan");
  const SnpProductRoots& genoa = BuiltinRootsFor("Genoa");
  mixed.ark_pem = genoa.ark_pem;
  mixed.ark_sha256 = genoa.ark_sha256;
  SnpProductRoots roots[] = {mixed};
  Result<VerifiedEvidence> evidence =
      VerifySnpReport(VirteeReport(), VirteeVcek(), kInsideWindow, roots);
  ASSERT_FALSE(evidence.ok());
  EXPECT_TRUE(StartsWith(evidence.status(), "snp-cert-chain: ")) << evidence.status().message();
}

TEST(SnpVerifierTest, RefusesRootWhoseFingerprintIsNotPinned) {
  SnpProductRoots tampered = BuiltinRootsFor("Milan");
  tampered.ark_sha256 = BuiltinRootsFor("Genoa").ark_sha256;
  SnpProductRoots roots[] = {tampered};
  Result<VerifiedEvidence> evidence =
      VerifySnpReport(VirteeReport(), VirteeVcek(), kInsideWindow, roots);
  ASSERT_FALSE(evidence.ok());
  EXPECT_TRUE(StartsWith(evidence.status(), "snp-roots: Milan ARK fingerprint"))
      << evidence.status().message();
}

}  // namespace
}  // namespace cove::attestation
