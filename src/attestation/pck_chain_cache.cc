// The memo of verified PCK chains (see pck_chain_cache.h).
#include "attestation/pck_chain_cache.h"

#include <algorithm>
#include <limits>
#include <string_view>

#include "common/crypto.h"

namespace cove::attestation {

Result<std::shared_ptr<const VerifiedPckChain>> PckChainCache::Verify(
    std::span<const uint8_t> pem, std::time_t at, const IntelChainVerifier& verifier) {
  Sha256Digest key = Sha256(pem);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(key);
    if (it != entries_.end() && at >= it->second->not_before && at < it->second->not_after) {
      return it->second;
    }
  }
  std::string_view text(reinterpret_cast<const char*>(pem.data()), pem.size());
  auto chain = ParsePemCertificates(text);
  if (!chain.ok()) return IntegrityError("pck-chain: " + chain.status().message());
  COVE_RETURN_IF_ERROR(verifier.Verify(*chain, at, {"pck-chain", "pck-crl"}));
  auto verified = std::make_shared<VerifiedPckChain>();
  verified->not_after = std::numeric_limits<std::time_t>::max();
  for (const auto& cert : *chain) {
    auto window = CertificateValidity(cert.get());
    if (!window.ok()) return IntegrityError("pck-chain: " + window.status().message());
    verified->not_before = std::max(verified->not_before, window->not_before);
    verified->not_after = std::min(verified->not_after, window->not_after);
  }
  COVE_ASSIGN_OR_RETURN(verified->extensions, ParsePckExtensions((*chain)[0].get()));
  verified->leaf = std::move((*chain)[0]);

  std::lock_guard<std::mutex> lock(mutex_);
  if (entries_.size() >= capacity_) entries_.clear();  // simple bound; refills on demand
  entries_[key] = verified;
  return std::shared_ptr<const VerifiedPckChain>(std::move(verified));
}

}  // namespace cove::attestation
