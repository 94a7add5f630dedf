// The SGX and TDX DCAP verifiers: the verification steps of dcap_verifier.h in order, and the
// two EvidenceVerifier singletons with their collateral cache.
#include "attestation/dcap_verifier.h"

#include <algorithm>
#include <cstdio>

#include "attestation/dcap_collateral_cache.h"
#include "attestation/dcap_quote.h"
#include "attestation/pck_extensions.h"
#include "attestation/tcb_evaluation.h"
#include "common/crypto.h"
#include "common/hex.h"

namespace cove::attestation {
namespace {

std::string HexNumber(uint16_t value) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%x", value);
  return buf;
}

Status CheckCollateralFitsTee(const TrustedDcapCollateral& collateral, bool tdx) {
  const char* tcb_id = tdx ? "TDX" : "SGX";
  const char* qe_id = tdx ? "TD_QE" : "QE";
  if (collateral.tcb_info().id != tcb_id) {
    return InvalidArgument("tcb-info: collateral is for " + collateral.tcb_info().id +
                           ", the quote is " + tcb_id);
  }
  if (collateral.qe_identity().id != qe_id) {
    return InvalidArgument("qe-identity: collateral identity is " + collateral.qe_identity().id +
                           ", the quote needs " + qe_id);
  }
  return Status::Ok();
}

Status VerifyQeReportData(const DcapQuote& quote) {
  Sha256Hasher hasher;
  hasher.Update(quote.attestation_key);
  hasher.Update(quote.qe_auth_data);
  Sha256Digest expected = hasher.Finish();
  const auto& data = quote.qe_report.report_data;
  if (!std::equal(expected.begin(), expected.end(), data.begin())) {
    return IntegrityError(
        "qe-report-data: QE REPORTDATA is not SHA-256(attestation key || QE auth data)");
  }
  if (std::any_of(data.begin() + 32, data.end(), [](uint8_t b) { return b != 0; })) {
    return IntegrityError("qe-report-data: QE REPORTDATA[32:64] is not zero");
  }
  return Status::Ok();
}

void FillSgxFields(const SgxReportBody& body, VerifiedEvidence& out) {
  out.debug = body.debug();
  out.report_data.assign(body.report_data.begin(), body.report_data.end());
  out.measurements["mrenclave"] = HexEncode(body.mrenclave);
  out.measurements["mrsigner"] = HexEncode(body.mrsigner);
  out.measurements["isvprodid"] = HexNumber(body.isvprodid);
  out.measurements["isvsvn"] = HexNumber(body.isvsvn);
  out.measurements["attributes"] = HexEncode(body.attributes);
  out.measurements["cpusvn"] = HexEncode(body.cpusvn);
}

void FillTdxFields(const TdReportBody& body, const std::string& module_id, VerifiedEvidence& out) {
  out.debug = body.debug();
  out.report_data.assign(body.report_data.begin(), body.report_data.end());
  out.measurements["mrtd"] = HexEncode(body.mrtd);
  for (size_t i = 0; i < 4; ++i)
    out.measurements["rtmr" + std::to_string(i)] = HexEncode(body.rtmr[i]);
  out.measurements["mrconfigid"] = HexEncode(body.mrconfigid);
  out.measurements["mrowner"] = HexEncode(body.mrowner);
  out.measurements["mrownerconfig"] = HexEncode(body.mrownerconfig);
  out.measurements["mrseam"] = HexEncode(body.mrseam);
  out.measurements["mrsignerseam"] = HexEncode(body.mrsignerseam);
  out.measurements["td_attributes"] = HexEncode(body.td_attributes);
  out.measurements["xfam"] = HexEncode(body.xfam);
  out.measurements["tee_tcb_svn"] = HexEncode(body.tee_tcb_svn);
  if (!module_id.empty()) out.measurements["tdx_module"] = module_id;
  if (body.td15) {
    out.measurements["tee_tcb_svn2"] = HexEncode(body.tee_tcb_svn2);
    out.measurements["mrservicetd"] = HexEncode(body.mrservicetd);
  }
}

class DcapVerifier : public EvidenceVerifier {
 public:
  explicit DcapVerifier(EvidenceKind kind) : kind_(kind) {}
  EvidenceKind kind() const override { return kind_; }

  Result<VerifiedEvidence> Verify(std::span<const uint8_t> evidence,
                                  const VerificationInputs& inputs) const override {
    if (!inputs.collateral) {
      return InvalidArgument("collateral-parse: DCAP verification needs the collateral JSON");
    }
    COVE_ASSIGN_OR_RETURN(auto collateral, cache_.Get(*inputs.collateral));
    return VerifyDcapQuote(kind_, evidence, *collateral, inputs.at);
  }

 private:
  EvidenceKind kind_;
  mutable DcapCollateralCache cache_;
};

}  // namespace

Result<VerifiedEvidence> VerifyDcapQuote(EvidenceKind kind, std::span<const uint8_t> bytes,
                                         const TrustedDcapCollateral& collateral, std::time_t at) {
  if (kind != EvidenceKind::kSgx && kind != EvidenceKind::kTdx) {
    return InvalidArgument("quote-parse: DCAP quotes are SGX or TDX evidence");
  }
  bool tdx = kind == EvidenceKind::kTdx;
  COVE_ASSIGN_OR_RETURN(DcapQuote quote, ParseDcapQuote(bytes));
  if (tdx != quote.td_body.has_value()) {
    return InvalidArgument(std::string("quote-parse: this is ") + (tdx ? "an SGX" : "a TDX") +
                           " quote, not " + (tdx ? "a TDX" : "an SGX") + " one");
  }
  COVE_RETURN_IF_ERROR(CheckCollateralFitsTee(collateral, tdx));
  COVE_RETURN_IF_ERROR(collateral.CheckValidAt(at));

  COVE_ASSIGN_OR_RETURN(auto pck_chain, collateral.VerifyPckChain(quote.pck_chain_pem, at));
  X509* pck_leaf = pck_chain->leaf.get();
  const PckExtensions& pck = pck_chain->extensions;

  if (!VerifyEcdsaP256RawSignature(X509_get0_pubkey(pck_leaf), quote.qe_report.raw,
                                   quote.qe_report_signature)) {
    return IntegrityError("qe-report-signature: ECDSA verification by the PCK key failed");
  }
  COVE_RETURN_IF_ERROR(VerifyQeReportData(quote));
  auto attestation_key = P256KeyFromRaw(quote.attestation_key);
  if (!attestation_key.ok()) {
    return IntegrityError("quote-signature: attestation key: " +
                          attestation_key.status().message());
  }
  if (!VerifyEcdsaP256RawSignature(attestation_key->get(), quote.signed_region,
                                   quote.quote_signature)) {
    return IntegrityError("quote-signature: ECDSA verification by the attestation key failed");
  }

  const TcbInfo& tcb_info = collateral.tcb_info();
  if (pck.fmspc != tcb_info.fmspc) {
    return IntegrityError("fmspc-mismatch: PCK FMSPC " + HexEncode(pck.fmspc) +
                          ", TCB info FMSPC " + HexEncode(tcb_info.fmspc));
  }
  if (pck.pceid != tcb_info.pceid) {
    return IntegrityError("pceid-mismatch: PCK PCE-ID " + HexEncode(pck.pceid) +
                          ", TCB info PCE-ID " + HexEncode(tcb_info.pceid));
  }
  const TdReportBody* td = quote.td_body ? &*quote.td_body : nullptr;
  COVE_ASSIGN_OR_RETURN(TcbVerdict platform, MatchTcbLevel(tcb_info, pck, td));
  std::optional<TdxModuleVerdict> module;
  if (td != nullptr) {
    COVE_ASSIGN_OR_RETURN(module, EvaluateTdxModule(tcb_info, *td));
  }
  COVE_ASSIGN_OR_RETURN(TcbVerdict qe,
                        EvaluateQeIdentity(collateral.qe_identity(), quote.qe_report));
  TcbVerdict combined = CombineTcbVerdicts(platform, module ? &module->verdict : nullptr, qe);

  VerifiedEvidence out;
  out.kind = kind;
  out.tcb_status = combined.status;
  out.advisories = combined.advisories;
  if (td != nullptr) {
    FillTdxFields(*td, module->id, out);
    out.details["tdx_module_tcb_status"] = TcbStatusName(module->verdict.status);
  } else {
    FillSgxFields(*quote.sgx_body, out);
  }
  out.details["quote_version"] = std::to_string(quote.version);
  out.details["fmspc"] = HexEncode(pck.fmspc);
  out.details["pceid"] = HexEncode(pck.pceid);
  out.details["pcesvn"] = std::to_string(pck.pcesvn);
  out.details["platform_tcb_status"] = TcbStatusName(platform.status);
  out.details["tcb_date"] = platform.tcb_date;
  out.details["qe_tcb_status"] = TcbStatusName(qe.status);
  out.details["tcb_evaluation_data_number"] = std::to_string(tcb_info.tcb_evaluation_data_number);
  out.details["collateral_valid_until"] = FormatIntelTimestamp(collateral.valid_until());
  return out;
}

const EvidenceVerifier& SgxDcapVerifier() {
  static const DcapVerifier verifier(EvidenceKind::kSgx);
  return verifier;
}

const EvidenceVerifier& TdxDcapVerifier() {
  static const DcapVerifier verifier(EvidenceKind::kTdx);
  return verifier;
}

}  // namespace cove::attestation
