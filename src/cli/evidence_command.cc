// `cove evidence verify FILE --kind sgx|tdx|snp`: checks an SGX/TDX quote or an SEV-SNP report by
// hand, offline, as of a given time, and prints what it proves (lines, or one JSON object with
// --json). Exit status: 0 verified (and the --require-up-to-date / --forbid-debug demands met),
// 1 not verified, 2 unusable input (unreadable file, bad option value).
#include <cctype>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "attestation/evidence.h"
#include "cli/command_registry.h"
#include "common/env.h"
#include "common/hex.h"

namespace cove::cli {
namespace {

using attestation::EvidenceKind;
using attestation::TcbStatus;
using attestation::VerificationInputs;
using attestation::VerifiedEvidence;

constexpr int kExitVerified = 0;
constexpr int kExitNotVerified = 1;
constexpr int kExitUsage = 2;

struct EvidenceVerifyOptions {
  std::string evidence_path;
  std::string kind;
  std::string collateral_path;
  std::string vcek_path;
  std::string at;
  bool json = false;
  bool require_up_to_date = false;
  bool forbid_debug = false;
};

int Digits(std::string_view text, size_t pos, size_t count, bool& ok) {
  int value = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    if (i >= text.size() || !std::isdigit(static_cast<unsigned char>(text[i]))) {
      ok = false;
      return 0;
    }
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

// RFC 3339 date-time: 2025-07-01T00:00:00Z, with optional fractional seconds (ignored) and a
// "Z" or "+hh:mm"/"-hh:mm" offset.
Result<std::time_t> ParseRfc3339(std::string_view text) {
  const Status bad = InvalidArgument("--at: \"" + std::string(text) +
                                     "\" is not an RFC 3339 time such as 2025-07-01T00:00:00Z");
  bool ok = text.size() >= 20 && text[4] == '-' && text[7] == '-' &&
            (text[10] == 'T' || text[10] == 't' || text[10] == ' ') && text[13] == ':' &&
            text[16] == ':';
  if (!ok) return bad;
  std::tm tm{};
  tm.tm_year = Digits(text, 0, 4, ok) - 1900;
  tm.tm_mon = Digits(text, 5, 2, ok) - 1;
  tm.tm_mday = Digits(text, 8, 2, ok);
  tm.tm_hour = Digits(text, 11, 2, ok);
  tm.tm_min = Digits(text, 14, 2, ok);
  tm.tm_sec = Digits(text, 17, 2, ok);
  if (!ok || tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
      tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60) {
    return bad;
  }
  size_t pos = 19;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    size_t digits_start = pos;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) ++pos;
    if (pos == digits_start) return bad;
  }
  long offset_seconds = 0;
  std::string_view zone = text.substr(pos);
  if (zone == "Z" || zone == "z") {
    offset_seconds = 0;
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
    int hours = Digits(zone, 1, 2, ok);
    int minutes = Digits(zone, 4, 2, ok);
    if (!ok || hours > 23 || minutes > 59) return bad;
    offset_seconds = (zone[0] == '+' ? 1 : -1) * (hours * 3600L + minutes * 60L);
  } else {
    return bad;
  }
  return timegm(&tm) - offset_seconds;
}

std::optional<EvidenceKind> ParseKind(const std::string& kind) {
  if (kind == "sgx") return EvidenceKind::kSgx;
  if (kind == "tdx") return EvidenceKind::kTdx;
  if (kind == "snp") return EvidenceKind::kSnp;
  return std::nullopt;
}

// Evidence files may be hex text (as the virtee/sev SNP vector is): all hex digits and
// whitespace, an even number of digits. Anything else is taken as binary.
std::vector<uint8_t> DecodeIfHexText(std::vector<uint8_t> bytes) {
  std::string digits;
  for (uint8_t byte : bytes) {
    if (std::isxdigit(byte)) {
      digits.push_back(static_cast<char>(byte));
    } else if (!std::isspace(byte)) {
      return bytes;
    }
  }
  if (digits.empty() || digits.size() % 2 != 0) return bytes;
  Result<std::vector<uint8_t>> decoded = HexDecode(digits, "evidence");
  return decoded.ok() ? decoded.value() : bytes;
}

Result<std::vector<uint8_t>> ReadInputFile(const std::string& path, const std::string& what) {
  Result<std::vector<uint8_t>> bytes = ReadWholeFile(Env::Default(), path);
  if (!bytes.ok()) return bytes.status().WithContext("cannot read " + what + " " + path);
  return bytes;
}

// The verifier's inputs from the options, or a usage error.
Result<VerificationInputs> BuildInputs(const EvidenceVerifyOptions& options, EvidenceKind kind) {
  VerificationInputs inputs;
  if (options.at.empty()) {
    inputs.at = std::time(nullptr);
  } else {
    COVE_ASSIGN_OR_RETURN(inputs.at, ParseRfc3339(options.at));
  }
  if (!options.collateral_path.empty()) {
    if (kind == EvidenceKind::kSnp) {
      return InvalidArgument("--collateral applies to sgx and tdx quotes, not snp reports");
    }
    COVE_ASSIGN_OR_RETURN(std::vector<uint8_t> text,
                          ReadInputFile(options.collateral_path, "collateral"));
    inputs.collateral = std::string(text.begin(), text.end());
  }
  if (!options.vcek_path.empty()) {
    if (kind != EvidenceKind::kSnp) {
      return InvalidArgument("--vcek applies to snp reports, not sgx or tdx quotes");
    }
    COVE_ASSIGN_OR_RETURN(inputs.vcek, ReadInputFile(options.vcek_path, "VCEK"));
  }
  return inputs;
}

// The verdict once the evidence verified: --require-up-to-date and --forbid-debug judge it.
Status CheckDemands(const EvidenceVerifyOptions& options, const VerifiedEvidence& evidence) {
  if (options.require_up_to_date && evidence.tcb_status != TcbStatus::kUpToDate) {
    return {StatusCode::kPermissionDenied, std::string("require-up-to-date: TCB status is ") +
                                               attestation::TcbStatusName(evidence.tcb_status) +
                                               ", not UpToDate"};
  }
  if (options.forbid_debug && evidence.debug) {
    return {StatusCode::kPermissionDenied, "forbid-debug: the evidence has the debug flag set"};
  }
  return Status::Ok();
}

void PrintJson(EvidenceKind kind, const Result<VerifiedEvidence>& evidence, const Status& verdict) {
  nlohmann::ordered_json out;
  out["verified"] = evidence.ok() && verdict.ok();
  out["kind"] = attestation::EvidenceKindName(kind);
  if (evidence.ok()) {
    out["tcb_status"] = attestation::TcbStatusName(evidence->tcb_status);
    out["advisories"] = evidence->advisories;
    out["debug"] = evidence->debug;
    out["report_data"] = HexEncode(evidence->report_data);
    for (const auto& [key, value] : evidence->measurements) out[key] = value;
    out["details"] = evidence->details;
  } else {
    out["tcb_status"] = nullptr;
    out["advisories"] = nlohmann::json::array();
    out["debug"] = nullptr;
    out["report_data"] = nullptr;
  }
  if (!evidence.ok()) {
    out["error"] = evidence.status().message();
  } else if (!verdict.ok()) {
    out["error"] = verdict.message();
  }
  std::cout << out.dump(2) << "\n";
}

void PrintLines(EvidenceKind kind, const Result<VerifiedEvidence>& evidence,
                const Status& verdict) {
  std::cout << "verified: " << (evidence.ok() && verdict.ok() ? "yes" : "no") << "\n";
  std::cout << "kind: " << attestation::EvidenceKindName(kind) << "\n";
  if (!evidence.ok()) {
    std::cout << "error: " << evidence.status().message() << "\n";
    return;
  }
  if (!verdict.ok()) std::cout << "error: " << verdict.message() << "\n";
  std::cout << "tcb_status: " << attestation::TcbStatusName(evidence->tcb_status) << "\n";
  std::string advisories;
  for (const std::string& advisory : evidence->advisories) {
    advisories += (advisories.empty() ? "" : ", ") + advisory;
  }
  std::cout << "advisories: " << (advisories.empty() ? "(none)" : advisories) << "\n";
  std::cout << "debug: " << (evidence->debug ? "yes" : "no") << "\n";
  std::cout << "report_data: " << HexEncode(evidence->report_data) << "\n";
  for (const auto& [key, value] : evidence->measurements) std::cout << key << ": " << value << "\n";
  for (const auto& [key, value] : evidence->details)
    std::cout << "  " << key << ": " << value << "\n";
}

int RunEvidenceVerify(const EvidenceVerifyOptions& options) {
  auto usage_error = [](const std::string& message) {
    std::cerr << "cove evidence verify: " << message << "\n";
    return kExitUsage;
  };
  std::optional<EvidenceKind> kind = ParseKind(options.kind);
  if (!kind) return usage_error("--kind must be sgx, tdx or snp, not \"" + options.kind + "\"");
  Result<VerificationInputs> inputs = BuildInputs(options, *kind);
  if (!inputs.ok()) return usage_error(inputs.status().message());
  Result<std::vector<uint8_t>> bytes = ReadInputFile(options.evidence_path, "evidence");
  if (!bytes.ok()) return usage_error(bytes.status().message());
  const std::vector<uint8_t> evidence_bytes = DecodeIfHexText(std::move(bytes).value());

  Result<VerifiedEvidence> evidence =
      attestation::VerifierFor(*kind).Verify(evidence_bytes, inputs.value());
  Status verdict = evidence.ok() ? CheckDemands(options, evidence.value()) : evidence.status();
  if (options.json) {
    PrintJson(*kind, evidence, verdict);
  } else {
    PrintLines(*kind, evidence, verdict);
  }
  return verdict.ok() ? kExitVerified : kExitNotVerified;
}

void RegisterEvidence(CLI::App& app, int& exit_code) {
  CLI::App* evidence = app.add_subcommand("evidence", "Work with TEE evidence (SGX, TDX, SEV-SNP)");
  evidence->require_subcommand(1);
  auto options = std::make_shared<EvidenceVerifyOptions>();
  CLI::App* verify = evidence->add_subcommand(
      "verify", "Verify an SGX/TDX quote or SEV-SNP report offline and print what it proves");
  verify->add_option("FILE", options->evidence_path, "The quote or report, binary or hex text")
      ->required();
  verify->add_option("--kind", options->kind, "sgx, tdx or snp")->required();
  verify->add_option("--collateral", options->collateral_path,
                     "SGX/TDX: collateral JSON (TCB info, QE identity, CRLs and their chains)");
  verify->add_option("--vcek", options->vcek_path,
                     "SNP: the VCEK or VLEK certificate, DER or PEM (ASK/ARK are built in)");
  verify->add_option("--at", options->at,
                     "Verify as of this RFC 3339 time, e.g. 2025-07-01T00:00:00Z (default: now)");
  verify->add_flag("--json", options->json, "Print one JSON object");
  verify->add_flag("--require-up-to-date", options->require_up_to_date,
                   "Fail unless the TCB status is UpToDate");
  verify->add_flag("--forbid-debug", options->forbid_debug, "Fail if the debug flag is set");
  verify->callback([options, &exit_code] { exit_code = RunEvidenceVerify(*options); });
}

COVE_REGISTER_COMMAND("evidence", RegisterEvidence);

}  // namespace
}  // namespace cove::cli
