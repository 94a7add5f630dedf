// The Intel SGX Root CA that every DCAP chain (PCK certificates, TCB info and QE identity
// signers, CRL issuers) must end in. It is compiled in and pinned by its SHA-256 fingerprint; a
// root carried inside evidence or collateral is accepted only if it is byte-identical to it.
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace cove::attestation {

// SHA-256 of the DER certificate: 44:A0:19:6B:...:FA:B6:74:D3.
extern const std::array<uint8_t, 32> kIntelSgxRootCaSha256;

// The DER certificate (CN=Intel SGX Root CA, valid 2018-05-21 .. 2049-12-31).
std::span<const uint8_t> IntelSgxRootCaDer();

}  // namespace cove::attestation
