// libFuzzer target for the SEV-SNP report parser: any input must parse or fail cleanly (no
// out-of-bounds read, no UB), and a parsed report must be internally consistent.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "attestation/snp_report.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cove::attestation;
  cove::Result<SnpReport> report = ParseSnpReport(std::span<const uint8_t>(data, size));
  if (!report.ok()) return 0;
  // Only exactly-sized reports of version 2+ parse; the signature is the byte-reversed field.
  if (size != kSnpReportSize || report->version < 2) std::abort();
  if (report->signature_r[kSnpSignatureComponentSize - 1] != data[kSnpSignedSize]) std::abort();
  if (report->reported_tcb.raw != SnpTcbVersion::FromRaw(report->reported_tcb.raw).raw) {
    std::abort();
  }
  (void)report->reported_tcb.ToString();
  (void)report->debug();
  return 0;
}
