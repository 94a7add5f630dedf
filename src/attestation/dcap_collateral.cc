// Decoding and one-time verification of DCAP collateral (see dcap_collateral.h).
#include "attestation/dcap_collateral.h"

#include <openssl/err.h>

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>

#include "common/hex.h"

namespace cove::attestation {
namespace {

using Json = nlohmann::json;

Result<std::string> EnvelopeString(const Json& json, const char* key) {
  auto it = json.find(key);
  if (it == json.end() || !it->is_string()) {
    return InvalidArgument(std::string("collateral-parse: ") + key + " is missing or not a string");
  }
  return it->get<std::string>();
}

Result<std::vector<X509Ptr>> EnvelopeChain(const Json& json, const char* key) {
  COVE_ASSIGN_OR_RETURN(std::string pem, EnvelopeString(json, key));
  auto chain = ParsePemCertificates(pem);
  if (!chain.ok()) {
    return InvalidArgument(std::string("collateral-parse: ") + key + ": " +
                           chain.status().message());
  }
  return std::move(chain).value();
}

Result<X509CrlPtr> EnvelopeCrl(const Json& json, const char* key) {
  COVE_ASSIGN_OR_RETURN(std::string hex, EnvelopeString(json, key));
  auto der = HexDecode(hex, key);
  if (!der.ok()) return InvalidArgument(std::string("collateral-parse: ") + key + " is not hex");
  auto crl = ParseDerCrl(*der);
  if (!crl.ok()) {
    return InvalidArgument(std::string("collateral-parse: ") + key + ": " + crl.status().message());
  }
  return std::move(crl).value();
}

// Verifies a signed collateral text: its issuer chain to the pinned root (Root CA CRL checked)
// and the r||s signature over the exact text by the chain's leaf. `what` is "tcb-info" or
// "qe-identity"; the steps are "<what>-chain", "<what>-crl" and "<what>-signature".
Status VerifySignedText(const IntelChainVerifier& verifier, const std::vector<X509Ptr>& chain,
                        std::string_view text, std::span<const uint8_t> signature,
                        const std::string& what) {
  std::string chain_step = what + "-chain", crl_step = what + "-crl";
  COVE_RETURN_IF_ERROR(verifier.Verify(chain, std::nullopt, {chain_step, crl_step}));
  char common_name[128] = {0};
  X509_NAME_get_text_by_NID(X509_get_subject_name(chain[0].get()), NID_commonName, common_name,
                            sizeof(common_name));
  if (std::string_view(common_name) != "Intel SGX TCB Signing") {
    return IntegrityError(chain_step + ": signer \"" + common_name +
                          "\" is not Intel SGX TCB Signing");
  }
  EVP_PKEY* key = X509_get0_pubkey(chain[0].get());
  std::span<const uint8_t> message(reinterpret_cast<const uint8_t*>(text.data()), text.size());
  if (!VerifyEcdsaP256RawSignature(key, message, signature)) {
    return IntegrityError(what + "-signature: ECDSA verification failed");
  }
  return Status::Ok();
}

Result<CollateralWindow> ChainWindow(const std::vector<X509Ptr>& chain, const std::string& what,
                                     const std::string& step) {
  CollateralWindow window{what, step, step, 0, std::numeric_limits<std::time_t>::max()};
  for (const auto& cert : chain) {
    auto validity = CertificateValidity(cert.get());
    if (!validity.ok()) return InvalidArgument(step + ": " + validity.status().message());
    window.not_before = std::max(window.not_before, validity->not_before);
    window.not_after = std::min(window.not_after, validity->not_after);
  }
  return window;
}

Result<CollateralWindow> CrlWindow(const X509_CRL* crl, const std::string& what,
                                   const std::string& step) {
  auto this_update = Asn1TimeToEpoch(X509_CRL_get0_lastUpdate(crl));
  auto next_update = Asn1TimeToEpoch(X509_CRL_get0_nextUpdate(crl));
  if (!this_update.ok() || !next_update.ok()) {
    return InvalidArgument(step + ": " + what + " lacks a valid thisUpdate/nextUpdate");
  }
  return CollateralWindow{what, step, step, *this_update, *next_update};
}

}  // namespace

Result<DcapCollateralDocument> ParseDcapCollateralDocument(std::string_view text) {
  Json json = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return InvalidArgument("collateral-parse: not a JSON object");
  }
  DcapCollateralDocument doc;
  COVE_ASSIGN_OR_RETURN(doc.tcb_info_text, EnvelopeString(json, "tcb_info"));
  COVE_ASSIGN_OR_RETURN(std::string tcb_signature, EnvelopeString(json, "tcb_info_signature"));
  COVE_ASSIGN_OR_RETURN(doc.tcb_info_issuer_chain, EnvelopeChain(json, "tcb_info_issuer_chain"));
  COVE_ASSIGN_OR_RETURN(doc.qe_identity_text, EnvelopeString(json, "qe_identity"));
  COVE_ASSIGN_OR_RETURN(std::string qe_signature, EnvelopeString(json, "qe_identity_signature"));
  COVE_ASSIGN_OR_RETURN(doc.qe_identity_issuer_chain,
                        EnvelopeChain(json, "qe_identity_issuer_chain"));
  COVE_ASSIGN_OR_RETURN(doc.pck_crl_issuer_chain, EnvelopeChain(json, "pck_crl_issuer_chain"));
  COVE_ASSIGN_OR_RETURN(doc.root_ca_crl, EnvelopeCrl(json, "root_ca_crl"));
  COVE_ASSIGN_OR_RETURN(doc.pck_crl, EnvelopeCrl(json, "pck_crl"));
  // A malformed signature is a signature failure, not a parse failure: report it as such.
  auto tcb_sig = HexDecode(tcb_signature, "tcb_info_signature");
  if (!tcb_sig.ok() || tcb_sig->size() != 64) {
    return IntegrityError("tcb-info-signature: not 64 bytes of hex r||s");
  }
  doc.tcb_info_signature = std::move(tcb_sig).value();
  auto qe_sig = HexDecode(qe_signature, "qe_identity_signature");
  if (!qe_sig.ok() || qe_sig->size() != 64) {
    return IntegrityError("qe-identity-signature: not 64 bytes of hex r||s");
  }
  doc.qe_identity_signature = std::move(qe_sig).value();
  return doc;
}

Result<std::shared_ptr<const TrustedDcapCollateral>> TrustedDcapCollateral::Create(
    std::string_view json) {
  COVE_ASSIGN_OR_RETURN(DcapCollateralDocument doc, ParseDcapCollateralDocument(json));
  std::vector<X509CrlPtr> crls;
  crls.push_back(std::move(doc.root_ca_crl));
  crls.push_back(std::move(doc.pck_crl));
  COVE_ASSIGN_OR_RETURN(IntelChainVerifier verifier, IntelChainVerifier::Create(crls));
  const X509_CRL* root_ca_crl = crls[0].get();
  const X509_CRL* pck_crl = crls[1].get();

  // The CRLs: the Root CA CRL by the pinned root, the PCK CRL by its issuer chain's leaf.
  if (X509_CRL_verify(crls[0].get(), X509_get0_pubkey(verifier.root())) != 1) {
    ERR_clear_error();
    return IntegrityError("root-ca-crl: signature does not verify with the pinned root");
  }
  COVE_RETURN_IF_ERROR(
      verifier.Verify(doc.pck_crl_issuer_chain, std::nullopt, {"pck-crl-chain", "pck-crl-chain"}));
  if (X509_CRL_verify(crls[1].get(), X509_get0_pubkey(doc.pck_crl_issuer_chain[0].get())) != 1) {
    ERR_clear_error();
    return IntegrityError("pck-crl: signature does not verify with its issuer chain");
  }

  COVE_RETURN_IF_ERROR(VerifySignedText(verifier, doc.tcb_info_issuer_chain, doc.tcb_info_text,
                                        doc.tcb_info_signature, "tcb-info"));
  COVE_RETURN_IF_ERROR(VerifySignedText(verifier, doc.qe_identity_issuer_chain,
                                        doc.qe_identity_text, doc.qe_identity_signature,
                                        "qe-identity"));
  COVE_ASSIGN_OR_RETURN(TcbInfo tcb_info, ParseTcbInfo(doc.tcb_info_text));
  COVE_ASSIGN_OR_RETURN(QeIdentity qe_identity, ParseQeIdentity(doc.qe_identity_text));

  std::vector<CollateralWindow> windows;
  windows.push_back({"TCB info", "tcb-info-expired", "tcb-info-not-yet-valid", tcb_info.issue_date,
                     tcb_info.next_update});
  windows.push_back({"QE identity", "qe-identity-expired", "qe-identity-not-yet-valid",
                     qe_identity.issue_date, qe_identity.next_update});
  COVE_ASSIGN_OR_RETURN(auto tcb_chain, ChainWindow(doc.tcb_info_issuer_chain,
                                                    "TCB info issuer chain", "tcb-info-chain"));
  COVE_ASSIGN_OR_RETURN(
      auto qe_chain,
      ChainWindow(doc.qe_identity_issuer_chain, "QE identity issuer chain", "qe-identity-chain"));
  COVE_ASSIGN_OR_RETURN(auto crl_chain, ChainWindow(doc.pck_crl_issuer_chain,
                                                    "PCK CRL issuer chain", "pck-crl-chain"));
  COVE_ASSIGN_OR_RETURN(auto root_crl, CrlWindow(root_ca_crl, "Root CA CRL", "root-ca-crl"));
  COVE_ASSIGN_OR_RETURN(auto pck_crl_window, CrlWindow(pck_crl, "PCK CRL", "pck-crl"));
  for (auto* window : {&tcb_chain, &qe_chain, &crl_chain, &root_crl, &pck_crl_window}) {
    windows.push_back(std::move(*window));
  }
  return std::shared_ptr<const TrustedDcapCollateral>(new TrustedDcapCollateral(
      std::move(tcb_info), std::move(qe_identity), std::move(verifier), std::move(windows)));
}

Status TrustedDcapCollateral::CheckValidAt(std::time_t at) const {
  for (const auto& window : windows_) {
    if (at < window.not_before) {
      return FailedPrecondition(window.not_yet_valid_step + ": " + window.what +
                                " is not valid before " + FormatIntelTimestamp(window.not_before) +
                                " (verifying as of " + FormatIntelTimestamp(at) + ")");
    }
    if (at >= window.not_after) {  // [not_before, not_after), as OpenSSL counts
      return FailedPrecondition(window.expired_step + ": " + window.what + " expired at " +
                                FormatIntelTimestamp(window.not_after) + " (verifying as of " +
                                FormatIntelTimestamp(at) + ")");
    }
  }
  return Status::Ok();
}

std::time_t TrustedDcapCollateral::valid_from() const {
  std::time_t from = 0;
  for (const auto& window : windows_) from = std::max(from, window.not_before);
  return from;
}

std::time_t TrustedDcapCollateral::valid_until() const {
  std::time_t until = std::numeric_limits<std::time_t>::max();
  for (const auto& window : windows_) until = std::min(until, window.not_after);
  return until;
}

}  // namespace cove::attestation
