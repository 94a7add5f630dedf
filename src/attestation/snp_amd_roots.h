// The AMD certificates that anchor SEV-SNP verification, compiled in: per product, the ARK (AMD
// Root Key, the only trust anchor, pinned by its SHA-256 fingerprint) and the intermediates it
// signed (ASK for VCEKs, ASVK for VLEKs). Roots are never taken from the evidence.
#pragma once

#include <span>
#include <string_view>

namespace cove::attestation {

struct SnpProductRoots {
  std::string_view product;     // "Milan", "Genoa"
  std::string_view ark_pem;     // self-signed root
  std::string_view ark_sha256;  // lower-case hex SHA-256 of the ARK's DER
  std::string_view ask_pem;     // signs VCEKs
  std::string_view asvk_pem;    // signs VLEKs; empty when not built in
};

// Every product whose roots are built in.
std::span<const SnpProductRoots> SnpBuiltinRoots();

}  // namespace cove::attestation
