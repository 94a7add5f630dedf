// AMD SEV-SNP report verification: the report's ECDSA P-384 signature by the VCEK (or VLEK), the
// VCEK -> ASK -> ARK chain to a pinned per-product ARK "as of" a given time, the VCEK's TCB
// extensions against REPORTED_TCB and its hwID against CHIP_ID. SnpVerifier() (evidence.h) is the
// EvidenceVerifier over this function with the built-in roots.
#pragma once

#include <cstdint>
#include <ctime>
#include <span>

#include "attestation/evidence.h"
#include "attestation/snp_amd_roots.h"
#include "common/status.h"

namespace cove::attestation {

// Verifies `report` (exactly 1184 bytes) against `vcek` (DER or PEM) as of `at`, anchored only in
// `roots`. On success the TCB status is UpToDate, meaning "the VCEK certifies exactly the
// REPORTED_TCB": offline, nothing says whether AMD has published a newer TCB since; require a
// minimum with EvidencePolicy::snp_min_tcb. Errors start with the failed step: snp-report-parse,
// snp-vcek-parse, snp-roots, snp-cert-chain, snp-signature, snp-tcb-mismatch, snp-chip-id-mismatch.
Result<VerifiedEvidence> VerifySnpReport(std::span<const uint8_t> report,
                                         std::span<const uint8_t> vcek, std::time_t at,
                                         std::span<const SnpProductRoots> roots);

}  // namespace cove::attestation
