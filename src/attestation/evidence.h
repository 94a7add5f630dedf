// The one interface through which CAS (and `cove evidence verify`) checks TEE evidence: SGX DCAP
// quotes, TDX quotes, AMD SEV-SNP reports and (later) cove's simulated quotes. Each verifier
// checks signatures, certificate chains to a pinned root and collateral "as of" a given time, and
// returns what the evidence proves (measurements, report data, TCB status) or an error naming the
// exact step that failed. Judging the result (is this TCB status acceptable?) is the job of
// EvidencePolicy, kept separate so that sessions can embed it.
#pragma once

#include <cstdint>
#include <ctime>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"

namespace cove::attestation {

enum class EvidenceKind { kSgx, kTdx, kSnp };

// Intel's TCB status names (also used for SNP: UpToDate or OutOfDate against a minimum).
enum class TcbStatus {
  kUpToDate,
  kSWHardeningNeeded,
  kConfigurationNeeded,
  kConfigurationAndSWHardeningNeeded,
  kOutOfDate,
  kOutOfDateConfigurationNeeded,
  kRevoked,
  kNotSupported,  // no TCB level matches the platform
};
// "UpToDate", "SWHardeningNeeded", ... exactly as Intel spells them.
const char* TcbStatusName(TcbStatus status);
std::optional<TcbStatus> ParseTcbStatus(std::string_view name);
const char* EvidenceKindName(EvidenceKind kind);

// What verified evidence proves. Measurement fields are lower-case hex, keyed by the names that
// `cove evidence verify --json` prints: SGX "mrenclave", "mrsigner", "isvprodid", "isvsvn";
// TDX "mrtd", "rtmr0".."rtmr3" (and "mrconfigid", "mrowner", "tdx_module" ...);
// SNP "measurement", "host_data", "policy", "chip_id", "reported_tcb" ...
struct VerifiedEvidence {
  EvidenceKind kind = EvidenceKind::kSgx;
  TcbStatus tcb_status = TcbStatus::kNotSupported;
  std::vector<std::string> advisories;  // e.g. "INTEL-SA-00289"
  bool debug = false;
  std::vector<uint8_t> report_data;  // 64 bytes
  std::map<std::string, std::string> measurements;
  std::map<std::string, std::string> details;  // extra facts worth printing (FMSPC, QE status...)
};

// Inputs besides the evidence bytes. Verification never touches the network.
struct VerificationInputs {
  std::time_t at = 0;                        // verify "as of" this time (UTC seconds)
  std::optional<std::string> collateral;     // SGX/TDX: collateral JSON (shared/testvectors layout)
  std::optional<std::vector<uint8_t>> vcek;  // SNP: VCEK or VLEK certificate, DER or PEM
};

class EvidenceVerifier {
 public:
  virtual ~EvidenceVerifier() = default;
  virtual EvidenceKind kind() const = 0;
  // Verifies `evidence`; an error's message starts with the failed step, e.g.
  // "pck-chain: certificate has expired" or "quote-signature: ECDSA verification failed".
  virtual Result<VerifiedEvidence> Verify(std::span<const uint8_t> evidence,
                                          const VerificationInputs& inputs) const = 0;
};

// The verifier for `kind` (process-lifetime singletons, thread-safe).
const EvidenceVerifier& VerifierFor(EvidenceKind kind);

// The singletons behind VerifierFor, defined by each verifier's own file.
const EvidenceVerifier& SgxDcapVerifier();  // dcap_verifier.cc
const EvidenceVerifier& TdxDcapVerifier();  // dcap_verifier.cc
const EvidenceVerifier& SnpVerifier();      // snp_verifier.cc

}  // namespace cove::attestation
