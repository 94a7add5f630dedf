// DCAP collateral: Intel's TCB info and QE identity (signed JSON texts), their issuer chains and
// the CRLs, in the JSON envelope of shared/testvectors (dcap-qvl layout):
//   { "tcb_info": "<signed text>", "tcb_info_signature": "<hex r||s>",
//     "tcb_info_issuer_chain": "<PEM>", "qe_identity", "qe_identity_signature",
//     "qe_identity_issuer_chain", "pck_crl_issuer_chain": "<PEM>",
//     "root_ca_crl": "<hex DER>", "pck_crl": "<hex DER>" }
// TrustedDcapCollateral checks every signature and chain once (they do not depend on time) and
// keeps the validity windows, which are checked per quote "as of" its verification time; so one
// TrustedDcapCollateral can be shared by every quote of a platform (see DcapCollateralCache).
#pragma once

#include <array>
#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "attestation/openssl_objects.h"
#include "attestation/pck_chain.h"
#include "attestation/pck_chain_cache.h"
#include "attestation/tcb_info.h"
#include "common/status.h"

namespace cove::attestation {

// The envelope, decoded (hex, PEM, DER) but not yet trusted. Error: "collateral-parse: ...".
struct DcapCollateralDocument {
  std::string tcb_info_text;
  std::vector<uint8_t> tcb_info_signature;
  std::vector<X509Ptr> tcb_info_issuer_chain;
  std::string qe_identity_text;
  std::vector<uint8_t> qe_identity_signature;
  std::vector<X509Ptr> qe_identity_issuer_chain;
  std::vector<X509Ptr> pck_crl_issuer_chain;
  X509CrlPtr root_ca_crl;
  X509CrlPtr pck_crl;
};
Result<DcapCollateralDocument> ParseDcapCollateralDocument(std::string_view json);

// A time window during which part of the collateral is valid; `expired_step` and
// `not_yet_valid_step` name the failure ("tcb-info-expired", ...).
struct CollateralWindow {
  std::string what;
  std::string expired_step;
  std::string not_yet_valid_step;
  std::time_t not_before = 0;
  std::time_t not_after = 0;
};

// Collateral whose signatures and chains to the pinned root have been verified.
class TrustedDcapCollateral {
 public:
  // Parses `json` and verifies, independently of time: the issuer chains (to the pinned root,
  // against the Root CA CRL), the CRL signatures, and the TCB info / QE identity signatures
  // over their raw texts. Errors: "collateral-parse", "tcb-info-chain", "tcb-info-signature",
  // "tcb-info", "qe-identity-chain", "qe-identity-signature", "qe-identity", "root-ca-crl",
  // "pck-crl-chain", "pck-crl".
  static Result<std::shared_ptr<const TrustedDcapCollateral>> Create(std::string_view json);

  // Checks that `at` lies in every window (certificates, CRLs, issueDate..nextUpdate).
  Status CheckValidAt(std::time_t at) const;
  // The intersection of all windows.
  std::time_t valid_from() const;
  std::time_t valid_until() const;

  const TcbInfo& tcb_info() const { return tcb_info_; }
  const QeIdentity& qe_identity() const { return qe_identity_; }
  // Trusts the pinned root, checks the Root CA CRL and the PCK CRL: for PCK chains in quotes.
  const IntelChainVerifier& chain_verifier() const { return chain_verifier_; }
  // Verifies a quote's PCK chain with chain_verifier(), remembering chains already verified.
  Result<std::shared_ptr<const VerifiedPckChain>> VerifyPckChain(std::span<const uint8_t> pem,
                                                                 std::time_t at) const {
    return pck_chains_->Verify(pem, at, chain_verifier_);
  }

 private:
  TrustedDcapCollateral(TcbInfo tcb_info, QeIdentity qe_identity, IntelChainVerifier chain_verifier,
                        std::vector<CollateralWindow> windows)
      : tcb_info_(std::move(tcb_info)),
        qe_identity_(std::move(qe_identity)),
        chain_verifier_(std::move(chain_verifier)),
        windows_(std::move(windows)) {}

  TcbInfo tcb_info_;
  QeIdentity qe_identity_;
  IntelChainVerifier chain_verifier_;
  std::vector<CollateralWindow> windows_;
  std::unique_ptr<PckChainCache> pck_chains_ = std::make_unique<PckChainCache>();
};

}  // namespace cove::attestation
