// LRU cache of verified DCAP collateral (see dcap_collateral_cache.h).
#include "attestation/dcap_collateral_cache.h"

#include "common/crypto.h"

namespace cove::attestation {

Result<std::shared_ptr<const TrustedDcapCollateral>> DcapCollateralCache::Get(
    std::string_view json) {
  Sha256Digest digest = Sha256({reinterpret_cast<const uint8_t*>(json.data()), json.size()});
  std::string key(digest.begin(), digest.end());
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = index_.find(key);
    if (it != index_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      return it->second->second;
    }
  }
  // Created outside the lock: two threads may both verify the same new collateral, once.
  COVE_ASSIGN_OR_RETURN(auto collateral, TrustedDcapCollateral::Create(json));
  std::lock_guard<std::mutex> lock(mutex_);
  if (index_.find(key) == index_.end() && capacity_ > 0) {
    lru_.emplace_front(key, collateral);
    index_[key] = lru_.begin();
    if (lru_.size() > capacity_) {
      index_.erase(lru_.back().first);
      lru_.pop_back();
    }
  }
  return collateral;
}

size_t DcapCollateralCache::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return lru_.size();
}

}  // namespace cove::attestation
