// Test-only helpers: loading the checked-in SEV-SNP vectors (tests/data/attestation, see its
// README) and the reference times inside their validity windows. Included by *_test.cc only.
#pragma once

#include <ctime>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "common/hex.h"

namespace cove::attestation::testing {

inline std::string SnpVectorPath(const std::string& relative) {
  return std::string(COVE_SOURCE_DIR) + "/tests/data/attestation/" + relative;
}

inline std::vector<uint8_t> ReadVectorFile(const std::string& relative) {
  std::ifstream in(SnpVectorPath(relative), std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// virtee/sev Milan report (hex text) and its VCEK; not debug.
inline std::vector<uint8_t> VirteeReport() {
  std::vector<uint8_t> text = ReadVectorFile("snp-virtee-milan/report_milan.hex");
  auto bytes = HexDecode(std::string(text.begin(), text.end()), "report_milan.hex");
  return bytes.ok() ? bytes.value() : std::vector<uint8_t>{};
}
inline std::vector<uint8_t> VirteeVcek() {
  return ReadVectorFile("snp-virtee-milan/vcek_milan.der");
}

// go-sev-guest Milan report (binary) with POLICY.DEBUG set, and its VCEK.
inline std::vector<uint8_t> DebugReport() {
  return ReadVectorFile("snp-go-sev-guest-milan-debug/attestation.bin");
}
inline std::vector<uint8_t> DebugVcek() {
  return ReadVectorFile("snp-go-sev-guest-milan-debug/vcek.testcer");
}

// 2025-07-01T00:00:00Z: inside both VCEKs' windows (2023-04-03..2030-04-03,
// 2022-09-24..2029-09-24).
constexpr std::time_t kInsideWindow = 1751328000;
// 2030-06-01T00:00:00Z: after both VCEKs expired.
constexpr std::time_t kAfterExpiry = 1906502400;
// 2022-01-01T00:00:00Z: before either VCEK was issued.
constexpr std::time_t kBeforeIssue = 1640995200;

}  // namespace cove::attestation::testing
