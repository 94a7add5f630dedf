// The AMD SEV-SNP attestation report (SEV-SNP ABI specification, "ATTESTATION_REPORT"
// structure, versions 2 and later): its 1184-byte layout, specified once here, and a
// bounds-checked parser. Parsing checks only the shape; the signature and the VCEK that certifies
// it are checked by snp_verifier.cc.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "common/status.h"

namespace cove::attestation {

// Byte layout (all integers little-endian):
//   0x000 u32 VERSION            (2, 3, 5 ... ; 1 predates the CHIP_ID/COMMITTED_TCB fields)
//   0x004 u32 GUEST_SVN
//   0x008 u64 POLICY             (bit 16 SMT, bit 17 reserved 1, bit 18 MIGRATE_MA, bit 19 DEBUG)
//   0x010 16  FAMILY_ID
//   0x020 16  IMAGE_ID
//   0x030 u32 VMPL
//   0x034 u32 SIGNATURE_ALGO     (1 = ECDSA P-384 with SHA-384)
//   0x038 u64 CURRENT_TCB
//   0x040 u64 PLATFORM_INFO
//   0x048 u32 flags              (bit 0 AUTHOR_KEY_EN, bit 1 MASK_CHIP_KEY, bits 2-4 SIGNING_KEY:
//                                 0 VCEK, 1 VLEK, 7 none)
//   0x04C u32 reserved
//   0x050 64  REPORT_DATA
//   0x090 48  MEASUREMENT
//   0x0C0 32  HOST_DATA
//   0x0E0 48  ID_KEY_DIGEST
//   0x110 48  AUTHOR_KEY_DIGEST
//   0x140 32  REPORT_ID
//   0x160 32  REPORT_ID_MA
//   0x180 u64 REPORTED_TCB
//   0x188 24  CPUID family/model/stepping (version 3+) and reserved
//   0x1A0 64  CHIP_ID
//   0x1E0 u64 COMMITTED_TCB
//   0x1E8 8   CURRENT and COMMITTED build/minor/major
//   0x1F0 u64 LAUNCH_TCB
//   0x1F8 168 reserved
//   0x2A0 512 SIGNATURE: R (72 bytes, little-endian), S (72 bytes, little-endian), reserved
// The signature covers bytes 0x000..0x29F.
inline constexpr size_t kSnpReportSize = 0x4A0;
inline constexpr size_t kSnpSignedSize = 0x2A0;
inline constexpr size_t kSnpSignatureComponentSize = 72;
inline constexpr uint32_t kSnpSignatureAlgoEcdsaP384Sha384 = 1;
inline constexpr uint64_t kSnpPolicyDebugBit = uint64_t{1} << 19;
inline constexpr uint32_t kSnpSigningKeyVcek = 0;
inline constexpr uint32_t kSnpSigningKeyVlek = 1;

// A TCB_VERSION as Milan and Genoa lay it out: one security patch level (SPL) per firmware
// component. (Turin and later use a different layout and are not supported.)
struct SnpTcbVersion {
  uint8_t bootloader = 0;  // byte 0
  uint8_t tee = 0;         // byte 1
  uint8_t snp = 0;         // byte 6
  uint8_t microcode = 0;   // byte 7
  uint64_t raw = 0;

  static SnpTcbVersion FromRaw(uint64_t raw);
  // True when every component is at least the one in `minimum`.
  bool AtLeast(const SnpTcbVersion& minimum) const;
  bool SameComponents(const SnpTcbVersion& other) const;
  // "bl=4 tee=0 snp=21 ucode=211".
  std::string ToString() const;
};

struct SnpReport {
  uint32_t version = 0;
  uint32_t guest_svn = 0;
  uint64_t policy = 0;
  std::array<uint8_t, 16> family_id{};
  std::array<uint8_t, 16> image_id{};
  uint32_t vmpl = 0;
  uint32_t signature_algo = 0;
  SnpTcbVersion current_tcb;
  uint64_t platform_info = 0;
  uint32_t flags = 0;
  std::array<uint8_t, 64> report_data{};
  std::array<uint8_t, 48> measurement{};
  std::array<uint8_t, 32> host_data{};
  std::array<uint8_t, 48> id_key_digest{};
  std::array<uint8_t, 48> author_key_digest{};
  std::array<uint8_t, 32> report_id{};
  std::array<uint8_t, 32> report_id_ma{};
  SnpTcbVersion reported_tcb;
  std::array<uint8_t, 64> chip_id{};
  SnpTcbVersion committed_tcb;
  SnpTcbVersion launch_tcb;
  // Big-endian, as ECDSA_SIG_set0 wants them (converted from the report's little-endian).
  std::array<uint8_t, kSnpSignatureComponentSize> signature_r{};
  std::array<uint8_t, kSnpSignatureComponentSize> signature_s{};

  bool debug() const { return (policy & kSnpPolicyDebugBit) != 0; }
  bool chip_id_masked() const { return (flags & 0x2) != 0; }
  uint32_t signing_key() const { return (flags >> 2) & 0x7; }
};

// Parses exactly kSnpReportSize bytes; errors start with "snp-report-parse: ".
Result<SnpReport> ParseSnpReport(std::span<const uint8_t> bytes);

}  // namespace cove::attestation
