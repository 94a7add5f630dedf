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
// pointers (aes_gcm_precomp_t, aes_gcm_enc_dec_t). CMake requires ipsec-mb 1.3 with them, and
// Available() checks them against a known answer before any use. Linked alone they add ~0.5 MB.
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

// The instruction sets ipsec-mb's AVX-512 code requires (AES-NI, PCLMULQDQ, AVX, AVX-512 F,
// DQ, CD, BW, VL) and those of its VAES GCM, read with CPUID as ipsec-mb's own detection does
// (gcc's and clang's __builtin_cpu_supports do not agree on the names), and whether the kernel
// saves the AVX-512 registers (XCR0: SSE, AVX, opmask and both halves of the ZMM state).
bool CpuRunsVaesGcm() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return false;
  // PCLMULQDQ, AES-NI, OSXSAVE, AVX: the key expansion and the 128-bit forms the code also uses
  // (a VM may mask AES-NI and leave VAES).
  constexpr unsigned kLeaf1Ecx = (1u << 1) | (1u << 25) | (1u << 27) | (1u << 28);
  if ((ecx & kLeaf1Ecx) != kLeaf1Ecx) return false;
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

// Test case 16 of McGrew and Viega's GCM specification (AES-256, 60 bytes, 20 bytes of AAD),
// sealed and opened once before the code is trusted: the three functions are the library's
// internals (see above), and a library whose arguments changed under the same names must send
// cove to OpenSSL, not write wrong ciphertext.
bool VaesGcmKey::PassesKnownAnswer() {
  static constexpr uint8_t kKey[32] = {0xfe, 0xff, 0xe9, 0x92, 0x86, 0x65, 0x73, 0x1c,
                                       0x6d, 0x6a, 0x8f, 0x94, 0x67, 0x30, 0x83, 0x08,
                                       0xfe, 0xff, 0xe9, 0x92, 0x86, 0x65, 0x73, 0x1c,
                                       0x6d, 0x6a, 0x8f, 0x94, 0x67, 0x30, 0x83, 0x08};
  static constexpr uint8_t kNonce[12] = {0xca, 0xfe, 0xba, 0xbe, 0xfa, 0xce,
                                         0xdb, 0xad, 0xde, 0xca, 0xf8, 0x88};
  static constexpr uint8_t kAad[20] = {0xfe, 0xed, 0xfa, 0xce, 0xde, 0xad, 0xbe, 0xef, 0xfe, 0xed,
                                       0xfa, 0xce, 0xde, 0xad, 0xbe, 0xef, 0xab, 0xad, 0xda, 0xd2};
  static constexpr uint8_t kPlain[60] = {
      0xd9, 0x31, 0x32, 0x25, 0xf8, 0x84, 0x06, 0xe5, 0xa5, 0x59, 0x09, 0xc5, 0xaf, 0xf5, 0x26,
      0x9a, 0x86, 0xa7, 0xa9, 0x53, 0x15, 0x34, 0xf7, 0xda, 0x2e, 0x4c, 0x30, 0x3d, 0x8a, 0x31,
      0x8a, 0x72, 0x1c, 0x3c, 0x0c, 0x95, 0x95, 0x68, 0x09, 0x53, 0x2f, 0xcf, 0x0e, 0x24, 0x49,
      0xa6, 0xb5, 0x25, 0xb1, 0x6a, 0xed, 0xf5, 0xaa, 0x0d, 0xe6, 0x57, 0xba, 0x63, 0x7b, 0x39};
  static constexpr uint8_t kCipher[60] = {
      0x52, 0x2d, 0xc1, 0xf0, 0x99, 0x56, 0x7d, 0x07, 0xf4, 0x7f, 0x37, 0xa3, 0x2a, 0x84, 0x42,
      0x7d, 0x64, 0x3a, 0x8c, 0xdc, 0xbf, 0xe5, 0xc0, 0xc9, 0x75, 0x98, 0xa2, 0xbd, 0x25, 0x55,
      0xd1, 0xaa, 0x8c, 0xb0, 0x8e, 0x48, 0x59, 0x0d, 0xbb, 0x3d, 0xa7, 0xb0, 0x8b, 0x10, 0x56,
      0x82, 0x88, 0x38, 0xc5, 0xf6, 0x1e, 0x63, 0x93, 0xba, 0x7a, 0x0a, 0xbc, 0xc9, 0xf6, 0x62};
  static constexpr uint8_t kTag[16] = {0x76, 0xfc, 0x6e, 0xce, 0x0f, 0x4e, 0x17, 0x68,
                                       0xcd, 0xdf, 0x88, 0x53, 0xbb, 0x2d, 0x55, 0x1b};
  std::unique_ptr<VaesGcmKey> key = Make(kKey);
  uint8_t cipher[sizeof(kPlain)] = {};
  uint8_t plain[sizeof(kPlain)] = {};
  uint8_t sealed_tag[16] = {};
  uint8_t opened_tag[16] = {};
  key->Seal(kNonce, kAad, kPlain, cipher, sealed_tag);
  key->Open(kNonce, kAad, cipher, plain, opened_tag);
  return std::memcmp(cipher, kCipher, sizeof(kCipher)) == 0 &&
         std::memcmp(sealed_tag, kTag, sizeof(kTag)) == 0 &&
         std::memcmp(opened_tag, kTag, sizeof(kTag)) == 0 &&
         std::memcmp(plain, kPlain, sizeof(kPlain)) == 0;
}

bool VaesGcmKey::Available() {
  static const bool available = [] {
    const char* setting = std::getenv("COVE_CRYPTO_VAES");
    return !(setting != nullptr && std::strcmp(setting, "0") == 0) && CpuRunsVaesGcm() &&
           PassesKnownAnswer();
  }();
  return available;
}

VaesGcmKey::VaesGcmKey() : data_(new KeyData) {}

VaesGcmKey::~VaesGcmKey() {
  OPENSSL_cleanse(data_.get(), sizeof(KeyData));
}

std::unique_ptr<VaesGcmKey> VaesGcmKey::Create(std::span<const uint8_t, 32> key) {
  if (!Available()) return nullptr;
  return Make(key);
}

std::unique_ptr<VaesGcmKey> VaesGcmKey::Make(std::span<const uint8_t, 32> key) {
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
