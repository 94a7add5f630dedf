// libFuzzer target for DCAP collateral parsing: the JSON envelope (hex, PEM, DER CRLs) and the
// TCB info / QE identity texts; seed with the *_collateral.json files and their inner texts.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "attestation/dcap_collateral.h"
#include "attestation/tcb_info.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)cove::attestation::ParseDcapCollateralDocument(text);
  (void)cove::attestation::ParseTcbInfo(text);
  (void)cove::attestation::ParseQeIdentity(text);
  (void)cove::attestation::ParseIntelTimestamp(text);
  return 0;
}
