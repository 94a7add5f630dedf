// Names of the PlatformReport enums, as printed by `cove check` and its JSON.
#include "check/platform_report.h"

namespace cove::check {

const char* TeeKindName(TeeKind kind) {
  switch (kind) {
    case TeeKind::kSgx:
      return "sgx";
    case TeeKind::kTdxGuest:
      return "tdx-guest";
    case TeeKind::kSnpGuest:
      return "snp-guest";
  }
  return "unknown";
}

}  // namespace cove::check
