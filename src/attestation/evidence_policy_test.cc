// EvidencePolicy: each field accepts matching evidence and refuses the rest with an error naming
// the field; the genuine debug SNP report is refused unless debug is allowed.
#include "attestation/evidence_policy.h"

#include <gtest/gtest.h>

#include "attestation/snp_test_data.h"

namespace cove::attestation {
namespace {

using namespace cove::attestation::testing;

const std::string kA(64, 'a');
const std::string kB(64, 'b');

VerifiedEvidence SgxEvidence() {
  VerifiedEvidence evidence;
  evidence.kind = EvidenceKind::kSgx;
  evidence.tcb_status = TcbStatus::kUpToDate;
  evidence.measurements = {
      {"mrenclave", kA}, {"mrsigner", kB}, {"isvprodid", "1"}, {"isvsvn", "a"}};
  return evidence;
}

VerifiedEvidence TdxEvidence() {
  VerifiedEvidence evidence;
  evidence.kind = EvidenceKind::kTdx;
  evidence.tcb_status = TcbStatus::kUpToDate;
  evidence.measurements = {
      {"mrtd", kA}, {"rtmr0", kA}, {"rtmr1", kB}, {"rtmr2", kA}, {"rtmr3", kB}};
  return evidence;
}

VerifiedEvidence SnpEvidence(bool debug_report) {
  VerificationInputs inputs;
  inputs.at = kInsideWindow;
  inputs.vcek = debug_report ? DebugVcek() : VirteeVcek();
  Result<VerifiedEvidence> evidence =
      SnpVerifier().Verify(debug_report ? DebugReport() : VirteeReport(), inputs);
  EXPECT_TRUE(evidence.ok()) << evidence.status().ToString();
  return evidence.ok() ? evidence.value() : VerifiedEvidence{};
}

void ExpectDenied(const Status& status, std::string_view field) {
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(status.message().rfind("policy: " + std::string(field), 0), 0u) << status.message();
}

TEST(EvidencePolicyTest, EmptyPolicyAcceptsNonDebugUpToDateEvidence) {
  EXPECT_TRUE(CheckPolicy({}, SgxEvidence()).ok());
  EXPECT_TRUE(CheckPolicy({}, TdxEvidence()).ok());
  EXPECT_TRUE(CheckPolicy({}, SnpEvidence(false)).ok());
}

TEST(EvidencePolicyTest, SgxFieldsMatch) {
  EvidencePolicy policy;
  policy.kind = EvidenceKind::kSgx;
  policy.mrenclaves = {kB, std::string(64, 'A')};  // case-insensitive
  policy.mrsigner = kB;
  policy.isvprodid = 1;
  policy.min_isvsvn = 10;
  EXPECT_TRUE(CheckPolicy(policy, SgxEvidence()).ok())
      << CheckPolicy(policy, SgxEvidence()).ToString();
}

TEST(EvidencePolicyTest, SgxMismatchNamesTheField) {
  EvidencePolicy policy;
  policy.mrenclaves = {kB};
  ExpectDenied(CheckPolicy(policy, SgxEvidence()), "mrenclave");
  policy = {};
  policy.mrsigner = kA;
  ExpectDenied(CheckPolicy(policy, SgxEvidence()), "mrsigner");
  policy = {};
  policy.isvprodid = 2;
  ExpectDenied(CheckPolicy(policy, SgxEvidence()), "isvprodid");
  policy = {};
  policy.min_isvsvn = 11;
  ExpectDenied(CheckPolicy(policy, SgxEvidence()), "isvsvn");
}

TEST(EvidencePolicyTest, TcbStatusMustBeUpToDateOrTolerated) {
  VerifiedEvidence evidence = SgxEvidence();
  evidence.tcb_status = TcbStatus::kConfigurationAndSWHardeningNeeded;
  EvidencePolicy policy;
  ExpectDenied(CheckPolicy(policy, evidence), "tolerate");
  Result<std::vector<TcbStatus>> tolerate =
      ParseTcbStatusList({"SWHardeningNeeded", "ConfigurationAndSWHardeningNeeded"});
  ASSERT_TRUE(tolerate.ok());
  policy.tolerate = tolerate.value();
  EXPECT_TRUE(CheckPolicy(policy, evidence).ok());
  evidence.tcb_status = TcbStatus::kOutOfDate;
  ExpectDenied(CheckPolicy(policy, evidence), "tolerate: TCB status OutOfDate");
}

TEST(EvidencePolicyTest, RejectsUnknownTcbStatusName) {
  Result<std::vector<TcbStatus>> tolerate = ParseTcbStatusList({"UpToDate", "SwHardeningNeeded"});
  ASSERT_FALSE(tolerate.ok());
  EXPECT_NE(tolerate.status().message().find("SwHardeningNeeded"), std::string::npos);
}

TEST(EvidencePolicyTest, TdxFieldsMatch) {
  EvidencePolicy policy;
  policy.mrtd = kA;
  policy.rtmrs[1] = kB;
  policy.rtmrs[3] = kB;
  EXPECT_TRUE(CheckPolicy(policy, TdxEvidence()).ok());
  policy.rtmrs[2] = kB;
  ExpectDenied(CheckPolicy(policy, TdxEvidence()), "rtmr2");
  policy = {};
  policy.mrtd = kB;
  ExpectDenied(CheckPolicy(policy, TdxEvidence()), "mrtd");
}

TEST(EvidencePolicyTest, DebugEvidenceIsRefusedUnlessAllowed) {
  VerifiedEvidence evidence = TdxEvidence();
  evidence.debug = true;
  ExpectDenied(CheckPolicy({}, evidence), "allow_debug");
  EvidencePolicy policy;
  policy.allow_debug = true;
  EXPECT_TRUE(CheckPolicy(policy, evidence).ok());
}

TEST(EvidencePolicyTest, RefusesGenuineDebugSnpReportByDefault) {
  VerifiedEvidence evidence = SnpEvidence(true);
  ASSERT_TRUE(evidence.debug);
  EvidencePolicy policy;
  policy.kind = EvidenceKind::kSnp;
  ExpectDenied(CheckPolicy(policy, evidence), "allow_debug");
  policy.allow_debug = true;
  EXPECT_TRUE(CheckPolicy(policy, evidence).ok());
}

TEST(EvidencePolicyTest, SnpMeasurementHostDataAndMinimumTcb) {
  VerifiedEvidence evidence = SnpEvidence(false);
  EvidencePolicy policy;
  policy.snp_measurement = evidence.measurements.at("measurement");
  policy.snp_host_data = evidence.measurements.at("host_data");
  policy.snp_min_tcb = SnpMinimumTcb{3, 0, 8, 115};  // exactly the reported TCB
  EXPECT_TRUE(CheckPolicy(policy, evidence).ok()) << CheckPolicy(policy, evidence).ToString();

  policy.snp_min_tcb = SnpMinimumTcb{3, 0, 9, 0};
  ExpectDenied(CheckPolicy(policy, evidence), "snp_min_tcb");
  policy.snp_min_tcb.reset();
  policy.snp_measurement = std::string(96, '0');
  ExpectDenied(CheckPolicy(policy, evidence), "measurement");
  policy.snp_measurement.reset();
  policy.snp_host_data = std::string(64, 'f');
  ExpectDenied(CheckPolicy(policy, evidence), "host_data");
}

TEST(EvidencePolicyTest, RefusesEvidenceOfAnotherKind) {
  EvidencePolicy policy;
  policy.kind = EvidenceKind::kSgx;
  ExpectDenied(CheckPolicy(policy, SnpEvidence(false)), "kind");
  // Fields of another kind are refused rather than ignored.
  policy = {};
  policy.mrenclaves = {kA};
  ExpectDenied(CheckPolicy(policy, SnpEvidence(false)), "mrenclaves applies to sgx");
  policy = {};
  policy.snp_measurement = kA;
  ExpectDenied(CheckPolicy(policy, TdxEvidence()), "snp_measurement applies to snp");
}

}  // namespace
}  // namespace cove::attestation
