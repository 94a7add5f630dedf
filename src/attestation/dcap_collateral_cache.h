// A bounded, thread-safe cache of TrustedDcapCollateral keyed by the SHA-256 of the collateral
// JSON text, so that an attestation service verifies each platform's collateral signatures once
// and then only the per-quote work. Caching is invisible in results: signatures do not depend on
// time, and the validity windows are still checked for every quote.
#pragma once

#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>

#include "attestation/dcap_collateral.h"

namespace cove::attestation {

class DcapCollateralCache {
 public:
  explicit DcapCollateralCache(size_t capacity = 64) : capacity_(capacity) {}

  // The trusted collateral for `json`: from the cache, or created (and cached) on a miss.
  // Failures are not cached.
  Result<std::shared_ptr<const TrustedDcapCollateral>> Get(std::string_view json);

  size_t size() const;

 private:
  using Entry = std::pair<std::string, std::shared_ptr<const TrustedDcapCollateral>>;
  size_t capacity_;
  mutable std::mutex mutex_;
  std::list<Entry> lru_;  // most recently used first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

}  // namespace cove::attestation
