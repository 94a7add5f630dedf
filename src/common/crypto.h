// The cryptographic primitives cove uses, over OpenSSL 3 EVP (AES-NI, SHA-NI): CSPRNG,
// SHA-256, HKDF-SHA256 and AES-256-GCM, whose sealing and opening run on ipsec-mb's VAES code
// where the CPU has it (vaes_gcm.h). Nothing here logs or touches the OS (but for the page
// of the random pool, see RandomBytes); keys stay in SecretBytes. AesGcm keeps one key
// schedule per key (for both directions) so that sealing or opening a 4 KiB chunk costs only
// the cipher work.
#pragma once

#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "common/secret_bytes.h"
#include "common/status.h"
#include "common/vaes_gcm.h"

namespace cove {

inline constexpr size_t kAes256KeySize = 32;
inline constexpr size_t kGcmNonceSize = 12;
inline constexpr size_t kGcmTagSize = 16;
using GcmNonce = std::array<uint8_t, kGcmNonceSize>;
using GcmTag = std::array<uint8_t, kGcmTagSize>;
using Sha256Digest = std::array<uint8_t, 32>;

// Fills `out` from the process's own OpenSSL DRBG (CTR-DRBG, seeded from OpenSSL's primary and
// reseeded in every new process); fails only if it cannot be seeded. Requests up to 256 bytes
// are served from a page of DRBG output drawn ahead, which a fork wipes (crypto.cc).
Status RandomBytes(std::span<uint8_t> out);
// Makes fork wait until no thread of this process is inside the DRBG, so that a child never
// inherits OpenSSL's locks held (OpenSSL 3 has no fork handlers of its own): for processes
// that fork while other threads draw random bytes (the runtime, in a program's process).
// Registers once (later calls do nothing); call it before registering fork handlers that must
// run ahead of it (prepare handlers run in the reverse order of registration).
void HoldRandomAcrossFork();
// A fresh random key of `size` bytes.
Result<SecretBytes> RandomKey(size_t size = kAes256KeySize);

Sha256Digest Sha256(std::span<const uint8_t> data);

// Incremental SHA-256, for digests over several pieces without concatenating them. On
// OpenSSL's low-level SHA-256 (see crypto.cc): a tag-block digest per file open costs the
// hashing, not an EVP context.
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;
  void Update(std::span<const uint8_t> data);
  void Update(std::string_view text) {
    Update({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
  }
  Sha256Digest Finish();

 private:
  // OpenSSL's SHA256_CTX (112 bytes), opaque here so that this header does not pull in the
  // deprecated low-level API; crypto.cc checks that it fits.
  alignas(8) std::array<uint8_t, 128> state_;
};

// HKDF-SHA256 (RFC 5869): derives `size` bytes from `key` for the purpose named by `info`.
Result<SecretBytes> HkdfSha256(const SecretBytes& key, std::string_view info, size_t size,
                               std::span<const uint8_t> salt = {});

// AES-256-GCM with a fixed key. Not thread-safe: one instance per thread or per file.
class AesGcm {
 public:
  static Result<std::unique_ptr<AesGcm>> Create(const SecretBytes& key);
  ~AesGcm();
  AesGcm(const AesGcm&) = delete;
  AesGcm& operator=(const AesGcm&) = delete;

  // Another instance with the same key (a copy of the key schedule, no key material needed),
  // for a second thread working on the same file.
  Result<std::unique_ptr<AesGcm>> Clone() const;

  // Encrypts plaintext into ciphertext (same size; may alias) and returns the tag.
  // An empty plaintext with non-empty aad computes a GMAC (the authenticated-only mode).
  Status Seal(const GcmNonce& nonce, std::span<const uint8_t> aad,
              std::span<const uint8_t> plaintext, uint8_t* ciphertext, GcmTag& tag);
  // Decrypts and verifies; on a tag mismatch returns kIntegrityError and wipes `plaintext`.
  Status Open(const GcmNonce& nonce, std::span<const uint8_t> aad,
              std::span<const uint8_t> ciphertext, const GcmTag& tag, uint8_t* plaintext);
  // GMAC over aad | data without encrypting (authenticated-only regions keep plaintext on disk).
  Status Authenticate(const GcmNonce& nonce, std::span<const uint8_t> aad,
                      std::span<const uint8_t> data, GcmTag& tag);
  // Checks a tag made by Authenticate; kIntegrityError on mismatch.
  Status VerifyAuthentication(const GcmNonce& nonce, std::span<const uint8_t> aad,
                              std::span<const uint8_t> data, const GcmTag& tag);

 private:
  AesGcm() = default;
  // OpenSSL's context, keyed once (Seal and Open set the direction with their nonce); where
  // VaesGcmKey is available, made only when Authenticate first needs it, from key_.
  Status EnsureOpenSsl(const SecretBytes& key);
  // The VAES key schedule for Seal and Open, made at the first (a file in an authenticated
  // region only authenticates); nullptr where VaesGcmKey is not available.
  VaesGcmKey* Vaes();
  EVP_CIPHER_CTX* ctx_ = nullptr;
  std::unique_ptr<VaesGcmKey> vaes_;
  SecretBytes key_;  // kept where VaesGcmKey is available, for the schedules made on first use
};

}  // namespace cove
