// RAII owners for the OpenSSL objects the evidence verifiers handle (certificates, CRLs, stores,
// keys, signatures, BIOs, big numbers), plus the conversions they share: PEM chains, DER
// certificates and CRLs, ASN.1 times and P-256 signatures given as raw r||s. Nothing here knows
// about quotes, reports or collateral.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <cstdint>
#include <ctime>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace cove::attestation {

template <auto Free>
struct OpenSslDeleter {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
using X509Ptr = std::unique_ptr<X509, OpenSslDeleter<X509_free>>;
using X509CrlPtr = std::unique_ptr<X509_CRL, OpenSslDeleter<X509_CRL_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, OpenSslDeleter<X509_STORE_free>>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, OpenSslDeleter<X509_STORE_CTX_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslDeleter<EVP_PKEY_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, OpenSslDeleter<EVP_MD_CTX_free>>;
using BioPtr = std::unique_ptr<BIO, OpenSslDeleter<BIO_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, OpenSslDeleter<BN_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, OpenSslDeleter<ECDSA_SIG_free>>;
using AsnObjectPtr = std::unique_ptr<ASN1_OBJECT, OpenSslDeleter<ASN1_OBJECT_free>>;
using AsnIntegerPtr = std::unique_ptr<ASN1_INTEGER, OpenSslDeleter<ASN1_INTEGER_free>>;
struct X509StackDeleter {
  void operator()(STACK_OF(X509) * stack) const { sk_X509_free(stack); }
};
using X509StackPtr = std::unique_ptr<STACK_OF(X509), X509StackDeleter>;

// Shared, immutable certificate (X509 is reference counted; copies bump the count).
X509Ptr ShareCertificate(X509* cert);

// Every certificate of a PEM text, in order; fails if there is none or any block is malformed.
Result<std::vector<X509Ptr>> ParsePemCertificates(std::string_view pem);
Result<X509Ptr> ParseDerCertificate(std::span<const uint8_t> der);
Result<X509CrlPtr> ParseDerCrl(std::span<const uint8_t> der);
std::vector<uint8_t> CertificateDer(const X509* cert);

// ASN.1 UTCTime/GeneralizedTime as seconds since the epoch.
Result<std::time_t> Asn1TimeToEpoch(const ASN1_TIME* time);

// An uncompressed P-256 public key from its 64-byte X||Y encoding (as in DCAP quotes).
Result<EvpPkeyPtr> P256KeyFromRaw(std::span<const uint8_t> xy);
// Verifies an ECDSA-SHA256 signature given as 64 bytes r||s (big-endian) over `message`.
// Returns false for any failure, including a malformed key or signature.
bool VerifyEcdsaP256RawSignature(EVP_PKEY* key, std::span<const uint8_t> message,
                                 std::span<const uint8_t> r_s);

// The first OpenSSL error queued on this thread, as text (and clears the queue).
std::string TakeOpenSslError();

}  // namespace cove::attestation
