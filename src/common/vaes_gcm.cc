// ipsec-mb glue for VaesGcmKey: key setup, seal and open, and the wiping of what they leave.
#define NO_COMPAT_IMB_API_053  // ipsec-mb's old macro names (SHA1, ...) clash with OpenSSL's
#include "common/vaes_gcm.h"

#include <cpuid.h>
#include <intel-ipsec-mb.h>
#include <openssl/crypto.h>

#include <cstdlib>
#include <cstring>

// ipsec-mb 1.3 reaches its VAES GCM code through an IMB_MGR, whose set-up links every
// algorithm of the library for every architecture (+15 MB in libcove-runtime.so). The three
// functions it would call are exported by the library (also from its shared object) but not
// declared in its header: they are declared here with the types of the manager's function
// pointers (aes_gcm_precomp_t, aes_gcm_enc_dec_t), and CMake checks at configure time that the
// installed library has them. Linked alone they add ~0.5 MB.
extern "C" {
void aes_gcm_precomp_256_vaes_avx512(struct gcm_key_data* key_data);
void aes_gcm_enc_256_vaes_avx512(const struct gcm_key_data* key_data,
                                 struct gcm_context_data* context, uint8_t* out, const uint8_t* in,
                                 uint64_t length, const uint8_t* iv, const uint8_t* aad,
                                 uint64_t aad_length, uint8_t* tag, uint64_t tag_length);
void aes_gcm_dec_256_vaes_avx512(const struct gcm_key_data* key_data,
                                 struct gcm_context_data* context, uint8_t* out, const uint8_t* in,
                                 uint64_t length, const uint8_t* iv, const uint8_t* aad,
                                 uint64_t aad_length, uint8_t* tag, uint64_t tag_length);
}

namespace cove {

struct VaesGcmKey::KeyData {
  gcm_key_data key;  // aligned(64) by its declaration; `new` honours it (C++17)
};

namespace {

constexpr uint64_t kTagLength = 16;
constexpr size_t kExpandedKeyBytes = size_t{15} * 16;  // AES-256: 15 round keys

// ipsec-mb checks its parameters (SAFE_PARAM) and, for a null pointer, returns without
// writing anything: an empty span's data() may be null, so it gets a valid address instead.
const uint8_t* NonNull(std::span<const uint8_t> bytes) {
  static const uint8_t kNothing = 0;
  return bytes.data() != nullptr ? bytes.data() : &kNothing;
}

// The per-call state holds the GHASH of what was processed; wiped as OpenSSL wipes its context.
struct WipedContext {
  gcm_context_data context{};
  WipedContext() = default;
  WipedContext(const WipedContext&) = delete;
  WipedContext& operator=(const WipedContext&) = delete;
  ~WipedContext() { OPENSSL_cleanse(&context, sizeof(context)); }
};

// The instruction sets ipsec-mb's AVX-512 code requires (F, DQ, CD, BW, VL) and those of its
// VAES GCM, read with CPUID (as ipsec-mb's own detection does; gcc's and clang's
// __builtin_cpu_supports do not agree on the names), and whether the kernel saves the AVX-512
// registers (XCR0: SSE, AVX, opmask and both halves of the ZMM state).
bool CpuRunsVaesGcm() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return false;
  constexpr unsigned kOsXsave = 1u << 27;
  if ((ecx & kOsXsave) == 0) return false;
  unsigned xcr0_low = 0, xcr0_high = 0;
  __asm__ volatile("xgetbv" : "=a"(xcr0_low), "=d"(xcr0_high) : "c"(0));
  constexpr unsigned kAvx512State = 0xe6;  // bits 1, 2, 5, 6, 7
  if ((xcr0_low & kAvx512State) != kAvx512State) return false;
  if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) == 0) return false;
  constexpr unsigned kAvx512Ebx = (1u << 16) | (1u << 17) | (1u << 28) | (1u << 30) | (1u << 31);
  constexpr unsigned kVaesEcx = (1u << 9) | (1u << 10);  // VAES, VPCLMULQDQ
  return (ebx & kAvx512Ebx) == kAvx512Ebx && (ecx & kVaesEcx) == kVaesEcx;
}

}  // namespace

bool VaesGcmKey::Available() {
  static const bool available = [] {
    const char* setting = std::getenv("COVE_CRYPTO_VAES");
    return !(setting != nullptr && std::strcmp(setting, "0") == 0) && CpuRunsVaesGcm();
  }();
  return available;
}

VaesGcmKey::VaesGcmKey() : data_(new KeyData) {}

VaesGcmKey::~VaesGcmKey() {
  OPENSSL_cleanse(data_.get(), sizeof(KeyData));
}

std::unique_ptr<VaesGcmKey> VaesGcmKey::Create(std::span<const uint8_t, 32> key) {
  if (!Available()) return nullptr;
  std::unique_ptr<VaesGcmKey> made(new VaesGcmKey);
  alignas(16) uint8_t decryption_keys[kExpandedKeyBytes];  // GCM never decrypts with AES
  aes_keyexp_256_avx512(key.data(), made->data_->key.expanded_keys, decryption_keys);
  OPENSSL_cleanse(decryption_keys, sizeof(decryption_keys));
  aes_gcm_precomp_256_vaes_avx512(&made->data_->key);
  return made;
}

std::unique_ptr<VaesGcmKey> VaesGcmKey::Clone() const {
  std::unique_ptr<VaesGcmKey> copy(new VaesGcmKey);
  std::memcpy(copy->data_.get(), data_.get(), sizeof(KeyData));
  return copy;
}

void VaesGcmKey::Seal(const uint8_t* nonce, std::span<const uint8_t> aad,
                      std::span<const uint8_t> in, uint8_t* out, uint8_t* tag) const {
  Apply(&aes_gcm_enc_256_vaes_avx512, nonce, aad, in, out, tag);
}

void VaesGcmKey::Open(const uint8_t* nonce, std::span<const uint8_t> aad,
                      std::span<const uint8_t> in, uint8_t* out, uint8_t* tag) const {
  Apply(&aes_gcm_dec_256_vaes_avx512, nonce, aad, in, out, tag);
}

void VaesGcmKey::Apply(GcmFunction function, const uint8_t* nonce, std::span<const uint8_t> aad,
                       std::span<const uint8_t> in, uint8_t* out, uint8_t* tag) const {
  WipedContext wiped;
  uint8_t nothing = 0;
  function(&data_->key, &wiped.context, out != nullptr ? out : &nothing, NonNull(in), in.size(),
           nonce, NonNull(aad), aad.size(), tag, kTagLength);
}

}  // namespace cove
