// What an operator requires of verified evidence, as data that CAS sessions embed: measurements
// (SGX MRENCLAVE/MRSIGNER/ISVPRODID/ISVSVN, TDX MRTD/RTMRs, SNP MEASUREMENT/HOST_DATA), a minimum
// TCB, the TCB statuses tolerated besides UpToDate, and whether debug evidence is acceptable.
// Verifying the evidence (signatures, chains) is the verifiers' job; this only judges the result.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "attestation/evidence.h"
#include "common/status.h"

namespace cove::attestation {

// Minimum SEV-SNP TCB, per component (compared one by one against REPORTED_TCB).
struct SnpMinimumTcb {
  uint8_t bootloader = 0;
  uint8_t tee = 0;
  uint8_t snp = 0;
  uint8_t microcode = 0;
};

// Unset fields are not checked. Hex values may be given in either case; they are compared with
// the evidence's lower-case hex measurements.
struct EvidencePolicy {
  // When set, evidence of another kind is refused. Fields that apply to another kind than the
  // evidence's are refused too, so an SGX policy never silently accepts SNP evidence.
  std::optional<EvidenceKind> kind;
  // Debug enclaves/TDs/guests expose their memory: refused unless explicitly allowed.
  bool allow_debug = false;
  // TCB statuses accepted besides UpToDate (which is always accepted), e.g. SWHardeningNeeded.
  std::vector<TcbStatus> tolerate;

  // SGX
  std::vector<std::string> mrenclaves;  // the evidence's MRENCLAVE must be one of these
  std::optional<std::string> mrsigner;
  std::optional<uint16_t> isvprodid;
  std::optional<uint16_t> min_isvsvn;

  // TDX
  std::optional<std::string> mrtd;
  std::array<std::optional<std::string>, 4> rtmrs;  // rtmr0..rtmr3

  // SEV-SNP
  std::optional<std::string> snp_measurement;
  std::optional<std::string> snp_host_data;
  std::optional<SnpMinimumTcb> snp_min_tcb;
};

// Ok when `evidence` satisfies `policy`; otherwise kPermissionDenied with a message naming the
// field that did not match, e.g. "policy: mrsigner: evidence has 83d7..., policy requires 12ab...".
Status CheckPolicy(const EvidencePolicy& policy, const VerifiedEvidence& evidence);

// Parses TCB status names as Intel spells them ("SWHardeningNeeded", ...) for `tolerate`.
Result<std::vector<TcbStatus>> ParseTcbStatusList(const std::vector<std::string>& names);

}  // namespace cove::attestation
