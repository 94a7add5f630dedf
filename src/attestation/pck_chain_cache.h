// Memo of PCK chains already verified against one collateral: the same platform sends the same
// PCK chain with every quote, so its path validation (four ECDSA verifications with the CRLs)
// is done once. An entry remembers the intersection of the chain's certificate windows; a hit
// counts only for a time inside it (the CRL windows are checked per quote by the collateral),
// otherwise the chain is verified again and its error reported. Thread-safe, bounded.
#pragma once

#include <array>
#include <cstdint>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <span>

#include "attestation/openssl_objects.h"
#include "attestation/pck_chain.h"
#include "attestation/pck_extensions.h"

namespace cove::attestation {

struct VerifiedPckChain {
  X509Ptr leaf;
  PckExtensions extensions;
  std::time_t not_before = 0;  // the chain's certificates are all valid in [not_before,
  std::time_t not_after = 0;   // not_after)
};

class PckChainCache {
 public:
  explicit PckChainCache(size_t capacity = 4096) : capacity_(capacity) {}

  // Parses and verifies `pem` (the quote's certification data) as of `at` with `verifier`,
  // or returns the memo of an earlier verification valid at `at`. Errors: "pck-chain",
  // "pck-crl", "pck-extensions".
  Result<std::shared_ptr<const VerifiedPckChain>> Verify(std::span<const uint8_t> pem,
                                                         std::time_t at,
                                                         const IntelChainVerifier& verifier);

 private:
  size_t capacity_;
  std::mutex mutex_;
  std::map<std::array<uint8_t, 32>, std::shared_ptr<const VerifiedPckChain>> entries_;
};

}  // namespace cove::attestation
