// Judging verified evidence against an EvidencePolicy: one check per field, each error naming it.
#include "attestation/evidence_policy.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace cove::attestation {
namespace {

Status Denied(const std::string& message) {
  return {StatusCode::kPermissionDenied, "policy: " + message};
}

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// The evidence's measurement `key`, or an error naming it when the verifier did not provide it.
Result<std::string> Measurement(const VerifiedEvidence& evidence, const std::string& key) {
  auto it = evidence.measurements.find(key);
  if (it == evidence.measurements.end()) {
    return Denied(key + ": the " + std::string(EvidenceKindName(evidence.kind)) +
                  " evidence has no such field");
  }
  return Lower(it->second);
}

// Measurement numbers are lower-case hex without padding (evidence.h).
Result<uint64_t> MeasurementNumber(const VerifiedEvidence& evidence, const std::string& key) {
  COVE_ASSIGN_OR_RETURN(std::string text, Measurement(evidence, key));
  uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) {
    return Denied(key + ": evidence value \"" + text + "\" is not a hex number");
  }
  return value;
}

Status RequireEqual(const VerifiedEvidence& evidence, const std::string& key,
                    const std::optional<std::string>& required) {
  if (!required) return Status::Ok();
  COVE_ASSIGN_OR_RETURN(std::string actual, Measurement(evidence, key));
  if (actual != Lower(*required)) {
    return Denied(key + ": evidence has " + actual + ", policy requires " + Lower(*required));
  }
  return Status::Ok();
}

// Refuses policy fields of other kinds, so that a policy never silently ignores a requirement.
Status CheckFieldsApply(const EvidencePolicy& policy, EvidenceKind kind) {
  struct FieldKind {
    bool set;
    const char* name;
    EvidenceKind kind;
  };
  const bool any_rtmr = std::any_of(policy.rtmrs.begin(), policy.rtmrs.end(),
                                    [](const auto& rtmr) { return rtmr.has_value(); });
  const FieldKind fields[] = {
      {!policy.mrenclaves.empty(), "mrenclaves", EvidenceKind::kSgx},
      {policy.mrsigner.has_value(), "mrsigner", EvidenceKind::kSgx},
      {policy.isvprodid.has_value(), "isvprodid", EvidenceKind::kSgx},
      {policy.min_isvsvn.has_value(), "min_isvsvn", EvidenceKind::kSgx},
      {policy.mrtd.has_value(), "mrtd", EvidenceKind::kTdx},
      {any_rtmr, "rtmrs", EvidenceKind::kTdx},
      {policy.snp_measurement.has_value(), "snp_measurement", EvidenceKind::kSnp},
      {policy.snp_host_data.has_value(), "snp_host_data", EvidenceKind::kSnp},
      {policy.snp_min_tcb.has_value(), "snp_min_tcb", EvidenceKind::kSnp},
  };
  for (const FieldKind& field : fields) {
    if (field.set && field.kind != kind) {
      return Denied(std::string(field.name) + " applies to " + EvidenceKindName(field.kind) +
                    " evidence, not " + EvidenceKindName(kind));
    }
  }
  return Status::Ok();
}

Status CheckSgx(const EvidencePolicy& policy, const VerifiedEvidence& evidence) {
  if (!policy.mrenclaves.empty()) {
    COVE_ASSIGN_OR_RETURN(std::string mrenclave, Measurement(evidence, "mrenclave"));
    bool allowed = std::any_of(policy.mrenclaves.begin(), policy.mrenclaves.end(),
                               [&](const std::string& m) { return Lower(m) == mrenclave; });
    if (!allowed)
      return Denied("mrenclave: " + mrenclave + " is not one of the policy's mrenclaves");
  }
  COVE_RETURN_IF_ERROR(RequireEqual(evidence, "mrsigner", policy.mrsigner));
  if (policy.isvprodid) {
    COVE_ASSIGN_OR_RETURN(uint64_t isvprodid, MeasurementNumber(evidence, "isvprodid"));
    if (isvprodid != *policy.isvprodid) {
      return Denied("isvprodid: evidence has " + std::to_string(isvprodid) + ", policy requires " +
                    std::to_string(*policy.isvprodid));
    }
  }
  if (policy.min_isvsvn) {
    COVE_ASSIGN_OR_RETURN(uint64_t isvsvn, MeasurementNumber(evidence, "isvsvn"));
    if (isvsvn < *policy.min_isvsvn) {
      return Denied("isvsvn: evidence has " + std::to_string(isvsvn) + ", below the minimum " +
                    std::to_string(*policy.min_isvsvn));
    }
  }
  return Status::Ok();
}

Status CheckTdx(const EvidencePolicy& policy, const VerifiedEvidence& evidence) {
  COVE_RETURN_IF_ERROR(RequireEqual(evidence, "mrtd", policy.mrtd));
  for (size_t i = 0; i < policy.rtmrs.size(); ++i) {
    COVE_RETURN_IF_ERROR(RequireEqual(evidence, "rtmr" + std::to_string(i), policy.rtmrs[i]));
  }
  return Status::Ok();
}

std::string TcbText(uint64_t bl, uint64_t tee, uint64_t snp, uint64_t ucode) {
  return "bl=" + std::to_string(bl) + " tee=" + std::to_string(tee) +
         " snp=" + std::to_string(snp) + " ucode=" + std::to_string(ucode);
}

Status CheckSnp(const EvidencePolicy& policy, const VerifiedEvidence& evidence) {
  COVE_RETURN_IF_ERROR(RequireEqual(evidence, "measurement", policy.snp_measurement));
  COVE_RETURN_IF_ERROR(RequireEqual(evidence, "host_data", policy.snp_host_data));
  if (policy.snp_min_tcb) {
    // reported_tcb is the raw TCB_VERSION: bootloader byte 0, TEE byte 1, SNP byte 6, ucode 7.
    COVE_ASSIGN_OR_RETURN(uint64_t raw, MeasurementNumber(evidence, "reported_tcb"));
    const uint64_t bl = raw & 0xff, tee = (raw >> 8) & 0xff, snp = (raw >> 48) & 0xff,
                   ucode = raw >> 56;
    const SnpMinimumTcb& min = *policy.snp_min_tcb;
    if (bl < min.bootloader || tee < min.tee || snp < min.snp || ucode < min.microcode) {
      return Denied("snp_min_tcb: reported_tcb " + TcbText(bl, tee, snp, ucode) +
                    " is below the minimum " +
                    TcbText(min.bootloader, min.tee, min.snp, min.microcode));
    }
  }
  return Status::Ok();
}

}  // namespace

Status CheckPolicy(const EvidencePolicy& policy, const VerifiedEvidence& evidence) {
  if (policy.kind && *policy.kind != evidence.kind) {
    return Denied(std::string("kind: evidence is ") + EvidenceKindName(evidence.kind) +
                  ", policy requires " + EvidenceKindName(*policy.kind));
  }
  COVE_RETURN_IF_ERROR(CheckFieldsApply(policy, evidence.kind));
  if (evidence.debug && !policy.allow_debug) {
    return Denied("allow_debug: the evidence has the debug flag set and the policy forbids debug");
  }
  if (evidence.tcb_status != TcbStatus::kUpToDate &&
      std::find(policy.tolerate.begin(), policy.tolerate.end(), evidence.tcb_status) ==
          policy.tolerate.end()) {
    return Denied(std::string("tolerate: TCB status ") + TcbStatusName(evidence.tcb_status) +
                  " is not tolerated");
  }
  switch (evidence.kind) {
    case EvidenceKind::kSgx:
      return CheckSgx(policy, evidence);
    case EvidenceKind::kTdx:
      return CheckTdx(policy, evidence);
    case EvidenceKind::kSnp:
      return CheckSnp(policy, evidence);
  }
  return Internal("policy: unknown evidence kind");
}

Result<std::vector<TcbStatus>> ParseTcbStatusList(const std::vector<std::string>& names) {
  std::vector<TcbStatus> statuses;
  for (const std::string& name : names) {
    std::optional<TcbStatus> status = ParseTcbStatus(name);
    if (!status) return InvalidArgument("tolerate: unknown TCB status \"" + name + "\"");
    statuses.push_back(*status);
  }
  return statuses;
}

}  // namespace cove::attestation
