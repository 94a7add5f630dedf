// Bounds-checked parsing of the SEV-SNP attestation report (layout in snp_report.h).
#include "attestation/snp_report.h"

#include <algorithm>

#include "common/byte_codec.h"

namespace cove::attestation {
namespace {

constexpr uint32_t kMinimumReportVersion = 2;

Status SkipTo(ByteReader& reader, size_t offset, std::string_view field) {
  if (reader.position() > offset) return reader.Error("layout error before " + std::string(field));
  std::vector<uint8_t> skipped(offset - reader.position());
  return reader.Bytes(skipped, field);
}

template <size_t N>
Status ReadArray(ByteReader& reader, std::array<uint8_t, N>& out, std::string_view field) {
  return reader.Bytes(out, field);
}

Result<SnpTcbVersion> ReadTcb(ByteReader& reader, std::string_view field) {
  COVE_ASSIGN_OR_RETURN(uint64_t raw, reader.U64(field));
  return SnpTcbVersion::FromRaw(raw);
}

// The report stores R and S little-endian, zero-padded to 72 bytes; ECDSA wants big-endian.
Status ReadSignatureComponent(ByteReader& reader,
                              std::array<uint8_t, kSnpSignatureComponentSize>& out,
                              std::string_view field) {
  COVE_RETURN_IF_ERROR(reader.Bytes(out, field));
  std::reverse(out.begin(), out.end());
  return Status::Ok();
}

Result<SnpReport> Parse(std::span<const uint8_t> bytes) {
  if (bytes.size() != kSnpReportSize) {
    return DataLoss("report is " + std::to_string(bytes.size()) + " bytes, expected " +
                    std::to_string(kSnpReportSize));
  }
  ByteReader reader(bytes, "report");
  SnpReport report;
  COVE_ASSIGN_OR_RETURN(report.version, reader.U32("VERSION"));
  if (report.version < kMinimumReportVersion) {
    return Unsupported("report VERSION " + std::to_string(report.version) + " (need 2 or later)");
  }
  COVE_ASSIGN_OR_RETURN(report.guest_svn, reader.U32("GUEST_SVN"));
  COVE_ASSIGN_OR_RETURN(report.policy, reader.U64("POLICY"));
  COVE_RETURN_IF_ERROR(ReadArray(reader, report.family_id, "FAMILY_ID"));
  COVE_RETURN_IF_ERROR(ReadArray(reader, report.image_id, "IMAGE_ID"));
  COVE_ASSIGN_OR_RETURN(report.vmpl, reader.U32("VMPL"));
  COVE_ASSIGN_OR_RETURN(report.signature_algo, reader.U32("SIGNATURE_ALGO"));
  COVE_ASSIGN_OR_RETURN(report.current_tcb, ReadTcb(reader, "CURRENT_TCB"));
  COVE_ASSIGN_OR_RETURN(report.platform_info, reader.U64("PLATFORM_INFO"));
  COVE_ASSIGN_OR_RETURN(report.flags, reader.U32("flags"));
  COVE_RETURN_IF_ERROR(SkipTo(reader, 0x050, "REPORT_DATA"));
  COVE_RETURN_IF_ERROR(ReadArray(reader, report.report_data, "REPORT_DATA"));
  COVE_RETURN_IF_ERROR(ReadArray(reader, report.measurement, "MEASUREMENT"));
  COVE_RETURN_IF_ERROR(ReadArray(reader, report.host_data, "HOST_DATA"));
  COVE_RETURN_IF_ERROR(ReadArray(reader, report.id_key_digest, "ID_KEY_DIGEST"));
  COVE_RETURN_IF_ERROR(ReadArray(reader, report.author_key_digest, "AUTHOR_KEY_DIGEST"));
  COVE_RETURN_IF_ERROR(ReadArray(reader, report.report_id, "REPORT_ID"));
  COVE_RETURN_IF_ERROR(ReadArray(reader, report.report_id_ma, "REPORT_ID_MA"));
  COVE_ASSIGN_OR_RETURN(report.reported_tcb, ReadTcb(reader, "REPORTED_TCB"));
  COVE_RETURN_IF_ERROR(SkipTo(reader, 0x1A0, "CHIP_ID"));
  COVE_RETURN_IF_ERROR(ReadArray(reader, report.chip_id, "CHIP_ID"));
  COVE_ASSIGN_OR_RETURN(report.committed_tcb, ReadTcb(reader, "COMMITTED_TCB"));
  COVE_RETURN_IF_ERROR(SkipTo(reader, 0x1F0, "LAUNCH_TCB"));
  COVE_ASSIGN_OR_RETURN(report.launch_tcb, ReadTcb(reader, "LAUNCH_TCB"));
  COVE_RETURN_IF_ERROR(SkipTo(reader, kSnpSignedSize, "SIGNATURE"));
  COVE_RETURN_IF_ERROR(ReadSignatureComponent(reader, report.signature_r, "SIGNATURE.R"));
  COVE_RETURN_IF_ERROR(ReadSignatureComponent(reader, report.signature_s, "SIGNATURE.S"));
  return report;
}

}  // namespace

SnpTcbVersion SnpTcbVersion::FromRaw(uint64_t raw) {
  SnpTcbVersion tcb;
  tcb.raw = raw;
  tcb.bootloader = static_cast<uint8_t>(raw);
  tcb.tee = static_cast<uint8_t>(raw >> 8);
  tcb.snp = static_cast<uint8_t>(raw >> 48);
  tcb.microcode = static_cast<uint8_t>(raw >> 56);
  return tcb;
}

bool SnpTcbVersion::AtLeast(const SnpTcbVersion& minimum) const {
  return bootloader >= minimum.bootloader && tee >= minimum.tee && snp >= minimum.snp &&
         microcode >= minimum.microcode;
}

bool SnpTcbVersion::SameComponents(const SnpTcbVersion& other) const {
  return bootloader == other.bootloader && tee == other.tee && snp == other.snp &&
         microcode == other.microcode;
}

std::string SnpTcbVersion::ToString() const {
  return "bl=" + std::to_string(bootloader) + " tee=" + std::to_string(tee) +
         " snp=" + std::to_string(snp) + " ucode=" + std::to_string(microcode);
}

Result<SnpReport> ParseSnpReport(std::span<const uint8_t> bytes) {
  Result<SnpReport> report = Parse(bytes);
  if (!report.ok()) return report.status().WithContext("snp-report-parse");
  return report;
}

}  // namespace cove::attestation
