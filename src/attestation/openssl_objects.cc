// OpenSSL glue shared by the evidence verifiers: PEM/DER parsing, times and raw r||s ECDSA.
#include "attestation/openssl_objects.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <array>
#include <climits>

namespace cove::attestation {
namespace {
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, OpenSslDeleter<EVP_PKEY_CTX_free>>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, OpenSslDeleter<OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, OpenSslDeleter<OSSL_PARAM_free>>;
}  // namespace

X509Ptr ShareCertificate(X509* cert) {
  X509_up_ref(cert);
  return X509Ptr(cert);
}

std::string TakeOpenSslError() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  std::array<char, 256> text{};
  ERR_error_string_n(code, text.data(), text.size());
  return text.data();
}

Result<std::vector<X509Ptr>> ParsePemCertificates(std::string_view pem) {
  if (pem.size() > INT_MAX) return InvalidArgument("PEM text too large");
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Internal("BIO_new_mem_buf failed");
  std::vector<X509Ptr> certs;
  while (true) {
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) break;
    certs.push_back(std::move(cert));
  }
  // The loop ends on "no start line" once the text is consumed; anything else is a bad block.
  unsigned long err = ERR_peek_last_error();
  bool clean_end = ERR_GET_REASON(err) == PEM_R_NO_START_LINE;
  if (!clean_end && err != 0) {
    return InvalidArgument("malformed PEM certificate #" + std::to_string(certs.size() + 1) + ": " +
                           TakeOpenSslError());
  }
  ERR_clear_error();
  if (certs.empty()) return InvalidArgument("no PEM certificate found");
  return certs;
}

Result<X509Ptr> ParseDerCertificate(std::span<const uint8_t> der) {
  const unsigned char* p = der.data();
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert || p != der.data() + der.size()) {
    ERR_clear_error();
    return InvalidArgument("malformed DER certificate");
  }
  return cert;
}

Result<X509CrlPtr> ParseDerCrl(std::span<const uint8_t> der) {
  const unsigned char* p = der.data();
  X509CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
  if (!crl || p != der.data() + der.size()) {
    ERR_clear_error();
    return InvalidArgument("malformed DER CRL");
  }
  return crl;
}

std::vector<uint8_t> CertificateDer(const X509* cert) {
  int size = i2d_X509(cert, nullptr);
  if (size <= 0) return {};
  std::vector<uint8_t> der(static_cast<size_t>(size));
  unsigned char* p = der.data();
  i2d_X509(cert, &p);
  return der;
}

Result<std::time_t> Asn1TimeToEpoch(const ASN1_TIME* time) {
  struct tm tm {};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) {
    ERR_clear_error();
    return InvalidArgument("malformed ASN.1 time");
  }
  return timegm(&tm);
}

Result<EvpPkeyPtr> P256KeyFromRaw(std::span<const uint8_t> xy) {
  if (xy.size() != 64) return InvalidArgument("P-256 key must be 64 bytes");
  std::array<uint8_t, 65> point{};
  point[0] = 0x04;  // uncompressed
  std::copy(xy.begin(), xy.end(), point.begin() + 1);
  ParamBldPtr builder(OSSL_PARAM_BLD_new());
  if (!builder ||
      !OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1",
                                       0) ||
      !OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                        point.size())) {
    return Internal("OSSL_PARAM_BLD failed");
  }
  ParamPtr params(OSSL_PARAM_BLD_to_param(builder.get()));
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* key = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    ERR_clear_error();
    return InvalidArgument("not a valid P-256 point");
  }
  EvpPkeyPtr owned(key);
  // fromdata does not always check that the point lies on the curve; do it explicitly.
  EvpPkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    ERR_clear_error();
    return InvalidArgument("not a valid P-256 point");
  }
  return owned;
}

bool VerifyEcdsaP256RawSignature(EVP_PKEY* key, std::span<const uint8_t> message,
                                 std::span<const uint8_t> r_s) {
  if (key == nullptr || r_s.size() != 64) return false;
  EcdsaSigPtr sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(r_s.data(), 32, nullptr);
  BIGNUM* s = BN_bin2bn(r_s.data() + 32, 32, nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return false;
  }
  unsigned char* der = nullptr;
  int der_size = i2d_ECDSA_SIG(sig.get(), &der);
  if (der_size <= 0) return false;
  struct OpenSslFree {
    void operator()(unsigned char* p) const { OPENSSL_free(p); }
  };
  std::unique_ptr<unsigned char, OpenSslFree> der_owner(der);
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  bool ok = ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
            EVP_DigestVerify(ctx.get(), der, static_cast<size_t>(der_size), message.data(),
                             message.size()) == 1;
  ERR_clear_error();
  return ok;
}

}  // namespace cove::attestation
