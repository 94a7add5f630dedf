// TCB evaluation as Intel's Quote Verification Library does it: the platform TCB level (from the
// PCK certificate's SGX components and PCESVN, and for TDX the TEE_TCB_SVN of the TD report),
// the TDX module identity, the QE identity level, and their convergence into one status with
// the union of the advisory IDs. Pure functions over parsed data: no crypto, no time.
//
// A platform that matches no TCB level yields an error ("tcb-level: ...") rather than a result
// with TcbStatus::kNotSupported: nothing about such a platform can be judged, so the verifier
// refuses it (README of the test vectors: "reported as TCB not supported / rejected").
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "attestation/dcap_quote.h"
#include "attestation/pck_extensions.h"
#include "attestation/tcb_info.h"

namespace cove::attestation {

struct TcbVerdict {
  TcbStatus status = TcbStatus::kNotSupported;
  std::vector<std::string> advisories;
  std::string tcb_date;
};

// The first level (Intel lists them newest first) whose every SGX component SVN and PCESVN the
// platform meets, and for TDX (`td` given) whose TDX components TEE_TCB_SVN meets; the first
// two TDX components are skipped when TEE_TCB_SVN[1] (the module major version) is non-zero,
// since the TDX module identity covers them. Error: "tcb-level: ...".
Result<TcbVerdict> MatchTcbLevel(const TcbInfo& tcb_info, const PckExtensions& pck,
                                 const TdReportBody* td);

struct TdxModuleVerdict {
  std::string id;  // "TDX_01"; empty for module version 0 (checked against "tdxModule" only)
  TcbVerdict verdict;
};
// Checks MRSIGNERSEAM and SEAM attributes against the TDX module identity named by the module
// version TEE_TCB_SVN[1], and its level from the module SVN TEE_TCB_SVN[0]. Error: "tdx-module".
Result<TdxModuleVerdict> EvaluateTdxModule(const TcbInfo& tcb_info, const TdReportBody& td);

// Checks the QE report against the QE identity (MRSIGNER, ISVPRODID, masked MISCSELECT and
// ATTRIBUTES) and returns the level of its ISVSVN. Error: "qe-identity: ...".
Result<TcbVerdict> EvaluateQeIdentity(const QeIdentity& identity, const SgxReportBody& qe_report);

// Converges the platform status with the TDX module and QE statuses (OutOfDate there makes an
// UpToDate/SWHardeningNeeded platform OutOfDate and a Configuration* one
// OutOfDateConfigurationNeeded; Revoked wins) and merges the advisories, platform first.
TcbVerdict CombineTcbVerdicts(const TcbVerdict& platform, const TcbVerdict* tdx_module,
                              const TcbVerdict& qe);

}  // namespace cove::attestation
