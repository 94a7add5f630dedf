// OpenSSL EVP glue for the primitives in crypto.h.
#include "common/crypto.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include <climits>
#include <string>

namespace cove {
namespace {

Status OpenSslError(const std::string& what) {
  unsigned long err = ERR_get_error();
  char text[256] = "unknown error";
  if (err != 0) ERR_error_string_n(err, text, sizeof(text));
  ERR_clear_error();
  return Internal(what + ": " + text);
}

// OpenSSL 3 looks an algorithm up by name (an "implicit fetch") on every init through the
// legacy EVP_aes_256_gcm()/EVP_sha256() accessors; fetching once per process removes that cost
// from every file open and every tag-block digest. The objects live as long as the process.
const EVP_CIPHER* Aes256Gcm() {
  static EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return cipher != nullptr ? cipher : EVP_aes_256_gcm();
}
const EVP_MD* Sha256Md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md != nullptr ? md : EVP_sha256();
}
EVP_KDF* HkdfKdf() {
  static EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  return kdf;
}

}  // namespace

Status RandomBytes(std::span<uint8_t> out) {
  if (out.size() > INT_MAX) return InvalidArgument("RandomBytes: request too large");
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    return OpenSslError("RAND_bytes");
  }
  return Status::Ok();
}

Result<SecretBytes> RandomKey(size_t size) {
  SecretBytes key(size);
  COVE_RETURN_IF_ERROR(RandomBytes(key.mutable_span()));
  return key;
}

Sha256Digest Sha256(std::span<const uint8_t> data) {
  Sha256Digest digest{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest.data(), &len, Sha256Md(), nullptr);
  return digest;
}

Sha256Hasher::Sha256Hasher() : ctx_(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(ctx_, Sha256Md(), nullptr);
}
Sha256Hasher::~Sha256Hasher() {
  EVP_MD_CTX_free(ctx_);
}
void Sha256Hasher::Update(std::span<const uint8_t> data) {
  EVP_DigestUpdate(ctx_, data.data(), data.size());
}
Sha256Digest Sha256Hasher::Finish() {
  Sha256Digest digest{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_, digest.data(), &len);
  return digest;
}

Result<SecretBytes> HkdfSha256(const SecretBytes& key, std::string_view info, size_t size,
                               std::span<const uint8_t> salt) {
  EVP_KDF* kdf = HkdfKdf();
  if (kdf == nullptr) return OpenSslError("HKDF fetch");
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  if (ctx == nullptr) return OpenSslError("HKDF context");
  char digest_name[] = "SHA256";
  OSSL_PARAM params[5];
  int n = 0;
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest_name, 0);
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                                  const_cast<uint8_t*>(key.data()), key.size());
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                                  const_cast<char*>(info.data()), info.size());
  if (!salt.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                                    const_cast<uint8_t*>(salt.data()), salt.size());
  }
  params[n] = OSSL_PARAM_construct_end();
  SecretBytes out(size);
  int rc = EVP_KDF_derive(ctx, out.data(), out.size(), params);
  EVP_KDF_CTX_free(ctx);
  if (rc != 1) return OpenSslError("HKDF derive");
  return out;
}

Result<std::unique_ptr<AesGcm>> AesGcm::Create(const SecretBytes& key) {
  if (key.size() != kAes256KeySize) {
    return InvalidArgument("AES-256-GCM key must be 32 bytes, got " + std::to_string(key.size()));
  }
  EVP_CIPHER_CTX* enc = EVP_CIPHER_CTX_new();
  EVP_CIPHER_CTX* dec = EVP_CIPHER_CTX_new();
  std::unique_ptr<AesGcm> gcm(new AesGcm(enc, dec));
  if (enc == nullptr || dec == nullptr ||
      EVP_EncryptInit_ex(enc, Aes256Gcm(), nullptr, key.data(), nullptr) != 1 ||
      EVP_DecryptInit_ex(dec, Aes256Gcm(), nullptr, key.data(), nullptr) != 1) {
    return OpenSslError("AES-256-GCM init");
  }
  return gcm;
}

Result<std::unique_ptr<AesGcm>> AesGcm::Clone() const {
  EVP_CIPHER_CTX* enc = EVP_CIPHER_CTX_new();
  EVP_CIPHER_CTX* dec = EVP_CIPHER_CTX_new();
  std::unique_ptr<AesGcm> gcm(new AesGcm(enc, dec));
  if (enc == nullptr || dec == nullptr || EVP_CIPHER_CTX_copy(enc, enc_) != 1 ||
      EVP_CIPHER_CTX_copy(dec, dec_) != 1) {
    return OpenSslError("AES-256-GCM clone");
  }
  return gcm;
}

AesGcm::~AesGcm() {
  EVP_CIPHER_CTX_free(enc_);  // frees (and cleanses) the key schedule
  EVP_CIPHER_CTX_free(dec_);
}

Status AesGcm::Seal(const GcmNonce& nonce, std::span<const uint8_t> aad,
                    std::span<const uint8_t> plaintext, uint8_t* ciphertext, GcmTag& tag) {
  int len = 0;
  if (EVP_EncryptInit_ex(enc_, nullptr, nullptr, nullptr, nonce.data()) != 1 ||
      (!aad.empty() &&
       EVP_EncryptUpdate(enc_, nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) ||
      (!plaintext.empty() && EVP_EncryptUpdate(enc_, ciphertext, &len, plaintext.data(),
                                               static_cast<int>(plaintext.size())) != 1) ||
      EVP_EncryptFinal_ex(enc_, ciphertext + plaintext.size(), &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(enc_, EVP_CTRL_GCM_GET_TAG, kGcmTagSize, tag.data()) != 1) {
    return OpenSslError("AES-GCM seal");
  }
  return Status::Ok();
}

Status AesGcm::Open(const GcmNonce& nonce, std::span<const uint8_t> aad,
                    std::span<const uint8_t> ciphertext, const GcmTag& tag, uint8_t* plaintext) {
  int len = 0;
  if (EVP_DecryptInit_ex(dec_, nullptr, nullptr, nullptr, nonce.data()) != 1 ||
      (!aad.empty() &&
       EVP_DecryptUpdate(dec_, nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) ||
      (!ciphertext.empty() && EVP_DecryptUpdate(dec_, plaintext, &len, ciphertext.data(),
                                                static_cast<int>(ciphertext.size())) != 1) ||
      EVP_CIPHER_CTX_ctrl(dec_, EVP_CTRL_GCM_SET_TAG, kGcmTagSize,
                          const_cast<uint8_t*>(tag.data())) != 1) {
    return OpenSslError("AES-GCM open");
  }
  if (EVP_DecryptFinal_ex(dec_, plaintext + ciphertext.size(), &len) != 1) {
    ERR_clear_error();
    if (!ciphertext.empty()) OPENSSL_cleanse(plaintext, ciphertext.size());
    return IntegrityError("authentication tag mismatch");
  }
  return Status::Ok();
}

Status AesGcm::Authenticate(const GcmNonce& nonce, std::span<const uint8_t> aad,
                            std::span<const uint8_t> data, GcmTag& tag) {
  int len = 0;
  uint8_t none = 0;
  if (EVP_EncryptInit_ex(enc_, nullptr, nullptr, nullptr, nonce.data()) != 1 ||
      EVP_EncryptUpdate(enc_, nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1 ||
      (!data.empty() &&
       EVP_EncryptUpdate(enc_, nullptr, &len, data.data(), static_cast<int>(data.size())) != 1) ||
      EVP_EncryptFinal_ex(enc_, &none, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(enc_, EVP_CTRL_GCM_GET_TAG, kGcmTagSize, tag.data()) != 1) {
    return OpenSslError("AES-GCM authenticate");
  }
  return Status::Ok();
}

Status AesGcm::VerifyAuthentication(const GcmNonce& nonce, std::span<const uint8_t> aad,
                                    std::span<const uint8_t> data, const GcmTag& tag) {
  GcmTag computed{};
  COVE_RETURN_IF_ERROR(Authenticate(nonce, aad, data, computed));
  if (CRYPTO_memcmp(computed.data(), tag.data(), kGcmTagSize) != 0) {
    return IntegrityError("authentication tag mismatch");
  }
  return Status::Ok();
}

}  // namespace cove
