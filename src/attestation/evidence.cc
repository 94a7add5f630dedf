// Names of evidence kinds and TCB statuses, and the verifier lookup.
#include "attestation/evidence.h"

#include <array>
#include <utility>

namespace cove::attestation {
namespace {
constexpr std::array<std::pair<TcbStatus, const char*>, 8> kTcbStatusNames = {{
    {TcbStatus::kUpToDate, "UpToDate"},
    {TcbStatus::kSWHardeningNeeded, "SWHardeningNeeded"},
    {TcbStatus::kConfigurationNeeded, "ConfigurationNeeded"},
    {TcbStatus::kConfigurationAndSWHardeningNeeded, "ConfigurationAndSWHardeningNeeded"},
    {TcbStatus::kOutOfDate, "OutOfDate"},
    {TcbStatus::kOutOfDateConfigurationNeeded, "OutOfDateConfigurationNeeded"},
    {TcbStatus::kRevoked, "Revoked"},
    {TcbStatus::kNotSupported, "NotSupported"},
}};
}  // namespace

const char* TcbStatusName(TcbStatus status) {
  for (const auto& [value, name] : kTcbStatusNames) {
    if (value == status) return name;
  }
  return "NotSupported";
}

std::optional<TcbStatus> ParseTcbStatus(std::string_view name) {
  for (const auto& [value, text] : kTcbStatusNames) {
    if (name == text) return value;
  }
  return std::nullopt;
}

const char* EvidenceKindName(EvidenceKind kind) {
  switch (kind) {
    case EvidenceKind::kSgx:
      return "sgx";
    case EvidenceKind::kTdx:
      return "tdx";
    case EvidenceKind::kSnp:
      return "snp";
  }
  return "unknown";
}

const EvidenceVerifier& VerifierFor(EvidenceKind kind) {
  switch (kind) {
    case EvidenceKind::kSgx:
      return SgxDcapVerifier();
    case EvidenceKind::kTdx:
      return TdxDcapVerifier();
    case EvidenceKind::kSnp:
      return SnpVerifier();
  }
  return SgxDcapVerifier();
}

}  // namespace cove::attestation
