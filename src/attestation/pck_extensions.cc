// Parsing of the PCK certificate SGX extensions with a minimal DER reader. The extension is
//   SEQUENCE OF SEQUENCE { OID sgx.N, value }   where sgx = 1.2.840.113741.1.13.1 and
//   .1 PPID OCTET STRING(16) | .2 TCB SEQUENCE OF { OID .2.1-.2.16 INTEGER (component SVNs),
//   .2.17 INTEGER (PCESVN), .2.18 OCTET STRING(16) (CPUSVN) } | .3 PCE-ID OCTET STRING(2) |
//   .4 FMSPC OCTET STRING(6) | .5 SGX type ENUMERATED | .6/.7 platform-CA-only entries.
#include "attestation/pck_extensions.h"

#include <openssl/objects.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

namespace cove::attestation {
namespace {

constexpr uint8_t kTagInteger = 0x02;
constexpr uint8_t kTagOctetString = 0x04;
constexpr uint8_t kTagOid = 0x06;
constexpr uint8_t kTagEnumerated = 0x0a;
constexpr uint8_t kTagSequence = 0x30;
// DER body of OID 1.2.840.113741.1.13.1; the entries add one or two single-byte arcs.
constexpr uint8_t kSgxOidPrefix[] = {0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01};

Status Malformed(const std::string& what) {
  return InvalidArgument("pck-extensions: " + what);
}

struct Tlv {
  uint8_t tag = 0;
  std::span<const uint8_t> value;
};

// Reads one TLV after another from a span (definite lengths only, as DER requires).
class DerReader {
 public:
  explicit DerReader(std::span<const uint8_t> in) : in_(in) {}
  bool empty() const { return pos_ == in_.size(); }

  Result<Tlv> Next(std::string_view what) {
    if (in_.size() - pos_ < 2) return Malformed("truncated " + std::string(what));
    Tlv tlv;
    tlv.tag = in_[pos_++];
    size_t length = in_[pos_++];
    if (length & 0x80) {
      size_t count = length & 0x7f;
      if (count == 0 || count > 4 || in_.size() - pos_ < count) {
        return Malformed("bad length of " + std::string(what));
      }
      length = 0;
      for (size_t i = 0; i < count; ++i) length = (length << 8) | in_[pos_++];
    }
    if (in_.size() - pos_ < length) return Malformed("truncated " + std::string(what));
    tlv.value = in_.subspan(pos_, length);
    pos_ += length;
    return tlv;
  }
  Result<Tlv> Expect(uint8_t tag, std::string_view what) {
    COVE_ASSIGN_OR_RETURN(Tlv tlv, Next(what));
    if (tlv.tag != tag) return Malformed(std::string(what) + " has the wrong ASN.1 type");
    return tlv;
  }

 private:
  std::span<const uint8_t> in_;
  size_t pos_ = 0;
};

// The arcs after the SGX prefix ({} if the OID is not under it).
std::optional<std::span<const uint8_t>> SgxArcs(std::span<const uint8_t> oid) {
  if (oid.size() <= sizeof(kSgxOidPrefix) ||
      !std::equal(std::begin(kSgxOidPrefix), std::end(kSgxOidPrefix), oid.begin())) {
    return std::nullopt;
  }
  return oid.subspan(sizeof(kSgxOidPrefix));
}

Result<uint32_t> UnsignedInteger(const Tlv& tlv, uint32_t max, std::string_view what) {
  auto v = tlv.value;
  if (v.empty() || (v[0] & 0x80))
    return Malformed(std::string(what) + " is not a non-negative integer");
  while (v.size() > 1 && v[0] == 0) v = v.subspan(1);
  if (v.size() > 4) return Malformed(std::string(what) + " is too large");
  uint64_t value = 0;
  for (uint8_t b : v) value = (value << 8) | b;
  if (value > max) return Malformed(std::string(what) + " is too large");
  return static_cast<uint32_t>(value);
}

template <size_t N>
Status CopyOctets(const Tlv& tlv, std::array<uint8_t, N>& out, std::string_view what) {
  if (tlv.tag != kTagOctetString || tlv.value.size() != N) {
    return Malformed(std::string(what) + " must be an OCTET STRING of " + std::to_string(N) +
                     " bytes");
  }
  std::memcpy(out.data(), tlv.value.data(), N);
  return Status::Ok();
}

Status ParseTcb(std::span<const uint8_t> der, PckExtensions& out) {
  DerReader entries(der);
  uint32_t seen = 0;  // bit i: arc i+1 present
  while (!entries.empty()) {
    COVE_ASSIGN_OR_RETURN(Tlv entry, entries.Expect(kTagSequence, "TCB entry"));
    DerReader fields(entry.value);
    COVE_ASSIGN_OR_RETURN(Tlv oid, fields.Expect(kTagOid, "TCB entry OID"));
    COVE_ASSIGN_OR_RETURN(Tlv value, fields.Next("TCB entry value"));
    auto arcs = SgxArcs(oid.value);
    if (!arcs || arcs->size() != 2 || (*arcs)[0] != 2) continue;
    uint8_t arc = (*arcs)[1];
    if (arc >= 1 && arc <= 16) {
      if (value.tag != kTagInteger) return Malformed("TCB component SVN is not an INTEGER");
      COVE_ASSIGN_OR_RETURN(uint32_t svn, UnsignedInteger(value, 255, "TCB component SVN"));
      out.sgx_tcb_components[arc - 1] = static_cast<uint8_t>(svn);
    } else if (arc == 17) {
      if (value.tag != kTagInteger) return Malformed("PCESVN is not an INTEGER");
      COVE_ASSIGN_OR_RETURN(uint32_t svn, UnsignedInteger(value, 65535, "PCESVN"));
      out.pcesvn = static_cast<uint16_t>(svn);
    } else if (arc == 18) {
      COVE_RETURN_IF_ERROR(CopyOctets(value, out.cpusvn, "CPUSVN"));
    } else {
      continue;
    }
    seen |= 1u << (arc - 1);
  }
  if (seen != (1u << 18) - 1) return Malformed("TCB lacks some of its 18 entries");
  return Status::Ok();
}

}  // namespace

Result<PckExtensions> ParsePckExtensionsDer(std::span<const uint8_t> der) {
  DerReader outer(der);
  COVE_ASSIGN_OR_RETURN(Tlv top, outer.Expect(kTagSequence, "SGX extension"));
  DerReader entries(top.value);
  PckExtensions out;
  bool has_ppid = false, has_tcb = false, has_pceid = false, has_fmspc = false;
  while (!entries.empty()) {
    COVE_ASSIGN_OR_RETURN(Tlv entry, entries.Expect(kTagSequence, "SGX extension entry"));
    DerReader fields(entry.value);
    COVE_ASSIGN_OR_RETURN(Tlv oid, fields.Expect(kTagOid, "SGX extension OID"));
    COVE_ASSIGN_OR_RETURN(Tlv value, fields.Next("SGX extension value"));
    auto arcs = SgxArcs(oid.value);
    if (!arcs || arcs->size() != 1) continue;
    switch ((*arcs)[0]) {
      case 1:
        COVE_RETURN_IF_ERROR(CopyOctets(value, out.ppid, "PPID"));
        has_ppid = true;
        break;
      case 2:
        if (value.tag != kTagSequence) return Malformed("TCB is not a SEQUENCE");
        COVE_RETURN_IF_ERROR(ParseTcb(value.value, out));
        has_tcb = true;
        break;
      case 3:
        COVE_RETURN_IF_ERROR(CopyOctets(value, out.pceid, "PCE-ID"));
        has_pceid = true;
        break;
      case 4:
        COVE_RETURN_IF_ERROR(CopyOctets(value, out.fmspc, "FMSPC"));
        has_fmspc = true;
        break;
      case 5:
        if (value.tag != kTagEnumerated) return Malformed("SGX type is not ENUMERATED");
        break;
      default:
        break;
    }
  }
  if (!has_ppid || !has_tcb || !has_pceid || !has_fmspc) {
    return Malformed("missing PPID, TCB, PCE-ID or FMSPC");
  }
  return out;
}

Result<PckExtensions> ParsePckExtensions(X509* cert) {
  std::unique_ptr<ASN1_OBJECT, decltype(&ASN1_OBJECT_free)> oid(
      OBJ_txt2obj("1.2.840.113741.1.13.1", 1), &ASN1_OBJECT_free);
  if (!oid) return Internal("pck-extensions: cannot build the SGX extension OID");
  int index = X509_get_ext_by_OBJ(cert, oid.get(), -1);
  if (index < 0) return Malformed("the PCK certificate has no SGX extension");
  X509_EXTENSION* extension = X509_get_ext(cert, index);
  const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(extension);
  return ParsePckExtensionsDer(
      {ASN1_STRING_get0_data(data), static_cast<size_t>(ASN1_STRING_length(data))});
}

}  // namespace cove::attestation
