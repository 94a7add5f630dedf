// Tests of the crypto primitives against known answers and tamper cases.
#include "common/crypto.h"

#include <gtest/gtest.h>

#include "common/hex.h"

namespace cove {
namespace {

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

TEST(AesGcm, RejectsShortKey) {
  SecretBytes key(16);
  EXPECT_EQ(AesGcm::Create(key).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cove
