// Verification of Intel DCAP quotes: SGX quote v3 (and SGX v4/v5) and TDX quote v4/v5, offline,
// against collateral, "as of" a given time. The steps, in order, each naming its errors:
//   quote-parse         layout (dcap_quote.h); wrong TEE for the verifier
//   collateral-*        collateral decoding, signatures and chains (dcap_collateral.h), then
//                       its validity windows: tcb-info-expired, qe-identity-not-yet-valid, ...
//   pck-chain, pck-crl  the quote's PCK chain to the pinned root as of the time, with the CRLs
//   pck-extensions      FMSPC, PCE-ID and TCB from the PCK certificate
//   qe-report-signature the QE report, signed by the PCK key
//   qe-report-data      QE REPORTDATA[0:32] == SHA-256(attestation key || QE auth data)
//   quote-signature     header and body, signed by the attestation key
//   fmspc-mismatch, pceid-mismatch, tcb-info (wrong id for the TEE), qe-identity,
//   tdx-module, tcb-level: TCB evaluation (tcb_evaluation.h); no matching level is an error.
//
// Collateral reuse: TrustedDcapCollateral verifies signatures once; VerifyDcapQuote then costs
// the PCK chain, two ECDSA verifications and the TCB matching. The singletons
// SgxDcapVerifier()/TdxDcapVerifier() keep a process-wide DcapCollateralCache keyed by the
// collateral text, so repeated Verify calls with the same collateral reuse it too.
#pragma once

#include <ctime>
#include <span>

#include "attestation/dcap_collateral.h"
#include "attestation/evidence.h"

namespace cove::attestation {

// Verifies one quote of `kind` (kSgx or kTdx) with already trusted collateral as of `at`.
Result<VerifiedEvidence> VerifyDcapQuote(EvidenceKind kind, std::span<const uint8_t> quote,
                                         const TrustedDcapCollateral& collateral, std::time_t at);

}  // namespace cove::attestation
