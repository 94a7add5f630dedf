// The Intel SGX extensions of a PCK certificate (OID 1.2.840.113741.1.13.1): FMSPC, PCE-ID and
// the platform TCB (16 SGX component SVNs, PCESVN, CPUSVN) that TCB info levels are matched
// against. Parsed with a small bounds-checked DER reader; unknown entries are skipped.
#pragma once

#include <openssl/x509.h>

#include <array>
#include <cstdint>
#include <span>

#include "common/status.h"

namespace cove::attestation {

struct PckExtensions {
  std::array<uint8_t, 16> ppid{};
  std::array<uint8_t, 16> sgx_tcb_components{};
  uint16_t pcesvn = 0;
  std::array<uint8_t, 16> cpusvn{};
  std::array<uint8_t, 2> pceid{};
  std::array<uint8_t, 6> fmspc{};
};

// Parses the DER value of the SGX extension; an error reads "pck-extensions: ...".
Result<PckExtensions> ParsePckExtensionsDer(std::span<const uint8_t> der);
// Finds the SGX extension in `cert` and parses it.
Result<PckExtensions> ParsePckExtensions(X509* cert);

}  // namespace cove::attestation
