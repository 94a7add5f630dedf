// OpenSSL EVP glue for the primitives in crypto.h.
// The low-level SHA256_* functions are deprecated in OpenSSL 3.0 but kept; see LowLevelSha256.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "common/crypto.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/random.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

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
// legacy EVP_aes_256_gcm() accessor; fetching once per process removes that cost from every
// file open. The object lives as long as the process.
const EVP_CIPHER* Aes256Gcm() {
  static EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return cipher != nullptr ? cipher : EVP_aes_256_gcm();
}
constexpr size_t kSha256Size = 32;
constexpr size_t kSha256BlockSize = 64;

// SHA-256 over the concatenation of `parts`, on OpenSSL's low-level SHA256_* functions (as are
// Sha256 and Sha256Hasher): the EVP and one-shot SHA256() paths of OpenSSL 3.0 look the
// algorithm up (EVP_Q_digest) or go through a provider on every call, which costs more than
// hashing the short inputs here.
// The state is wiped afterwards (it holds key material for HMAC).
void LowLevelSha256(std::initializer_list<std::span<const uint8_t>> parts, uint8_t* out) {
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  for (auto part : parts) SHA256_Update(&ctx, part.data(), part.size());
  SHA256_Final(out, &ctx);
  OPENSSL_cleanse(&ctx, sizeof(ctx));
}

// HMAC-SHA256 (RFC 2104) of `message` under `key` into `out` (32 bytes); pads are wiped.
void HmacSha256(std::span<const uint8_t> key, std::span<const uint8_t> message, uint8_t* out) {
  uint8_t block_key[kSha256BlockSize] = {};
  if (key.size() > kSha256BlockSize) {
    LowLevelSha256({key}, block_key);
  } else if (!key.empty()) {
    std::memcpy(block_key, key.data(), key.size());
  }
  uint8_t inner_pad[kSha256BlockSize];
  uint8_t outer_pad[kSha256BlockSize];
  for (size_t i = 0; i < kSha256BlockSize; ++i) {
    inner_pad[i] = block_key[i] ^ 0x36;
    outer_pad[i] = block_key[i] ^ 0x5c;
  }
  uint8_t inner[kSha256Size];
  LowLevelSha256({inner_pad, message}, inner);
  LowLevelSha256({outer_pad, inner}, out);
  OPENSSL_cleanse(inner, sizeof(inner));
  OPENSSL_cleanse(inner_pad, sizeof(inner_pad));
  OPENSSL_cleanse(outer_pad, sizeof(outer_pad));
  OPENSSL_cleanse(block_key, sizeof(block_key));
}

}  // namespace

namespace {

// DRBG output drawn ahead, for the small requests (file ids and keys, GCM nonces) that every
// created or rewritten file makes: one DRBG call costs ~2 us here (the AES-CTR update with
// its key schedule, and OpenSSL's fork check, a getpid), a draw from the pool a copy.
// The page is MADV_WIPEONFORK: a forked child finds it zeroed (empty, mutexes unlocked, the
// DRBG marked not reseeded in this process) and refills from the DRBG after reseeding it
// (DrbgBytes), so parent and child never hand out the same bytes; a vfork child shares it
// with its suspended parent, and what one takes the other does not get again. Bytes are wiped
// as handed out. MADV_DONTDUMP keeps them out of core dumps.
struct RandomPool {
  pthread_mutex_t mutex;       // all zeros: PTHREAD_MUTEX_INITIALIZER (also after a fork's wipe)
  pthread_mutex_t drbg_mutex;  // see DrbgMutex
  uint32_t drbg_reseeded;      // 0 until the DRBG is reseeded in this process (see DrbgBytes)
  uint32_t available;          // bytes left, at the start of `bytes`
  uint8_t bytes[4096 - 2 * sizeof(pthread_mutex_t) - 2 * sizeof(uint32_t)];
};
static_assert(sizeof(RandomPool) <= 4096);
constexpr size_t kPooledRequestMax = 256;  // larger requests go to the DRBG directly

// Stands in for the page where the kernel cannot wipe one on fork (before Linux 4.14): no pool
// then (every request goes to the DRBG), and only its drbg_mutex is used.
RandomPool g_unwiped_pool{PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, 0, 0, {}};
std::atomic<RandomPool*> g_random_pool{nullptr};  // the page or &g_unwiped_pool, decided once

// The page, or &g_unwiped_pool. Decided once for the process (a failed mmap is not retried),
// so that every thread and every fork handler agrees on the DRBG's mutex. Made without a
// guarded static: threads racing to make it keep the first answer published (the others
// unmap their page), and nothing waits.
RandomPool* DecidedPool() {
  if (RandomPool* pool = g_random_pool.load(std::memory_order_acquire); pool != nullptr) {
    return pool;
  }
  RandomPool* candidate = &g_unwiped_pool;
  void* page =
      mmap(nullptr, sizeof(RandomPool), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page != MAP_FAILED && madvise(page, sizeof(RandomPool), MADV_WIPEONFORK) == 0) {
    madvise(page, sizeof(RandomPool), MADV_DONTDUMP);  // best effort
    candidate = static_cast<RandomPool*>(page);        // zeros: empty and unlocked
  } else if (page != MAP_FAILED) {
    munmap(page, sizeof(RandomPool));
  }
  RandomPool* published = nullptr;
  if (!g_random_pool.compare_exchange_strong(published, candidate, std::memory_order_acq_rel)) {
    if (candidate != &g_unwiped_pool) munmap(candidate, sizeof(RandomPool));
    return published;
  }
  return candidate;
}

// The pool, or nullptr where there is none (see g_unwiped_pool).
RandomPool* SharedRandomPool() {
  RandomPool* pool = DecidedPool();
  return pool == &g_unwiped_pool ? nullptr : pool;
}

// Held around every DRBG call of this copy of libcrypto (they all go through DrbgBytes), and by
// a forking thread from its last prepare handler to the clone (HoldRandomAcrossFork): a child
// forked while another thread was inside the DRBG would inherit OpenSSL's locks held. It lives
// in the pool's page, which every fork wipes: a child forked without the handlers (a raw fork
// or clone syscall, which the runtime lets through) starts with it unlocked, whoever held it
// (not so before Linux 4.14, where it is g_unwiped_pool's).
pthread_mutex_t* DrbgMutex() {
  return &DecidedPool()->drbg_mutex;
}

// This process's own DRBG (CTR-DRBG, AES-256, seeded from OpenSSL's primary DRBG), made at the
// first draw and used only under DrbgMutex. RAND_bytes would give each drawing thread a DRBG
// of its own, registered at its first draw and freed at its exit under a global lock of
// OpenSSL's that the fork handlers cannot wait for: a child forked while another thread
// exited, whose forking thread had not drawn yet, hung at its first draw (1 fork in ~2,000
// beside threads that draw and exit).
EVP_RAND_CTX* g_drbg = nullptr;   // under DrbgMutex
bool g_drbg_unavailable = false;  // under DrbgMutex: CTR-DRBG could not be made, RAND_bytes

EVP_RAND_CTX* NewDrbg() {
  EVP_RAND* rand = EVP_RAND_fetch(nullptr, "CTR-DRBG", nullptr);
  if (rand == nullptr) return nullptr;
  EVP_RAND_CTX* drbg = EVP_RAND_CTX_new(rand, RAND_get0_primary(nullptr));
  EVP_RAND_free(rand);  // the context keeps its own reference
  if (drbg == nullptr) return nullptr;
  char cipher[] = "AES-256-CTR";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_DRBG_PARAM_CIPHER, cipher, 0),
                         OSSL_PARAM_construct_end()};
  if (EVP_RAND_instantiate(drbg, 0, 0, nullptr, 0, params) != 1) {
    EVP_RAND_CTX_free(drbg);
    return nullptr;
  }
  return drbg;
}

// OpenSSL reseeds its DRBGs when the process id changes, which misses a child with its
// parent's pid (pid 1 of a new pid namespace forked by a container's pid 1; a reused pid): the
// child would draw its parent's file keys and nonces, and its primary DRBG would reseed it
// with its parent's seed. So in every new process (the pool's page came zeroed) the DRBG is
// reseeded with 32 bytes from the kernel as additional input; without the page, at every
// call.
bool ReseedInNewProcess(RandomPool* pool) {
  if (pool != &g_unwiped_pool && pool->drbg_reseeded != 0) return true;
  uint8_t fresh[32];
  bool done = getrandom(fresh, sizeof(fresh), 0) == static_cast<ssize_t>(sizeof(fresh)) &&
              EVP_RAND_reseed(g_drbg, 0, nullptr, 0, fresh, sizeof(fresh)) == 1;
  OPENSSL_cleanse(fresh, sizeof(fresh));
  if (done && pool != &g_unwiped_pool) pool->drbg_reseeded = 1;
  return done;
}

Status DrbgBytes(std::span<uint8_t> out) {
  if (out.size() > INT_MAX) return InvalidArgument("RandomBytes: request too large");
  constexpr size_t kMaxRequest = size_t{1} << 16;  // CTR-DRBG's largest request
  RandomPool* pool = DecidedPool();
  pthread_mutex_lock(&pool->drbg_mutex);
  if (g_drbg == nullptr && !g_drbg_unavailable) {
    g_drbg = NewDrbg();
    if (g_drbg == nullptr) {
      ERR_clear_error();
      g_drbg_unavailable = true;
    }
  }
  bool drawn = g_drbg == nullptr || ReseedInNewProcess(pool);
  for (size_t done = 0; drawn && done < out.size(); done += kMaxRequest) {
    size_t take = std::min(kMaxRequest, out.size() - done);
    drawn = g_drbg != nullptr
                ? EVP_RAND_generate(g_drbg, out.data() + done, take, 0, 0, nullptr, 0) == 1
                : RAND_bytes(out.data() + done, static_cast<int>(take)) == 1;
  }
  pthread_mutex_unlock(&pool->drbg_mutex);
  if (!drawn) return OpenSslError("DRBG");
  return Status::Ok();
}

// Serves `out` from the pool, refilling it when short. False when the pool is in use (by
// another thread, or by this one interrupted by a signal handler): the caller then asks the
// DRBG, so that nothing waits for the pool. (RandomBytes is not async-signal-safe: a handler
// interrupting a draw would wait for the DRBG's mutex, held by its own thread. The runtime's
// SIGSYS handler does not enter the shield while its thread is inside it.)
bool TryPooledBytes(RandomPool& pool, std::span<uint8_t> out, Status* status) {
  if (pthread_mutex_trylock(&pool.mutex) != 0) return false;
  if (pool.available < out.size()) {
    *status = DrbgBytes(pool.bytes);
    pool.available = status->ok() ? sizeof(pool.bytes) : 0;
  }
  if (pool.available >= out.size()) {
    uint8_t* from = pool.bytes + pool.available - out.size();
    std::memcpy(out.data(), from, out.size());
    OPENSSL_cleanse(from, out.size());
    pool.available -= static_cast<uint32_t>(out.size());
  }
  pthread_mutex_unlock(&pool.mutex);
  return true;
}

}  // namespace

Status RandomBytes(std::span<uint8_t> out) {
  if (out.empty()) return Status::Ok();
  if (out.size() <= kPooledRequestMax) {
    if (RandomPool* pool = SharedRandomPool(); pool != nullptr) {
      Status status = Status::Ok();
      if (TryPooledBytes(*pool, out, &status)) return status;
    }
  }
  return DrbgBytes(out);
}

void HoldRandomAcrossFork() {
  // Once: a second prepare handler would lock the same mutex again and hang every fork.
  static std::atomic<bool> registered{false};
  if (registered.exchange(true)) return;
  pthread_atfork([] { pthread_mutex_lock(DrbgMutex()); }, [] { pthread_mutex_unlock(DrbgMutex()); },
                 [] {
                   // The pool's page came to the child zeroed: its mutex is unlocked already.
                   if (SharedRandomPool() == nullptr) pthread_mutex_unlock(DrbgMutex());
                 });
}

Result<SecretBytes> RandomKey(size_t size) {
  SecretBytes key(size);
  COVE_RETURN_IF_ERROR(RandomBytes(key.mutable_span()));
  return key;
}

Sha256Digest Sha256(std::span<const uint8_t> data) {
  Sha256Digest digest{};
  LowLevelSha256({data}, digest.data());
  return digest;
}

Sha256Hasher::Sha256Hasher() {
  static_assert(sizeof(SHA256_CTX) <= sizeof(state_) && alignof(SHA256_CTX) <= 8);
  SHA256_Init(reinterpret_cast<SHA256_CTX*>(state_.data()));
}
Sha256Hasher::~Sha256Hasher() {
  OPENSSL_cleanse(state_.data(), state_.size());
}
void Sha256Hasher::Update(std::span<const uint8_t> data) {
  SHA256_Update(reinterpret_cast<SHA256_CTX*>(state_.data()), data.data(), data.size());
}
Sha256Digest Sha256Hasher::Finish() {
  Sha256Digest digest{};
  SHA256_Final(digest.data(), reinterpret_cast<SHA256_CTX*>(state_.data()));
  return digest;
}

Result<SecretBytes> HkdfSha256(const SecretBytes& key, std::string_view info, size_t size,
                               std::span<const uint8_t> salt) {
  if (size == 0 || size > 255 * kSha256Size) {
    return InvalidArgument("HKDF: output size must be 1.." + std::to_string(255 * kSha256Size));
  }
  // RFC 5869 over HMAC-SHA256 on LowLevelSha256: every file open derives its chunk key,
  // and EVP_KDF's per-call context, parameter parsing and digest fetch cost 4x the hashing.
  std::array<uint8_t, kSha256Size> zero_salt{};
  std::span<const uint8_t> extract_key = salt.empty() ? std::span<const uint8_t>(zero_salt) : salt;
  SecretBytes prk(kSha256Size);
  HmacSha256(extract_key, {key.data(), key.size()}, prk.data());
  SecretBytes out(size);
  SecretBytes block(kSha256Size + info.size() + 1);  // T(i-1) | info | i
  uint8_t t[kSha256Size];
  size_t previous = 0;
  for (size_t done = 0, i = 1; done < size; ++i) {
    std::memcpy(block.data() + previous, info.data(), info.size());
    block.data()[previous + info.size()] = static_cast<uint8_t>(i);
    HmacSha256(prk.span(), {block.data(), previous + info.size() + 1}, t);
    size_t take = std::min(size - done, kSha256Size);
    std::memcpy(out.data() + done, t, take);
    std::memcpy(block.data(), t, kSha256Size);
    previous = kSha256Size;
    done += take;
  }
  OPENSSL_cleanse(t, sizeof(t));
  return out;
}

Result<std::unique_ptr<AesGcm>> AesGcm::Create(const SecretBytes& key) {
  if (key.size() != kAes256KeySize) {
    return InvalidArgument("AES-256-GCM key must be 32 bytes, got " + std::to_string(key.size()));
  }
  std::unique_ptr<AesGcm> gcm(new AesGcm);
  if (VaesGcmKey::Available()) {
    gcm->key_ = key;  // each engine's schedule is made at its first use (Vaes, EnsureOpenSsl)
    return gcm;
  }
  COVE_RETURN_IF_ERROR(gcm->EnsureOpenSsl(key));
  return gcm;
}

VaesGcmKey* AesGcm::Vaes() {
  if (!vaes_ && !key_.empty()) {
    vaes_ = VaesGcmKey::Create(std::span<const uint8_t, kAes256KeySize>(key_.data(), key_.size()));
  }
  return vaes_.get();
}

Status AesGcm::EnsureOpenSsl(const SecretBytes& key) {
  if (ctx_ != nullptr) return Status::Ok();
  // One context serves both directions: GCM uses the AES encryption schedule either way, and
  // each Seal/Open re-initializes it with its nonce and direction (one key setup per file).
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (ctx == nullptr || EVP_EncryptInit_ex(ctx, Aes256Gcm(), nullptr, key.data(), nullptr) != 1) {
    EVP_CIPHER_CTX_free(ctx);  // never kept unkeyed: the next call tries again
    return OpenSslError("AES-256-GCM init");
  }
  ctx_ = ctx;
  return Status::Ok();
}

Result<std::unique_ptr<AesGcm>> AesGcm::Clone() const {
  std::unique_ptr<AesGcm> gcm(new AesGcm);
  gcm->key_ = key_;
  if (vaes_) gcm->vaes_ = vaes_->Clone();
  if (ctx_ != nullptr) {
    gcm->ctx_ = EVP_CIPHER_CTX_new();
    if (gcm->ctx_ == nullptr || EVP_CIPHER_CTX_copy(gcm->ctx_, ctx_) != 1) {
      return OpenSslError("AES-256-GCM clone");
    }
  }
  return gcm;
}

AesGcm::~AesGcm() {
  EVP_CIPHER_CTX_free(ctx_);  // frees (and cleanses) the key schedule; vaes_ and key_ wipe theirs
}

Status AesGcm::Seal(const GcmNonce& nonce, std::span<const uint8_t> aad,
                    std::span<const uint8_t> plaintext, uint8_t* ciphertext, GcmTag& tag) {
  if (VaesGcmKey* vaes = Vaes()) {
    vaes->Seal(nonce.data(), aad, plaintext, ciphertext, tag.data());
    return Status::Ok();
  }
  int len = 0;
  if (EVP_EncryptInit_ex(ctx_, nullptr, nullptr, nullptr, nonce.data()) != 1 ||
      (!aad.empty() &&
       EVP_EncryptUpdate(ctx_, nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) ||
      (!plaintext.empty() && EVP_EncryptUpdate(ctx_, ciphertext, &len, plaintext.data(),
                                               static_cast<int>(plaintext.size())) != 1) ||
      EVP_EncryptFinal_ex(ctx_, ciphertext + plaintext.size(), &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_GET_TAG, kGcmTagSize, tag.data()) != 1) {
    return OpenSslError("AES-GCM seal");
  }
  return Status::Ok();
}

Status AesGcm::Open(const GcmNonce& nonce, std::span<const uint8_t> aad,
                    std::span<const uint8_t> ciphertext, const GcmTag& tag, uint8_t* plaintext) {
  if (VaesGcmKey* vaes = Vaes()) {
    GcmTag computed{};
    vaes->Open(nonce.data(), aad, ciphertext, plaintext, computed.data());
    if (CRYPTO_memcmp(computed.data(), tag.data(), kGcmTagSize) != 0) {
      if (!ciphertext.empty()) OPENSSL_cleanse(plaintext, ciphertext.size());
      return IntegrityError("authentication tag mismatch");
    }
    return Status::Ok();
  }
  int len = 0;
  if (EVP_DecryptInit_ex(ctx_, nullptr, nullptr, nullptr, nonce.data()) != 1 ||
      (!aad.empty() &&
       EVP_DecryptUpdate(ctx_, nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) ||
      (!ciphertext.empty() && EVP_DecryptUpdate(ctx_, plaintext, &len, ciphertext.data(),
                                                static_cast<int>(ciphertext.size())) != 1) ||
      EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_SET_TAG, kGcmTagSize,
                          const_cast<uint8_t*>(tag.data())) != 1) {
    return OpenSslError("AES-GCM open");
  }
  if (EVP_DecryptFinal_ex(ctx_, plaintext + ciphertext.size(), &len) != 1) {
    ERR_clear_error();
    if (!ciphertext.empty()) OPENSSL_cleanse(plaintext, ciphertext.size());
    return IntegrityError("authentication tag mismatch");
  }
  return Status::Ok();
}

Status AesGcm::Authenticate(const GcmNonce& nonce, std::span<const uint8_t> aad,
                            std::span<const uint8_t> data, GcmTag& tag) {
  COVE_RETURN_IF_ERROR(EnsureOpenSsl(key_));  // GMAC over two pieces: OpenSSL's streaming API
  int len = 0;
  uint8_t none = 0;
  if (EVP_EncryptInit_ex(ctx_, nullptr, nullptr, nullptr, nonce.data()) != 1 ||
      EVP_EncryptUpdate(ctx_, nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1 ||
      (!data.empty() &&
       EVP_EncryptUpdate(ctx_, nullptr, &len, data.data(), static_cast<int>(data.size())) != 1) ||
      EVP_EncryptFinal_ex(ctx_, &none, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_GET_TAG, kGcmTagSize, tag.data()) != 1) {
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
