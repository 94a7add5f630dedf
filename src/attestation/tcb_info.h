// Intel's signed TCB info (v3, SGX and TDX) and enclave identity (v2, QE and TD_QE) JSON,
// parsed into plain structures for TCB evaluation (tcb_evaluation.h). Parsing never checks
// signatures: dcap_collateral.cc verifies the raw text before it is parsed.
#pragma once

#include <array>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "attestation/evidence.h"
#include "common/status.h"

namespace cove::attestation {

// "2025-06-19T10:56:11Z" (optionally with fractional seconds) as epoch seconds.
Result<std::time_t> ParseIntelTimestamp(std::string_view text);
std::string FormatIntelTimestamp(std::time_t time);

// One TCB level of TCB info v3 (SGX levels have no TDX components).
struct TcbLevel {
  std::array<uint8_t, 16> sgx_components{};
  uint16_t pcesvn = 0;
  std::optional<std::array<uint8_t, 16>> tdx_components;
  std::string tcb_date;
  TcbStatus status = TcbStatus::kOutOfDate;
  std::vector<std::string> advisories;
};

// A TCB level of an enclave identity (QE, TD QE) or a TDX module identity: only an ISVSVN.
struct EnclaveTcbLevel {
  uint16_t isvsvn = 0;
  std::string tcb_date;
  TcbStatus status = TcbStatus::kOutOfDate;
  std::vector<std::string> advisories;
};

struct TdxModuleIdentity {
  std::string id;  // "TDX_01", ...
  std::array<uint8_t, 48> mrsigner{};
  std::array<uint8_t, 8> attributes{};
  std::array<uint8_t, 8> attributes_mask{};
  std::vector<EnclaveTcbLevel> levels;
};

struct TcbInfo {
  std::string id;  // "SGX" or "TDX"
  uint32_t version = 0;
  std::time_t issue_date = 0;
  std::time_t next_update = 0;
  std::array<uint8_t, 6> fmspc{};
  std::array<uint8_t, 2> pceid{};
  uint32_t tcb_evaluation_data_number = 0;
  std::vector<TcbLevel> levels;
  std::optional<TdxModuleIdentity> tdx_module;  // "tdxModule" (its levels are empty)
  std::vector<TdxModuleIdentity> tdx_module_identities;
};

struct QeIdentity {
  std::string id;  // "QE" (SGX) or "TD_QE" (TDX)
  uint32_t version = 0;
  std::time_t issue_date = 0;
  std::time_t next_update = 0;
  uint32_t tcb_evaluation_data_number = 0;
  uint32_t miscselect = 0;
  uint32_t miscselect_mask = 0;
  std::array<uint8_t, 16> attributes{};
  std::array<uint8_t, 16> attributes_mask{};
  std::array<uint8_t, 32> mrsigner{};
  uint16_t isvprodid = 0;
  std::vector<EnclaveTcbLevel> levels;
};

// Parse the signed texts (TCB info v3; enclave identity v2). Errors: "tcb-info: ...",
// "qe-identity: ...". Parsing does not check signatures.
Result<TcbInfo> ParseTcbInfo(std::string_view text);
Result<QeIdentity> ParseQeIdentity(std::string_view text);

}  // namespace cove::attestation
