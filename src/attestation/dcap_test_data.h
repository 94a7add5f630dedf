// Test helpers for the DCAP tests: the checked-in SGX/TDX vectors of tests/data/attestation
// (see its README for sources and validity windows) and times inside and outside the windows.
#pragma once

#include <cstdint>
#include <ctime>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "attestation/tcb_info.h"

namespace cove::attestation::testing {

inline std::string DcapVectorPath(const std::string& relative) {
  return std::string(COVE_SOURCE_DIR) + "/tests/data/attestation/" + relative;
}

inline std::string ReadDcapVectorText(const std::string& relative) {
  std::ifstream in(DcapVectorPath(relative), std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline std::vector<uint8_t> ReadDcapVector(const std::string& relative) {
  std::string text = ReadDcapVectorText(relative);
  return {text.begin(), text.end()};
}

inline std::time_t At(const char* timestamp) {
  return ParseIntelTimestamp(timestamp).value();
}

struct DcapVector {
  const char* quote;
  const char* collateral;
  std::time_t valid_from;  // README window
  std::time_t valid_until;
  std::time_t inside;  // a reference time inside the window
};

inline DcapVector SgxVector() {
  return {"sgx-dcap-qvl/sgx_quote", "sgx-dcap-qvl/sgx_quote_collateral.json",
          At("2025-06-19T10:56:11Z"), At("2025-07-19T10:01:18Z"), At("2025-07-01T00:00:00Z")};
}
inline DcapVector TdxVector() {
  return {"tdx-dcap-qvl/tdx_quote", "tdx-dcap-qvl/tdx_quote_collateral.json",
          At("2025-06-19T10:32:27Z"), At("2025-07-19T10:00:35Z"), At("2025-07-01T00:00:00Z")};
}
inline DcapVector TdxOutdatedVector() {
  return {"tdx-dcap-qvl/tdx_quote_outdated", "tdx-dcap-qvl/tdx_quote_outdated_collateral.json",
          At("2026-02-18T10:58:51Z"), At("2026-03-20T10:41:15Z"), At("2026-03-01T00:00:00Z")};
}

}  // namespace cove::attestation::testing
