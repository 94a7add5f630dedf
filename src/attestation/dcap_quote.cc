// Bounds-checked parsing of DCAP quotes v3/v4/v5; the layout is documented in dcap_quote.h.
#include "attestation/dcap_quote.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>

namespace cove::attestation {
namespace {

// Reads consecutive little-endian fields of a span; every failure names the field.
class QuoteReader {
 public:
  QuoteReader(std::span<const uint8_t> in, size_t base) : in_(in), base_(base) {}

  Result<std::span<const uint8_t>> View(size_t n, std::string_view field) {
    if (in_.size() - pos_ < n) return Error("truncated at " + std::string(field));
    auto view = in_.subspan(pos_, n);
    pos_ += n;
    return view;
  }
  Result<uint16_t> U16(std::string_view field) {
    COVE_ASSIGN_OR_RETURN(auto b, View(2, field));
    return static_cast<uint16_t>(b[0] | (b[1] << 8));
  }
  Result<uint32_t> U32(std::string_view field) {
    COVE_ASSIGN_OR_RETURN(auto b, View(4, field));
    return static_cast<uint32_t>(b[0]) | (static_cast<uint32_t>(b[1]) << 8) |
           (static_cast<uint32_t>(b[2]) << 16) | (static_cast<uint32_t>(b[3]) << 24);
  }
  size_t position() const { return pos_; }
  std::span<const uint8_t> rest() const { return in_.subspan(pos_); }
  Status Error(const std::string& what) const {
    return DataLoss("quote-parse: " + what + " (at byte " + std::to_string(base_ + pos_) + ")");
  }

 private:
  std::span<const uint8_t> in_;
  size_t base_;  // offset of in_ within the whole quote, for messages
  size_t pos_ = 0;
};

template <size_t N>
std::array<uint8_t, N> Copy(std::span<const uint8_t> body, size_t offset) {
  std::array<uint8_t, N> out;
  std::memcpy(out.data(), body.data() + offset, N);
  return out;
}
uint16_t Le16(std::span<const uint8_t> b, size_t at) {
  return static_cast<uint16_t>(b[at] | (b[at + 1] << 8));
}
uint32_t Le32(std::span<const uint8_t> b, size_t at) {
  return static_cast<uint32_t>(b[at]) | (static_cast<uint32_t>(b[at + 1]) << 8) |
         (static_cast<uint32_t>(b[at + 2]) << 16) | (static_cast<uint32_t>(b[at + 3]) << 24);
}

SgxReportBody DecodeSgxReportBody(std::span<const uint8_t> body) {
  SgxReportBody r;
  r.raw = body;
  r.cpusvn = Copy<16>(body, 0);
  r.miscselect = Le32(body, 16);
  r.attributes = Copy<16>(body, 48);
  r.mrenclave = Copy<32>(body, 64);
  r.mrsigner = Copy<32>(body, 128);
  r.isvprodid = Le16(body, 256);
  r.isvsvn = Le16(body, 258);
  r.report_data = Copy<64>(body, 320);
  return r;
}

TdReportBody DecodeTdReportBody(std::span<const uint8_t> body) {
  TdReportBody r;
  r.tee_tcb_svn = Copy<16>(body, 0);
  r.mrseam = Copy<48>(body, 16);
  r.mrsignerseam = Copy<48>(body, 64);
  r.seam_attributes = Copy<8>(body, 112);
  r.td_attributes = Copy<8>(body, 120);
  r.xfam = Copy<8>(body, 128);
  r.mrtd = Copy<48>(body, 136);
  r.mrconfigid = Copy<48>(body, 184);
  r.mrowner = Copy<48>(body, 232);
  r.mrownerconfig = Copy<48>(body, 280);
  for (size_t i = 0; i < 4; ++i) r.rtmr[i] = Copy<48>(body, 328 + 48 * i);
  r.report_data = Copy<64>(body, 520);
  if (body.size() == kTd15ReportBodySize) {
    r.td15 = true;
    r.tee_tcb_svn2 = Copy<16>(body, 584);
    r.mrservicetd = Copy<48>(body, 600);
  }
  return r;
}

// The part shared by v3 signature data and v4/v5 certification data type 6.
Status ParseQeReportAndChain(QuoteReader& reader, DcapQuote& quote) {
  COVE_ASSIGN_OR_RETURN(auto qe_report, reader.View(kSgxReportBodySize, "QE report"));
  quote.qe_report = DecodeSgxReportBody(qe_report);
  COVE_ASSIGN_OR_RETURN(quote.qe_report_signature, reader.View(64, "QE report signature"));
  COVE_ASSIGN_OR_RETURN(uint16_t auth_size, reader.U16("QE auth data size"));
  COVE_ASSIGN_OR_RETURN(quote.qe_auth_data, reader.View(auth_size, "QE auth data"));
  COVE_ASSIGN_OR_RETURN(uint16_t cert_type, reader.U16("certification data type"));
  if (cert_type != kCertDataPckChain) {
    return reader.Error("certification data type " + std::to_string(cert_type) +
                        " is not 5 (PCK certificate chain)");
  }
  COVE_ASSIGN_OR_RETURN(uint32_t cert_size, reader.U32("certification data size"));
  COVE_ASSIGN_OR_RETURN(quote.pck_chain_pem, reader.View(cert_size, "PCK certificate chain"));
  return Status::Ok();
}

}  // namespace

Result<DcapQuote> ParseDcapQuote(std::span<const uint8_t> bytes) {
  QuoteReader reader(bytes, 0);
  DcapQuote quote;
  COVE_ASSIGN_OR_RETURN(quote.version, reader.U16("version"));
  if (quote.version < 3 || quote.version > 5) {
    return reader.Error("unsupported quote version " + std::to_string(quote.version));
  }
  COVE_ASSIGN_OR_RETURN(uint16_t key_type, reader.U16("attestation key type"));
  if (key_type != kAttestationKeyEcdsaP256) {
    return reader.Error("attestation key type " + std::to_string(key_type) +
                        " is not 2 (ECDSA P-256)");
  }
  COVE_ASSIGN_OR_RETURN(quote.tee_type, reader.U32("TEE type"));
  if (quote.tee_type != kTeeTypeSgx && quote.tee_type != kTeeTypeTdx) {
    return reader.Error("unknown TEE type " + std::to_string(quote.tee_type));
  }
  if (quote.version == 3 && quote.tee_type != kTeeTypeSgx) {
    return reader.Error("quote v3 must be an SGX quote");
  }
  COVE_ASSIGN_OR_RETURN(quote.qe_svn, reader.U16("QE SVN"));
  COVE_ASSIGN_OR_RETURN(quote.pce_svn, reader.U16("PCE SVN"));
  COVE_ASSIGN_OR_RETURN(auto vendor, reader.View(16, "QE vendor ID"));
  if (!std::equal(vendor.begin(), vendor.end(), kIntelQeVendorId.begin())) {
    return reader.Error("QE vendor ID is not Intel's");
  }
  COVE_RETURN_IF_ERROR(reader.View(20, "user data").status());

  size_t body_size = quote.tee_type == kTeeTypeSgx ? kSgxReportBodySize : kTd10ReportBodySize;
  if (quote.version == 5) {
    COVE_ASSIGN_OR_RETURN(uint16_t body_type, reader.U16("body type"));
    COVE_ASSIGN_OR_RETURN(uint32_t declared_size, reader.U32("body size"));
    switch (body_type) {
      case 1:
        body_size = kSgxReportBodySize;
        break;
      case 2:
        body_size = kTd10ReportBodySize;
        break;
      case 3:
        body_size = kTd15ReportBodySize;
        break;
      default:
        return reader.Error("unknown body type " + std::to_string(body_type));
    }
    if ((body_type == 1) != (quote.tee_type == kTeeTypeSgx) || declared_size != body_size) {
      return reader.Error("body type " + std::to_string(body_type) + " of size " +
                          std::to_string(declared_size) + " does not fit TEE type " +
                          std::to_string(quote.tee_type));
    }
  }
  COVE_ASSIGN_OR_RETURN(auto body, reader.View(body_size, "report body"));
  if (quote.tee_type == kTeeTypeSgx) {
    quote.sgx_body = DecodeSgxReportBody(body);
  } else {
    quote.td_body = DecodeTdReportBody(body);
  }
  quote.signed_region = bytes.first(reader.position());

  COVE_ASSIGN_OR_RETURN(uint32_t sig_size, reader.U32("signature data size"));
  size_t sig_start = reader.position();
  COVE_ASSIGN_OR_RETURN(auto sig_data, reader.View(sig_size, "signature data"));
  for (uint8_t b : reader.rest()) {
    if (b != 0) return reader.Error("non-zero bytes after the signature data");
  }

  QuoteReader sig(sig_data, sig_start);
  COVE_ASSIGN_OR_RETURN(quote.quote_signature, sig.View(64, "quote signature"));
  COVE_ASSIGN_OR_RETURN(quote.attestation_key, sig.View(64, "attestation key"));
  if (quote.version == 3) {
    COVE_RETURN_IF_ERROR(ParseQeReportAndChain(sig, quote));
    return quote;
  }
  COVE_ASSIGN_OR_RETURN(uint16_t cert_type, sig.U16("certification data type"));
  if (cert_type != kCertDataQeReport) {
    return sig.Error("certification data type " + std::to_string(cert_type) +
                     " is not 6 (QE report certification data)");
  }
  COVE_ASSIGN_OR_RETURN(uint32_t cert_size, sig.U32("certification data size"));
  size_t inner_start = sig_start + sig.position();
  COVE_ASSIGN_OR_RETURN(auto inner, sig.View(cert_size, "QE report certification data"));
  QuoteReader qe(inner, inner_start);
  COVE_RETURN_IF_ERROR(ParseQeReportAndChain(qe, quote));
  return quote;
}

}  // namespace cove::attestation
