// Bounds-checked parser of Intel DCAP ECDSA quotes: SGX quote v3, SGX/TDX quote v4 and quote v5
// (SGX, TD 1.0 and TD 1.5 bodies). It checks only the layout; the signatures are checked by
// dcap_verifier.cc. Byte layout (little-endian), after Intel's "DCAP Quote Library API":
//
//   header (48)      version u16 | att_key_type u16 (2 = ECDSA P-256) | tee_type u32 (0 SGX,
//                    0x81 TDX; reserved in v3) | qe_svn u16 | pce_svn u16 | qe_vendor_id[16] |
//                    user_data[20]
//   v5 only (6)      body_type u16 (1 SGX, 2 TD 1.0, 3 TD 1.5) | body_size u32
//   body             SGX report body (384) or TD report body (584; TD 1.5: 648)
//   sig_data_len u32, then signature data of that length:
//     quote_signature[64] (r||s over header..body) | attestation_key[64] (X||Y)
//     v3:    qe_report[384] | qe_report_signature[64] | qe_auth_size u16 | qe_auth_data |
//            cert_type u16 (5) | cert_size u32 | PCK chain PEM
//     v4/v5: cert_type u16 (6) | cert_size u32 | { the v3 tail from qe_report on }
//   trailing bytes after the signature data must be zero padding.
//
// A parsed quote holds spans into the caller's buffer, which must outlive it.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "common/status.h"

namespace cove::attestation {

inline constexpr size_t kQuoteHeaderSize = 48;
inline constexpr size_t kSgxReportBodySize = 384;
inline constexpr size_t kTd10ReportBodySize = 584;
inline constexpr size_t kTd15ReportBodySize = 648;
inline constexpr uint16_t kAttestationKeyEcdsaP256 = 2;
inline constexpr uint32_t kTeeTypeSgx = 0x00;
inline constexpr uint32_t kTeeTypeTdx = 0x81;
inline constexpr uint16_t kCertDataPckChain = 5;
inline constexpr uint16_t kCertDataQeReport = 6;
// Intel's QE vendor ID 939A7233-F79C-4CA9-940A-0DB3957F0607.
inline constexpr std::array<uint8_t, 16> kIntelQeVendorId = {
    0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9, 0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};

// The SGX REPORT body (enclave or QE): offsets in the comments are within the body.
struct SgxReportBody {
  std::span<const uint8_t> raw;           // all 384 bytes (what the QE report signature covers)
  std::array<uint8_t, 16> cpusvn{};       // @0
  uint32_t miscselect = 0;                // @16
  std::array<uint8_t, 16> attributes{};   // @48; DEBUG is bit 1 of byte 0
  std::array<uint8_t, 32> mrenclave{};    // @64
  std::array<uint8_t, 32> mrsigner{};     // @128
  uint16_t isvprodid = 0;                 // @256
  uint16_t isvsvn = 0;                    // @258
  std::array<uint8_t, 64> report_data{};  // @320
  bool debug() const { return (attributes[0] & 0x02) != 0; }
};

// The TD report body of TDX quotes (TD 1.0; TD 1.5 adds the last two fields).
struct TdReportBody {
  std::array<uint8_t, 16> tee_tcb_svn{};     // @0: [0] TDX module SVN, [1] module major version
  std::array<uint8_t, 48> mrseam{};          // @16
  std::array<uint8_t, 48> mrsignerseam{};    // @64
  std::array<uint8_t, 8> seam_attributes{};  // @112
  std::array<uint8_t, 8> td_attributes{};    // @120; DEBUG is bit 0 of byte 0
  std::array<uint8_t, 8> xfam{};             // @128
  std::array<uint8_t, 48> mrtd{};            // @136
  std::array<uint8_t, 48> mrconfigid{};      // @184
  std::array<uint8_t, 48> mrowner{};         // @232
  std::array<uint8_t, 48> mrownerconfig{};   // @280
  std::array<std::array<uint8_t, 48>, 4> rtmr{};  // @328, 376, 424, 472
  std::array<uint8_t, 64> report_data{};          // @520
  bool td15 = false;
  std::array<uint8_t, 16> tee_tcb_svn2{};  // @584 (TD 1.5)
  std::array<uint8_t, 48> mrservicetd{};   // @600 (TD 1.5)
  bool debug() const { return (td_attributes[0] & 0x01) != 0; }
};

struct DcapQuote {
  uint16_t version = 0;
  uint32_t tee_type = 0;
  uint16_t qe_svn = 0;
  uint16_t pce_svn = 0;
  std::optional<SgxReportBody> sgx_body;  // exactly one of the two bodies is set
  std::optional<TdReportBody> td_body;
  std::span<const uint8_t> signed_region;    // header (and v5 descriptor) and body
  std::span<const uint8_t> quote_signature;  // 64 bytes r||s
  std::span<const uint8_t> attestation_key;  // 64 bytes X||Y
  SgxReportBody qe_report;
  std::span<const uint8_t> qe_report_signature;  // 64 bytes r||s, by the PCK key
  std::span<const uint8_t> qe_auth_data;
  std::span<const uint8_t> pck_chain_pem;  // leaf, intermediate CA, root (may end in NULs)
};

// Parses `quote`; an error reads "quote-parse: <what> (at byte N)".
Result<DcapQuote> ParseDcapQuote(std::span<const uint8_t> quote);

}  // namespace cove::attestation
