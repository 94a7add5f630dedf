// SEV-SNP verification over OpenSSL 3: X509_STORE with the pinned ARK as the only trust anchor
// for the VCEK -> ASK -> ARK chain (RSA-PSS), EVP ECDSA P-384 for the report signature, and the
// AMD VCEK extensions (OIDs 1.3.6.1.4.1.3704.1.*) for TCB and chip binding. No network, no files.
#include "attestation/snp_verifier.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "attestation/openssl_objects.h"
#include "attestation/snp_report.h"
#include "common/crypto.h"
#include "common/hex.h"

namespace cove::attestation {
namespace {

// Exactly one PEM certificate.
Result<X509Ptr> ParsePemCertificate(std::string_view pem) {
  COVE_ASSIGN_OR_RETURN(std::vector<X509Ptr> certs, ParsePemCertificates(pem));
  if (certs.size() != 1) {
    return InvalidArgument("expected one PEM certificate, found " + std::to_string(certs.size()));
  }
  return std::move(certs.front());
}

// DER, or PEM when the bytes start with "-----BEGIN".
Result<X509Ptr> ParseCertificate(std::span<const uint8_t> bytes) {
  constexpr std::string_view kPemStart = "-----BEGIN";
  std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && text.substr(first).starts_with(kPemStart)) {
    return ParsePemCertificate(text);
  }
  return ParseDerCertificate(bytes);
}

Result<Sha256Digest> CertificateFingerprint(X509* cert) {
  std::vector<uint8_t> der = CertificateDer(cert);
  if (der.empty()) return Internal("i2d_X509 failed");
  return Sha256(der);
}

// One product's roots, parsed, with the ARK checked against its pinned fingerprint.
struct ParsedProductRoots {
  std::string product;
  X509Ptr ark;
  X509Ptr ask;
  X509Ptr asvk;  // null when not built in
};

Result<ParsedProductRoots> ParseProductRoots(const SnpProductRoots& roots) {
  ParsedProductRoots parsed;
  parsed.product = roots.product;
  const std::string what = "snp-roots: " + parsed.product;
  COVE_ASSIGN_OR_RETURN(parsed.ark, ParsePemCertificate(roots.ark_pem));
  COVE_ASSIGN_OR_RETURN(Sha256Digest fingerprint, CertificateFingerprint(parsed.ark.get()));
  if (HexEncode(fingerprint) != roots.ark_sha256) {
    return Internal(what + " ARK fingerprint " + HexEncode(fingerprint) + " is not the pinned " +
                    std::string(roots.ark_sha256));
  }
  Result<X509Ptr> ask = ParsePemCertificate(roots.ask_pem);
  if (!ask.ok()) return ask.status().WithContext(what + " ASK");
  parsed.ask = std::move(ask).value();
  if (!roots.asvk_pem.empty()) {
    Result<X509Ptr> asvk = ParsePemCertificate(roots.asvk_pem);
    if (!asvk.ok()) return asvk.status().WithContext(what + " ASVK");
    parsed.asvk = std::move(asvk).value();
  }
  return parsed;
}

// Which intermediate issued the signing key: the VCEK's issuer name against each product's ASK
// (VCEK) and ASVK (VLEK) subject.
struct ChainChoice {
  const ParsedProductRoots* roots = nullptr;
  X509* intermediate = nullptr;
  bool is_vlek = false;
};

std::optional<ChainChoice> ChooseChain(X509* signing_cert,
                                       const std::vector<ParsedProductRoots>& all_roots) {
  X509_NAME* issuer = X509_get_issuer_name(signing_cert);
  for (const ParsedProductRoots& roots : all_roots) {
    if (X509_NAME_cmp(issuer, X509_get_subject_name(roots.ask.get())) == 0) {
      return ChainChoice{&roots, roots.ask.get(), false};
    }
    if (roots.asvk && X509_NAME_cmp(issuer, X509_get_subject_name(roots.asvk.get())) == 0) {
      return ChainChoice{&roots, roots.asvk.get(), true};
    }
  }
  return std::nullopt;
}

std::string NameText(X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_ONELINE) < 0) return "?";
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

// X509_verify_cert with the ARK as the only trust anchor and the intermediate as the only
// untrusted certificate, at time `at`. X509_STRICT stays off: VCEKs carry serial number 0.
Status VerifyChain(X509* signing_cert, const ChainChoice& choice, std::time_t at) {
  X509StorePtr store(X509_STORE_new());
  X509StackPtr untrusted(sk_X509_new_null());
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!store || !untrusted || !ctx) return Internal("snp-cert-chain: out of memory");
  if (X509_STORE_add_cert(store.get(), choice.roots->ark.get()) != 1 ||
      sk_X509_push(untrusted.get(), choice.intermediate) <= 0 ||
      X509_STORE_CTX_init(ctx.get(), store.get(), signing_cert, untrusted.get()) != 1) {
    return Internal("snp-cert-chain: " + TakeOpenSslError());
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, at);
  X509_VERIFY_PARAM_set_depth(param, 2);
  if (X509_verify_cert(ctx.get()) != 1) {
    int error = X509_STORE_CTX_get_error(ctx.get());
    int depth = X509_STORE_CTX_get_error_depth(ctx.get());
    static constexpr const char* kDepthNames[] = {"VCEK", "ASK", "ARK"};
    std::string where = depth >= 0 && depth <= 2 ? kDepthNames[depth] : std::to_string(depth);
    ERR_clear_error();
    return IntegrityError("snp-cert-chain: " + where + ": " + X509_verify_cert_error_string(error) +
                          " (" + choice.roots->product + " roots)");
  }
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx.get());
  if (chain == nullptr || sk_X509_num(chain) != 3 ||
      X509_cmp(sk_X509_value(chain, 2), choice.roots->ark.get()) != 0) {
    return IntegrityError("snp-cert-chain: chain does not end at the pinned " +
                          choice.roots->product + " ARK");
  }
  return Status::Ok();
}

Status VerifyReportSignature(const SnpReport& report, std::span<const uint8_t> bytes,
                             X509* signing_cert) {
  if (report.signature_algo != kSnpSignatureAlgoEcdsaP384Sha384) {
    return Unsupported("snp-signature: SIGNATURE_ALGO " + std::to_string(report.signature_algo) +
                       " (only 1, ECDSA P-384 with SHA-384, is defined)");
  }
  EVP_PKEY* key = X509_get0_pubkey(signing_cert);
  if (key == nullptr || !EVP_PKEY_is_a(key, "EC") || EVP_PKEY_get_bits(key) != 384) {
    return IntegrityError("snp-signature: the VCEK's key is not ECDSA P-384");
  }
  EcdsaSigPtr signature(ECDSA_SIG_new());
  BignumPtr r(BN_bin2bn(report.signature_r.data(), kSnpSignatureComponentSize, nullptr));
  BignumPtr s(BN_bin2bn(report.signature_s.data(), kSnpSignatureComponentSize, nullptr));
  if (!signature || !r || !s || ECDSA_SIG_set0(signature.get(), r.get(), s.get()) != 1) {
    return Internal("snp-signature: " + TakeOpenSslError());
  }
  r.release();  // owned by `signature` now
  s.release();
  int der_size = i2d_ECDSA_SIG(signature.get(), nullptr);
  if (der_size <= 0) return Internal("snp-signature: i2d_ECDSA_SIG failed");
  std::vector<unsigned char> der(static_cast<size_t>(der_size));
  unsigned char* der_cursor = der.data();
  i2d_ECDSA_SIG(signature.get(), &der_cursor);
  EvpMdCtxPtr md(EVP_MD_CTX_new());
  if (!md || EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha384(), nullptr, key) != 1) {
    return Internal("snp-signature: " + TakeOpenSslError());
  }
  int verdict = EVP_DigestVerify(md.get(), der.data(), der.size(), bytes.data(), kSnpSignedSize);
  ERR_clear_error();
  if (verdict != 1) {
    return IntegrityError("snp-signature: ECDSA P-384 verification of bytes 0x000-0x29F failed");
  }
  return Status::Ok();
}

// The value of the extension `oid`, or null when the certificate has none.
const ASN1_OCTET_STRING* FindExtensionValue(X509* cert, const char* oid) {
  AsnObjectPtr object(OBJ_txt2obj(oid, 1));
  if (!object) return nullptr;
  int index = X509_get_ext_by_OBJ(cert, object.get(), -1);
  return index < 0 ? nullptr : X509_EXTENSION_get_data(X509_get_ext(cert, index));
}

// A TCB component extension holds a DER INTEGER in 0..255.
Result<uint8_t> ReadSplExtension(X509* cert, const char* oid, std::string_view name) {
  const std::string what = "snp-vcek-parse: " + std::string(name) + " (" + oid + ")";
  const ASN1_OCTET_STRING* value = FindExtensionValue(cert, oid);
  if (value == nullptr) return InvalidArgument(what + " extension is missing");
  const unsigned char* cursor = ASN1_STRING_get0_data(value);
  const long size = ASN1_STRING_length(value);
  AsnIntegerPtr integer(d2i_ASN1_INTEGER(nullptr, &cursor, size));
  if (!integer || cursor != ASN1_STRING_get0_data(value) + size) {
    ERR_clear_error();
    return InvalidArgument(what + " is not a DER INTEGER");
  }
  int64_t number = 0;
  if (ASN1_INTEGER_get_int64(&number, integer.get()) != 1 || number < 0 || number > 255) {
    ERR_clear_error();
    return InvalidArgument(what + " is out of range");
  }
  return static_cast<uint8_t>(number);
}

Result<SnpTcbVersion> ReadCertifiedTcb(X509* cert) {
  SnpTcbVersion tcb;
  COVE_ASSIGN_OR_RETURN(tcb.bootloader, ReadSplExtension(cert, "1.3.6.1.4.1.3704.1.3.1", "blSPL"));
  COVE_ASSIGN_OR_RETURN(tcb.tee, ReadSplExtension(cert, "1.3.6.1.4.1.3704.1.3.2", "teeSPL"));
  COVE_ASSIGN_OR_RETURN(tcb.snp, ReadSplExtension(cert, "1.3.6.1.4.1.3704.1.3.3", "snpSPL"));
  COVE_ASSIGN_OR_RETURN(tcb.microcode,
                        ReadSplExtension(cert, "1.3.6.1.4.1.3704.1.3.8", "ucodeSPL"));
  return tcb;
}

// hwID: the 64-byte chip ID, raw in the extension value (as KDS issues it) or wrapped in an
// OCTET STRING.
Result<std::vector<uint8_t>> ReadHardwareId(X509* cert) {
  constexpr const char* kOid = "1.3.6.1.4.1.3704.1.4";
  const ASN1_OCTET_STRING* value = FindExtensionValue(cert, kOid);
  if (value == nullptr) {
    return InvalidArgument(std::string("snp-vcek-parse: hwID (") + kOid + ") extension is missing");
  }
  const unsigned char* data = ASN1_STRING_get0_data(value);
  const size_t size = static_cast<size_t>(ASN1_STRING_length(value));
  if (size == 64) return std::vector<uint8_t>(data, data + size);
  if (size == 66 && data[0] == 0x04 && data[1] == 64)
    return std::vector<uint8_t>(data + 2, data + 66);
  return InvalidArgument("snp-vcek-parse: hwID is " + std::to_string(size) + " bytes, expected 64");
}

std::string HexNumber(uint64_t value) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  do {
    text.insert(text.begin(), kDigits[value & 0xf]);
    value >>= 4;
  } while (value != 0);
  return text;
}

VerifiedEvidence DescribeReport(const SnpReport& report, const ChainChoice& choice) {
  VerifiedEvidence evidence;
  evidence.kind = EvidenceKind::kSnp;
  evidence.tcb_status = TcbStatus::kUpToDate;
  evidence.debug = report.debug();
  evidence.report_data.assign(report.report_data.begin(), report.report_data.end());
  auto& m = evidence.measurements;
  m["measurement"] = HexEncode(report.measurement);
  m["host_data"] = HexEncode(report.host_data);
  m["policy"] = HexNumber(report.policy);
  m["chip_id"] = HexEncode(report.chip_id);
  m["reported_tcb"] = HexNumber(report.reported_tcb.raw);
  m["report_id"] = HexEncode(report.report_id);
  m["family_id"] = HexEncode(report.family_id);
  m["image_id"] = HexEncode(report.image_id);
  m["guest_svn"] = HexNumber(report.guest_svn);
  m["vmpl"] = HexNumber(report.vmpl);
  auto& d = evidence.details;
  d["product"] = choice.roots->product;
  d["signing_key"] = choice.is_vlek ? "VLEK" : "VCEK";
  d["report_version"] = std::to_string(report.version);
  d["reported_tcb"] = report.reported_tcb.ToString();
  d["current_tcb"] = report.current_tcb.ToString();
  d["committed_tcb"] = report.committed_tcb.ToString();
  d["launch_tcb"] = report.launch_tcb.ToString();
  d["platform_info"] = HexNumber(report.platform_info);
  d["id_key_digest"] = HexEncode(report.id_key_digest);
  d["author_key_digest"] = HexEncode(report.author_key_digest);
  if (report.chip_id_masked()) d["chip_id_check"] = "skipped: MASK_CHIP_ID is set";
  return evidence;
}

Result<std::vector<ParsedProductRoots>> ParseAllRoots(std::span<const SnpProductRoots> roots) {
  std::vector<ParsedProductRoots> parsed;
  for (const SnpProductRoots& product : roots) {
    COVE_ASSIGN_OR_RETURN(ParsedProductRoots one, ParseProductRoots(product));
    parsed.push_back(std::move(one));
  }
  return parsed;
}

Result<VerifiedEvidence> VerifyWithParsedRoots(std::span<const uint8_t> bytes,
                                               std::span<const uint8_t> vcek_bytes, std::time_t at,
                                               const std::vector<ParsedProductRoots>& roots) {
  COVE_ASSIGN_OR_RETURN(SnpReport report, ParseSnpReport(bytes));
  Result<X509Ptr> parsed_vcek = ParseCertificate(vcek_bytes);
  if (!parsed_vcek.ok()) return parsed_vcek.status().WithContext("snp-vcek-parse");
  X509* vcek = parsed_vcek->get();

  std::optional<ChainChoice> choice = ChooseChain(vcek, roots);
  if (!choice) {
    return IntegrityError("snp-cert-chain: the VCEK's issuer (" +
                          NameText(X509_get_issuer_name(vcek)) +
                          ") is none of the pinned AMD ASK/ASVK certificates");
  }
  COVE_RETURN_IF_ERROR(VerifyChain(vcek, *choice, at));

  const uint32_t expected_key = choice->is_vlek ? kSnpSigningKeyVlek : kSnpSigningKeyVcek;
  if (report.signing_key() != expected_key) {
    return IntegrityError("snp-signature: the report names signing key " +
                          std::to_string(report.signing_key()) + " but a " +
                          (choice->is_vlek ? "VLEK" : "VCEK") + " was given");
  }
  COVE_RETURN_IF_ERROR(VerifyReportSignature(report, bytes, vcek));

  COVE_ASSIGN_OR_RETURN(SnpTcbVersion certified, ReadCertifiedTcb(vcek));
  if (!certified.SameComponents(report.reported_tcb)) {
    return IntegrityError("snp-tcb-mismatch: the VCEK certifies " + certified.ToString() +
                          " but REPORTED_TCB is " + report.reported_tcb.ToString());
  }
  if (!choice->is_vlek && !report.chip_id_masked()) {
    COVE_ASSIGN_OR_RETURN(std::vector<uint8_t> hardware_id, ReadHardwareId(vcek));
    if (!std::equal(hardware_id.begin(), hardware_id.end(), report.chip_id.begin(),
                    report.chip_id.end())) {
      return IntegrityError("snp-chip-id-mismatch: the VCEK's hwID " + HexEncode(hardware_id) +
                            " is not the report's CHIP_ID " + HexEncode(report.chip_id));
    }
  }
  return DescribeReport(report, *choice);
}

class SnpEvidenceVerifier final : public EvidenceVerifier {
 public:
  EvidenceKind kind() const override { return EvidenceKind::kSnp; }
  Result<VerifiedEvidence> Verify(std::span<const uint8_t> evidence,
                                  const VerificationInputs& inputs) const override {
    // Parsed once per process; the X509 objects are only read afterwards.
    static const Result<std::vector<ParsedProductRoots>> builtin = ParseAllRoots(SnpBuiltinRoots());
    if (!builtin.ok()) return builtin.status();
    if (!inputs.vcek) {
      return InvalidArgument("snp-vcek-parse: no VCEK or VLEK certificate given");
    }
    return VerifyWithParsedRoots(evidence, *inputs.vcek, inputs.at, builtin.value());
  }
};

}  // namespace

Result<VerifiedEvidence> VerifySnpReport(std::span<const uint8_t> report,
                                         std::span<const uint8_t> vcek, std::time_t at,
                                         std::span<const SnpProductRoots> roots) {
  COVE_ASSIGN_OR_RETURN(std::vector<ParsedProductRoots> parsed, ParseAllRoots(roots));
  return VerifyWithParsedRoots(report, vcek, at, parsed);
}

const EvidenceVerifier& SnpVerifier() {
  static const SnpEvidenceVerifier verifier;
  return verifier;
}

}  // namespace cove::attestation
