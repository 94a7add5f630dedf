// libFuzzer target for the DCAP quote parser (v3/v4/v5, certification data types 5 and 6) and
// the PCK SGX-extension DER parser; seed with tests/data/attestation/{sgx,tdx}-dcap-qvl quotes.
#include <cstddef>
#include <cstdint>
#include <span>

#include "attestation/dcap_quote.h"
#include "attestation/pck_extensions.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> input(data, size);
  auto quote = cove::attestation::ParseDcapQuote(input);
  if (quote.ok()) {
    // Every span must lie inside the input.
    volatile uint8_t sink = 0;
    for (auto part : {quote->signed_region, quote->quote_signature, quote->attestation_key,
                      quote->qe_report.raw, quote->qe_report_signature, quote->qe_auth_data,
                      quote->pck_chain_pem}) {
      for (uint8_t b : part) sink = sink ^ b;
    }
  }
  (void)cove::attestation::ParsePckExtensionsDer(input);
  return 0;
}
