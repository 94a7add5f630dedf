// TCB level matching and status convergence for SGX and TDX (see tcb_evaluation.h).
#include "attestation/tcb_evaluation.h"

#include <algorithm>
#include <cstdio>

#include "common/hex.h"

namespace cove::attestation {
namespace {

// Why `level` does not match, or "" if it does.
std::string LevelMismatch(const TcbLevel& level, const PckExtensions& pck, const TdReportBody* td) {
  for (size_t i = 0; i < 16; ++i) {
    if (pck.sgx_tcb_components[i] < level.sgx_components[i]) {
      return "SGX component " + std::to_string(i) + " SVN " +
             std::to_string(pck.sgx_tcb_components[i]) + " < " +
             std::to_string(level.sgx_components[i]);
    }
  }
  if (pck.pcesvn < level.pcesvn) {
    return "PCESVN " + std::to_string(pck.pcesvn) + " < " + std::to_string(level.pcesvn);
  }
  if (td != nullptr) {
    if (!level.tdx_components) return "the level has no TDX components";
    size_t first = td->tee_tcb_svn[1] != 0 ? 2 : 0;
    for (size_t i = first; i < 16; ++i) {
      if (td->tee_tcb_svn[i] < (*level.tdx_components)[i]) {
        return "TDX component " + std::to_string(i) + " SVN " + std::to_string(td->tee_tcb_svn[i]) +
               " < " + std::to_string((*level.tdx_components)[i]);
      }
    }
  }
  return "";
}

TcbVerdict VerdictOf(TcbStatus status, const std::vector<std::string>& advisories,
                     const std::string& date) {
  return TcbVerdict{status, advisories, date};
}

void AppendUnique(std::vector<std::string>& to, const std::vector<std::string>& from) {
  for (const auto& id : from) {
    if (std::find(to.begin(), to.end(), id) == to.end()) to.push_back(id);
  }
}

// A component's status of OutOfDate (or Revoked) lowers the platform status as Intel's QVL does.
TcbStatus Converge(TcbStatus platform, TcbStatus component) {
  if (component == TcbStatus::kRevoked) return TcbStatus::kRevoked;
  if (component != TcbStatus::kOutOfDate) return platform;
  switch (platform) {
    case TcbStatus::kUpToDate:
    case TcbStatus::kSWHardeningNeeded:
      return TcbStatus::kOutOfDate;
    case TcbStatus::kConfigurationNeeded:
    case TcbStatus::kConfigurationAndSWHardeningNeeded:
      return TcbStatus::kOutOfDateConfigurationNeeded;
    default:
      return platform;
  }
}

const EnclaveTcbLevel* FirstLevelAtOrBelow(const std::vector<EnclaveTcbLevel>& levels,
                                           uint16_t isvsvn) {
  for (const auto& level : levels) {
    if (level.isvsvn <= isvsvn) return &level;
  }
  return nullptr;
}

}  // namespace

Result<TcbVerdict> MatchTcbLevel(const TcbInfo& tcb_info, const PckExtensions& pck,
                                 const TdReportBody* td) {
  std::string reason;
  for (const auto& level : tcb_info.levels) {
    reason = LevelMismatch(level, pck, td);
    if (reason.empty()) return VerdictOf(level.status, level.advisories, level.tcb_date);
  }
  // `reason` is now why even the lowest level is not met.
  return FailedPrecondition("tcb-level: no TCB level matches the platform (TCB not supported; " +
                            reason + " at the lowest level, tcbDate " +
                            tcb_info.levels.back().tcb_date + ")");
}

Result<TdxModuleVerdict> EvaluateTdxModule(const TcbInfo& tcb_info, const TdReportBody& td) {
  uint8_t module_svn = td.tee_tcb_svn[0];
  uint8_t module_version = td.tee_tcb_svn[1];
  TdxModuleVerdict out;
  const TdxModuleIdentity* identity = nullptr;
  if (module_version == 0) {
    if (!tcb_info.tdx_module) return FailedPrecondition("tdx-module: TCB info has no tdxModule");
    identity = &*tcb_info.tdx_module;
    out.verdict = VerdictOf(TcbStatus::kUpToDate, {}, "");
  } else {
    char id[8];
    std::snprintf(id, sizeof(id), "TDX_%02X", module_version);
    out.id = id;
    for (const auto& candidate : tcb_info.tdx_module_identities) {
      if (candidate.id == out.id) identity = &candidate;
    }
    if (identity == nullptr) {
      return FailedPrecondition("tdx-module: TCB info has no identity " + out.id +
                                " (TDX module not supported)");
    }
    const EnclaveTcbLevel* level = FirstLevelAtOrBelow(identity->levels, module_svn);
    if (level == nullptr) {
      return FailedPrecondition("tdx-module: module SVN " + std::to_string(module_svn) +
                                " is below every level of " + out.id);
    }
    out.verdict = VerdictOf(level->status, level->advisories, level->tcb_date);
  }
  if (td.mrsignerseam != identity->mrsigner) {
    return IntegrityError("tdx-module: MRSIGNERSEAM " + HexEncode(td.mrsignerseam) +
                          " is not the module signer");
  }
  for (size_t i = 0; i < 8; ++i) {
    if ((td.seam_attributes[i] & identity->attributes_mask[i]) != identity->attributes[i]) {
      return IntegrityError("tdx-module: SEAM attributes do not match the module identity");
    }
  }
  return out;
}

Result<TcbVerdict> EvaluateQeIdentity(const QeIdentity& identity, const SgxReportBody& qe) {
  if (qe.mrsigner != identity.mrsigner) {
    return IntegrityError("qe-identity: QE MRSIGNER " + HexEncode(qe.mrsigner) +
                          " is not the identity's");
  }
  if (qe.isvprodid != identity.isvprodid) {
    return IntegrityError("qe-identity: QE ISVPRODID " + std::to_string(qe.isvprodid) + " is not " +
                          std::to_string(identity.isvprodid));
  }
  if ((qe.miscselect & identity.miscselect_mask) != identity.miscselect) {
    return IntegrityError("qe-identity: QE MISCSELECT does not match");
  }
  for (size_t i = 0; i < 16; ++i) {
    if ((qe.attributes[i] & identity.attributes_mask[i]) != identity.attributes[i]) {
      return IntegrityError("qe-identity: QE ATTRIBUTES do not match");
    }
  }
  const EnclaveTcbLevel* level = FirstLevelAtOrBelow(identity.levels, qe.isvsvn);
  if (level == nullptr) {
    return FailedPrecondition("qe-identity: QE ISVSVN " + std::to_string(qe.isvsvn) +
                              " is below every level");
  }
  return VerdictOf(level->status, level->advisories, level->tcb_date);
}

TcbVerdict CombineTcbVerdicts(const TcbVerdict& platform, const TcbVerdict* tdx_module,
                              const TcbVerdict& qe) {
  TcbVerdict out = platform;
  if (tdx_module != nullptr) {
    out.status = Converge(out.status, tdx_module->status);
    AppendUnique(out.advisories, tdx_module->advisories);
  }
  out.status = Converge(out.status, qe.status);
  AppendUnique(out.advisories, qe.advisories);
  return out;
}

}  // namespace cove::attestation
