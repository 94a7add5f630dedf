// Tests of the crypto primitives against known answers and tamper cases.
#include "common/crypto.h"

#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/hex.h"

namespace cove {
namespace {

// RandomBytes serves small requests from a pool of DRBG output (crypto.cc): no draw may repeat,
// across sizes, refills and threads.
TEST(RandomBytes, SmallDrawsNeverRepeat) {
  std::set<std::array<uint8_t, 16>> seen;
  std::array<uint8_t, 16> draw{};
  std::vector<uint8_t> other(200);
  for (int i = 0; i < 2000; ++i) {
    ASSERT_TRUE(RandomBytes(draw).ok());
    EXPECT_TRUE(seen.insert(draw).second) << "draw " << i << " repeated";
    ASSERT_TRUE(RandomBytes({other.data(), static_cast<size_t>(1 + i % 200)}).ok());
  }
  std::array<uint8_t, 0> none{};
  EXPECT_TRUE(RandomBytes(none).ok());
  std::vector<uint8_t> large(1 << 16);  // past the pool: straight from the DRBG
  ASSERT_TRUE(RandomBytes(large).ok());
  EXPECT_NE(std::count(large.begin(), large.end(), 0), static_cast<long>(large.size()));
}

TEST(RandomBytes, ThreadsNeverGetTheSameBytes) {
  constexpr int kThreads = 4;
  constexpr int kDraws = 3000;
  std::vector<std::vector<std::array<uint8_t, 12>>> draws(kThreads);
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&draws, t] {
      draws[t].resize(kDraws);
      for (auto& draw : draws[t]) ASSERT_TRUE(RandomBytes(draw).ok());
    });
  }
  for (auto& thread : threads) thread.join();
  std::set<std::array<uint8_t, 12>> seen;
  for (const auto& list : draws) {
    for (const auto& draw : list) EXPECT_TRUE(seen.insert(draw).second);
  }
}

// Forks; parent and child each draw N bytes right after the fork (the child sends its draw
// through a pipe and must exit 0).
template <size_t N>
void DrawInParentAndChild(std::array<uint8_t, N>* parent_draw, std::array<uint8_t, N>* child_draw) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::array<uint8_t, N> draw{};
    bool ok = RandomBytes(draw).ok() &&
              write(fds[1], draw.data(), draw.size()) == static_cast<ssize_t>(draw.size());
    _exit(ok ? 0 : 1);
  }
  close(fds[1]);
  ASSERT_TRUE(RandomBytes(*parent_draw).ok());
  ASSERT_EQ(read(fds[0], child_draw->data(), N), static_cast<ssize_t>(N));
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

// The pool's page is wiped in a forked child: parent and child, drawing right after the fork
// from a pool filled before it, must not get the same nonce (with a plain buffer they would).
TEST(RandomBytes, ForkedChildDrawsOtherBytesThanItsParent) {
  std::array<uint8_t, 12> before{};
  ASSERT_TRUE(RandomBytes(before).ok());  // the pool is filled, most of it left
  std::array<uint8_t, 12> parent_draw{};
  std::array<uint8_t, 12> child_draw{};
  DrawInParentAndChild(&parent_draw, &child_draw);
  EXPECT_NE(child_draw, parent_draw);
  EXPECT_NE(child_draw, before);
}

// The process's own DRBG is reseeded in a forked child: parent and child, drawing from it
// right after the fork (requests too large for the pool), must not get the same bytes.
TEST(RandomBytes, ForkedChildsDrbgDrawsOtherBytesThanItsParents) {
  std::array<uint8_t, 512> before{};
  ASSERT_TRUE(RandomBytes(before).ok());  // the DRBG exists and is seeded before the fork
  std::array<uint8_t, 512> parent_draw{};
  std::array<uint8_t, 512> child_draw{};
  DrawInParentAndChild(&parent_draw, &child_draw);
  EXPECT_NE(child_draw, parent_draw);
}

// OpenSSL reseeds a DRBG after fork when it notices a new process id. A child whose pid
// equals the one the DRBG last drew under was not reseeded, and drew the very bytes (file keys
// and ids, nonces) its parent drew: here the child is pid 1 of a new pid namespace forked by
// pid 1 of another (a container's init that runs `unshare -pf`; pid reuse
// by a grandchild after its grandparent's exit is the same case). Runs in a user namespace of
// its own; skipped where those are not allowed.
TEST(RandomBytes, ChildWithItsParentsPidDrawsOtherBytes) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t helper = fork();  // single-threaded, so that it may unshare its user namespace
  ASSERT_GE(helper, 0);
  if (helper == 0) {
    close(fds[0]);
    if (unshare(CLONE_NEWUSER | CLONE_NEWPID) != 0) _exit(77);
    pid_t init = fork();  // pid 1 of the new namespace
    if (init < 0) _exit(77);
    if (init == 0) {
      // The DRBG draws (and notes pid 1); this process's pool (wiped by the fork) stays empty.
      std::array<uint8_t, 512> warm{};
      if (!RandomBytes(warm).ok() || unshare(CLONE_NEWPID) != 0) _exit(77);
      pid_t child = fork();  // pid 1 again, of a namespace inside
      if (child < 0) _exit(77);
      std::array<uint8_t, 32> key{};  // a file key, as Volume::CreateFile draws it
      bool ok = RandomBytes(key).ok() &&
                write(fds[1], key.data(), key.size()) == static_cast<ssize_t>(key.size());
      if (child == 0) _exit(ok ? 0 : 1);
      int status = 0;
      waitpid(child, &status, 0);
      _exit(ok && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1);
    }
    int status = 0;
    waitpid(init, &status, 0);
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
  }
  close(fds[1]);
  std::array<uint8_t, 64> keys{};
  ssize_t got = 0;
  for (ssize_t n; got < 64 && (n = read(fds[0], keys.data() + got, 64 - got)) > 0;) got += n;
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(helper, &status, 0), helper);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 77) GTEST_SKIP() << "no user and pid namespaces here";
  ASSERT_EQ(WEXITSTATUS(status), 0);
  ASSERT_EQ(got, 64);
  EXPECT_FALSE(std::equal(keys.begin(), keys.begin() + 32, keys.begin() + 32))
      << "parent and child (both pid 1) drew the same file key";
}

// A child forked while another thread was inside the DRBG (its first draw, which seeds it from
// the primary DRBG under that one's lock) waited forever for the lock at its own first draw:
// 16 children in 3,000 here before HoldRandomAcrossFork, and 1 in ~2,000 while each thread
// drew from a DRBG of its own (RAND_bytes), which OpenSSL frees at the thread's exit under a
// lock no fork handler can wait for. New threads draw and exit in a loop while the main thread
// forks; each child draws (a request too large for the pool) under an alarm.
// HoldRandomAcrossFork is called twice: a second registration once locked the mutex twice in
// the forking thread (every fork hung; the alarm below turns that into a failure).
TEST(RandomBytes, ChildForkedBesideDrawingThreadsCanDraw) {
  HoldRandomAcrossFork();
  HoldRandomAcrossFork();
  alarm(120);
  std::atomic<bool> stop{false};
  std::thread spawner([&stop] {
    while (!stop.load()) {
      std::thread([] {
        std::array<uint8_t, 512> bytes{};
        EXPECT_TRUE(RandomBytes(bytes).ok());
      }).join();
    }
  });
  int hung = 0;
  int failed = 0;
  for (int i = 0; i < 2000; ++i) {
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      alarm(10);
      std::array<uint8_t, 512> bytes{};
      _exit(RandomBytes(bytes).ok() ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    if (WIFSIGNALED(status)) ++hung;
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0) ++failed;
  }
  stop.store(true);
  spawner.join();
  alarm(0);
  EXPECT_EQ(hung, 0) << "children killed by their alarm: deadlocked in the DRBG";
  EXPECT_EQ(failed, 0);
}

TEST(Sha256, MatchesKnownAnswer) {
  std::string abc = "abc";
  auto digest = Sha256({reinterpret_cast<const uint8_t*>(abc.data()), abc.size()});
  EXPECT_EQ(HexEncode(digest), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(HkdfSha256, MatchesRfc5869TestCase1) {
  auto ikm = HexDecodeSecret("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", 22, "ikm");
  ASSERT_TRUE(ikm.ok());
  auto salt = HexDecode("000102030405060708090a0b0c", "salt");
  auto info = HexDecode("f0f1f2f3f4f5f6f7f8f9", "info");
  std::string info_text(info->begin(), info->end());
  auto okm = HkdfSha256(*ikm, info_text, 42, *salt);
  ASSERT_TRUE(okm.ok()) << okm.status().ToString();
  EXPECT_EQ(HexEncode(okm->span()),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

TEST(HkdfSha256, MatchesRfc5869TestCase3WithoutSaltAndInfo) {
  auto ikm = HexDecodeSecret("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", 22, "ikm");
  ASSERT_TRUE(ikm.ok());
  auto okm = HkdfSha256(*ikm, "", 42);
  ASSERT_TRUE(okm.ok()) << okm.status().ToString();
  EXPECT_EQ(HexEncode(okm->span()),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

// Our HMAC-based HKDF against OpenSSL's EVP_KDF "HKDF" for keys longer than an HMAC block,
// salts of every kind, and outputs spanning several expand blocks.
TEST(HkdfSha256, AgreesWithOpenSslKdf) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  ASSERT_NE(kdf, nullptr);
  for (size_t key_size : {1, 32, 64, 65, 200}) {
    for (size_t salt_size : {0, 13, 64, 100}) {
      for (size_t size : {1, 16, 32, 33, 64, 100}) {
        auto key = RandomKey(key_size);
        ASSERT_TRUE(key.ok());
        std::vector<uint8_t> salt(salt_size);
        ASSERT_TRUE(RandomBytes(salt).ok());
        std::string info = "cove/test/" + std::to_string(size);
        auto ours = HkdfSha256(*key, info, size, salt);
        ASSERT_TRUE(ours.ok()) << ours.status().ToString();
        EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
        char digest[] = "SHA256";
        OSSL_PARAM params[5];
        int n = 0;
        params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
        params[n++] = OSSL_PARAM_construct_octet_string(
            OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(key->data()), key->size());
        params[n++] =
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info.data(), info.size());
        if (salt_size != 0) {
          params[n++] =
              OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt.data(), salt.size());
        }
        params[n] = OSSL_PARAM_construct_end();
        std::vector<uint8_t> theirs(size);
        ASSERT_EQ(EVP_KDF_derive(ctx, theirs.data(), theirs.size(), params), 1);
        EVP_KDF_CTX_free(ctx);
        EXPECT_EQ(HexEncode(ours->span()), HexEncode(theirs))
            << "key " << key_size << " salt " << salt_size << " size " << size;
      }
    }
  }
  EVP_KDF_free(kdf);
  auto key = RandomKey();
  ASSERT_TRUE(key.ok());
  EXPECT_FALSE(HkdfSha256(*key, "x", 0).ok());
  EXPECT_FALSE(HkdfSha256(*key, "x", 255 * 32 + 1).ok());
}

TEST(AesGcm, RoundTripsAndRejectsTampering) {
  auto key = RandomKey();
  ASSERT_TRUE(key.ok());
  auto gcm = AesGcm::Create(*key);
  ASSERT_TRUE(gcm.ok());
  GcmNonce nonce{};
  ASSERT_TRUE(RandomBytes(nonce).ok());
  std::vector<uint8_t> plain(4096, 0x5a), cipher(4096), back(4096);
  std::vector<uint8_t> aad = {1, 2, 3};
  GcmTag tag{};
  ASSERT_TRUE((*gcm)->Seal(nonce, aad, plain, cipher.data(), tag).ok());
  EXPECT_NE(cipher, plain);
  ASSERT_TRUE((*gcm)->Open(nonce, aad, cipher, tag, back.data()).ok());
  EXPECT_EQ(back, plain);

  cipher[100] ^= 1;
  Status s = (*gcm)->Open(nonce, aad, cipher, tag, back.data());
  EXPECT_EQ(s.code(), StatusCode::kIntegrityError);
  EXPECT_EQ(back, std::vector<uint8_t>(4096, 0)) << "plaintext must be wiped on failure";
  cipher[100] ^= 1;
  aad[0] ^= 1;
  EXPECT_EQ((*gcm)->Open(nonce, aad, cipher, tag, back.data()).code(), StatusCode::kIntegrityError);
}

// The test case 16 of McGrew and Viega's GCM specification (AES-256, 60 bytes, 20 bytes of
// AAD), sealed and opened by one instance in turns with GMACs and by a clone: the one cipher
// context that serves both directions must give the standard's bytes every time.
TEST(AesGcm, MatchesKnownAnswerWhenDirectionsAlternate) {
  auto bytes = [](std::string_view hex) { return *HexDecode(hex, "test vector"); };
  std::vector<uint8_t> key_bytes =
      bytes("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
  SecretBytes key(key_bytes.data(), key_bytes.size());
  std::vector<uint8_t> plain = bytes(
      "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e24"
      "49a6b525b16aedf5aa0de657ba637b39");
  std::vector<uint8_t> aad = bytes("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  std::vector<uint8_t> expected_cipher = bytes(
      "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b10"
      "56828838c5f61e6393ba7a0abcc9f662");
  std::vector<uint8_t> expected_tag = bytes("76fc6ece0f4e1768cddf8853bb2d551b");
  GcmNonce nonce{};
  std::vector<uint8_t> iv = bytes("cafebabefacedbaddecaf888");
  std::copy(iv.begin(), iv.end(), nonce.begin());

  auto gcm = AesGcm::Create(key);
  ASSERT_TRUE(gcm.ok());
  auto clone = (*gcm)->Clone();
  ASSERT_TRUE(clone.ok());
  for (AesGcm* instance : {gcm->get(), clone->get()}) {
    for (int round = 0; round < 3; ++round) {
      std::vector<uint8_t> cipher(plain.size()), back(plain.size());
      GcmTag tag{};
      ASSERT_TRUE(instance->Seal(nonce, aad, plain, cipher.data(), tag).ok());
      EXPECT_EQ(cipher, expected_cipher) << "round " << round;
      EXPECT_EQ(std::vector<uint8_t>(tag.begin(), tag.end()), expected_tag) << "round " << round;
      ASSERT_TRUE(instance->Open(nonce, aad, cipher, tag, back.data()).ok());
      EXPECT_EQ(back, plain);
      GcmTag gmac{};
      ASSERT_TRUE(instance->Authenticate(nonce, aad, plain, gmac).ok());
      EXPECT_TRUE(instance->VerifyAuthentication(nonce, aad, plain, gmac).ok());
      tag[0] ^= 1;  // a failed open leaves the context usable for the next round
      EXPECT_EQ(instance->Open(nonce, aad, cipher, tag, back.data()).code(),
                StatusCode::kIntegrityError);
    }
  }
}

// OpenSSL's AES-256-GCM in one go, as the reference AesGcm must match whichever code it runs
// (ipsec-mb's VAES code where the CPU has it; this binary also runs with COVE_CRYPTO_VAES=0).
void ReferenceSeal(const SecretBytes& key, const GcmNonce& nonce, std::span<const uint8_t> aad,
                   std::span<const uint8_t> plain, std::vector<uint8_t>* cipher, GcmTag* tag) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  ASSERT_NE(ctx, nullptr);
  cipher->resize(plain.size() + 16);
  int len = 0;
  ASSERT_EQ(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key.data(), nonce.data()), 1);
  if (!aad.empty()) {
    ASSERT_EQ(EVP_EncryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())), 1);
  }
  if (!plain.empty()) {
    ASSERT_EQ(
        EVP_EncryptUpdate(ctx, cipher->data(), &len, plain.data(), static_cast<int>(plain.size())),
        1);
  }
  ASSERT_EQ(EVP_EncryptFinal_ex(ctx, cipher->data() + plain.size(), &len), 1);
  ASSERT_EQ(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kGcmTagSize, tag->data()), 1);
  cipher->resize(plain.size());
  EVP_CIPHER_CTX_free(ctx);
}

// Every length class the shield uses (empty: a GMAC of the AAD alone; partial blocks; a chunk;
// runs of chunks) and AAD sizes around the block size, sealed, opened and checked against the
// reference, out of place and in place, by an instance and its clone; a changed tag, byte of
// ciphertext or of AAD is refused and the output wiped.
TEST(AesGcm, AgreesWithOpenSslOnEveryLengthInAndOutOfPlace) {
  if (std::getenv("COVE_CRYPTO_VAES") == nullptr && VaesGcmKey::Available()) {
    std::printf("AesGcm runs ipsec-mb's VAES code here\n");
  }
  for (size_t length : {0, 1, 15, 16, 17, 255, 4095, 4096, 4097, 65536 + 3}) {
    for (size_t aad_length : {0, 1, 13, 16, 40}) {
      auto key = RandomKey();
      ASSERT_TRUE(key.ok());
      GcmNonce nonce{};
      ASSERT_TRUE(RandomBytes(nonce).ok());
      std::vector<uint8_t> plain(length), aad(aad_length);
      ASSERT_TRUE(RandomBytes(plain).ok());
      ASSERT_TRUE(RandomBytes(aad).ok());
      std::vector<uint8_t> expected;
      GcmTag expected_tag{};
      ReferenceSeal(*key, nonce, aad, plain, &expected, &expected_tag);
      auto gcm = AesGcm::Create(*key);
      ASSERT_TRUE(gcm.ok());
      auto clone = (*gcm)->Clone();
      ASSERT_TRUE(clone.ok());
      for (AesGcm* instance : {gcm->get(), clone->get()}) {
        SCOPED_TRACE("length " + std::to_string(length) + ", aad " + std::to_string(aad_length));
        std::vector<uint8_t> cipher(length), back(length);
        GcmTag tag{};
        ASSERT_TRUE(instance->Seal(nonce, aad, plain, cipher.data(), tag).ok());
        EXPECT_EQ(cipher, expected);
        EXPECT_EQ(tag, expected_tag);
        ASSERT_TRUE(instance->Open(nonce, aad, cipher, tag, back.data()).ok());
        EXPECT_EQ(back, plain);
        std::vector<uint8_t> in_place = plain;  // sealed and opened where it lies
        ASSERT_TRUE(instance->Seal(nonce, aad, in_place, in_place.data(), tag).ok());
        EXPECT_EQ(in_place, expected);
        ASSERT_TRUE(instance->Open(nonce, aad, in_place, tag, in_place.data()).ok());
        EXPECT_EQ(in_place, plain);
        GcmTag bad_tag = tag;
        bad_tag[15] ^= 0x80;
        back.assign(length, 0xee);
        EXPECT_EQ(instance->Open(nonce, aad, cipher, bad_tag, back.data()).code(),
                  StatusCode::kIntegrityError);
        EXPECT_EQ(back, std::vector<uint8_t>(length, 0)) << "plaintext must be wiped on failure";
        if (length > 0) {
          cipher[length / 2] ^= 1;
          EXPECT_EQ(instance->Open(nonce, aad, cipher, tag, back.data()).code(),
                    StatusCode::kIntegrityError);
          cipher[length / 2] ^= 1;
        }
        if (aad_length > 0) {
          aad[0] ^= 1;
          EXPECT_EQ(instance->Open(nonce, aad, cipher, tag, back.data()).code(),
                    StatusCode::kIntegrityError);
          aad[0] ^= 1;
        }
      }
    }
  }
}

// Where the CPU has VAES and AVX-512, AesGcm uses them unless COVE_CRYPTO_VAES=0 says not to.
TEST(AesGcm, UsesVaesWhereTheCpuHasItUnlessTurnedOff) {
  const char* setting = std::getenv("COVE_CRYPTO_VAES");
  bool off = setting != nullptr && std::string_view(setting) == "0";
  if (off) {
    EXPECT_FALSE(VaesGcmKey::Available());
    EXPECT_EQ(VaesGcmKey::Create(std::array<uint8_t, 32>{}), nullptr);
    return;
  }
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string text((std::istreambuf_iterator<char>(cpuinfo)), std::istreambuf_iterator<char>());
  for (const char* flag : {" aes", " pclmulqdq", " avx ", " avx512f", " avx512dq", " avx512cd",
                           " avx512bw", " avx512vl", " vaes", " vpclmulqdq"}) {
    if (text.find(flag) == std::string::npos) {
      GTEST_SKIP() << "no" << flag << " on this CPU: OpenSSL's code runs";
    }
  }
  EXPECT_TRUE(VaesGcmKey::Available());
  EXPECT_NE(VaesGcmKey::Create(std::array<uint8_t, 32>{}), nullptr);
}

TEST(AesGcm, RejectsShortKey) {
  SecretBytes key(16);
  EXPECT_EQ(AesGcm::Create(key).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
TEST(SecretBytes, TryForOverwriteGivesAnEmptyBufferWhenMemoryIsShort) {
  SecretBytes some = SecretBytes::TryForOverwrite(4096);
  EXPECT_EQ(some.size(), 4096u);
  ASSERT_NE(some.data(), nullptr);
#if !defined(__SANITIZE_ADDRESS__)  // ASan aborts on a failed allocation by default
  SecretBytes none = SecretBytes::TryForOverwrite(size_t{1} << 60);  // no machine has this
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(none.data(), nullptr);
#endif
}

}  // namespace cove
