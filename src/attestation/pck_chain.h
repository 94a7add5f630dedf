// Verification of Intel certificate chains (PCK certificates in quotes; TCB-signing and CRL
// issuer chains in collateral) to the pinned Intel SGX Root CA, with Intel's CRLs. The root is
// the compiled-in one (intel_sgx_root_ca.h); a root carried in a chain must be byte-identical
// to it, and is otherwise refused. Built once per collateral and shared between threads.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "attestation/openssl_objects.h"
#include "common/status.h"

namespace cove::attestation {

// Step names an error is reported under: chain problems, and CRL problems (incl. revocation).
struct ChainSteps {
  std::string_view chain;  // e.g. "pck-chain"
  std::string_view crl;    // e.g. "pck-crl"
};

class IntelChainVerifier {
 public:
  // A verifier trusting only the pinned root, checking every non-root certificate against
  // `crls` (at least the Root CA CRL and the PCK CA CRL). Fails if the pinned root is broken.
  static Result<IntelChainVerifier> Create(const std::vector<X509CrlPtr>& crls);

  // Verifies `chain` (leaf first, optionally ending in the root) as of `at`, or without any
  // time check when `at` is empty (for collateral whose windows are checked separately).
  Status Verify(const std::vector<X509Ptr>& chain, std::optional<std::time_t> at,
                const ChainSteps& steps) const;

  X509* root() const { return root_.get(); }

 private:
  IntelChainVerifier(X509StorePtr store, X509Ptr root)
      : store_(std::move(store)), root_(std::move(root)) {}
  std::shared_ptr<X509_STORE> store_;
  std::shared_ptr<X509> root_;
};

// The pinned root certificate, parsed (fails only if the compiled-in bytes are damaged).
Result<X509Ptr> PinnedIntelRoot();

// Validity window of a certificate, as epoch seconds.
struct CertificateWindow {
  std::time_t not_before = 0;
  std::time_t not_after = 0;
};
Result<CertificateWindow> CertificateValidity(const X509* cert);

}  // namespace cove::attestation
