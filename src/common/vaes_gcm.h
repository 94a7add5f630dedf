// VaesGcmKey: AES-256-GCM on Intel's ipsec-mb (Debian's libipsec-mb-dev), whose VAES and
// AVX-512 code seals and opens a 4 KiB chunk in ~0.41 us on this project's machines, against
// ~0.70 us for OpenSSL 3.0's AES-NI code (3.0 has no VAES GCM): the cipher work is most of a
// protected file's sequential read. AesGcm (crypto.h) uses it where the CPU has those
// instructions and falls back to OpenSSL elsewhere; the two produce the same bytes
// (crypto_test.cc checks them against each other).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

struct gcm_key_data;
struct gcm_context_data;

namespace cove {

class VaesGcmKey {
 public:
  // True when the CPU (and the kernel, for the AVX-512 state) can run the VAES code, and
  // COVE_CRYPTO_VAES is not "0" (a switch to OpenSSL's code for comparisons and debugging).
  // Decided once per process, after a known-answer test of the code.
  static bool Available();
  // The key schedule and GHASH key powers of a 32-byte key; nullptr when !Available().
  static std::unique_ptr<VaesGcmKey> Create(std::span<const uint8_t, 32> key);
  ~VaesGcmKey();  // wipes the schedule
  VaesGcmKey(const VaesGcmKey&) = delete;
  VaesGcmKey& operator=(const VaesGcmKey&) = delete;
  std::unique_ptr<VaesGcmKey> Clone() const;

  // GCM with a 12-byte nonce and a 16-byte tag. `out` may be `in`. Empty spans may have null
  // data.
  void Seal(const uint8_t* nonce, std::span<const uint8_t> aad, std::span<const uint8_t> in,
            uint8_t* out, uint8_t* tag) const;
  // Decrypts into `out` and computes the tag into `tag`; the caller compares it with the
  // expected one (in constant time) and wipes `out` on a mismatch.
  void Open(const uint8_t* nonce, std::span<const uint8_t> aad, std::span<const uint8_t> in,
            uint8_t* out, uint8_t* tag) const;

 private:
  VaesGcmKey();
  // Create without the Available() check (its own known-answer test).
  static std::unique_ptr<VaesGcmKey> Make(std::span<const uint8_t, 32> key);
  // Test case 16 of McGrew and Viega's GCM specification, sealed and opened (Available()).
  static bool PassesKnownAnswer();
  struct KeyData;  // ipsec-mb's struct gcm_key_data, 64-byte aligned
  // ipsec-mb's one-call GCM (aes_gcm_enc_dec_t) with the wiping and null checks both need.
  using GcmFunction = void (*)(const struct gcm_key_data*, struct gcm_context_data*, uint8_t*,
                               const uint8_t*, uint64_t, const uint8_t*, const uint8_t*, uint64_t,
                               uint8_t*, uint64_t);
  void Apply(GcmFunction function, const uint8_t* nonce, std::span<const uint8_t> aad,
             std::span<const uint8_t> in, uint8_t* out, uint8_t* tag) const;
  std::unique_ptr<KeyData> data_;
};

}  // namespace cove
