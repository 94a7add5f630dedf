// Tests of the fspf container and payload: round trips, sealing, tags and malformed input.
#include "shield/fspf.h"

#include <gtest/gtest.h>

#include "shield/shield_test_util.h"
#include "shield/volume.h"

namespace cove::shield {
namespace {

Fspf SampleFspf() {
  Fspf fspf;
  EXPECT_TRUE(fspf.AddRegion({"/data", RegionKind::kEncrypted, "/host/data"}).ok());
  EXPECT_TRUE(fspf.AddRegion({"/etc", RegionKind::kAuthenticated, ""}).ok());
  FileEntry entry;
  entry.path = "/data/a.csv";
  entry.kind = RegionKind::kEncrypted;
  entry.id.fill(7);
  entry.key = SecretBytes(32);
  entry.size = 5000;
  entry.generation = 3;
  entry.group_digests.resize(1);
  entry.group_digests[0].fill(9);
  std::string path = entry.path;
  fspf.files[path] = std::move(entry);
  return fspf;
}

TEST(Fspf, PlaintextRoundTrip) {
  auto bytes = EncodeFspfFile(SampleFspf(), nullptr, nullptr);
  ASSERT_TRUE(bytes.ok());
  auto loaded = DecodeFspfFile(*bytes, nullptr, std::nullopt, "f");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_FALSE(loaded->sealed);
  ASSERT_EQ(loaded->fspf.regions.size(), 2u);
  EXPECT_EQ(loaded->fspf.regions[0].kernel_path, "/host/data");
  EXPECT_EQ(loaded->fspf.files.at("/data/a.csv").size, 5000u);
}

TEST(Fspf, SealedRoundTripAndTagIdentifiesContent) {
  auto key = RandomKey();
  FspfTag tag1{}, tag2{};
  auto first = EncodeFspfFile(SampleFspf(), &*key, &tag1);
  auto second = EncodeFspfFile(SampleFspf(), &*key, &tag2);
  EXPECT_NE(tag1, tag2) << "a fresh nonce per write gives a fresh tag";
  auto loaded = DecodeFspfFile(*first, &*key, tag1, "f");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_TRUE(loaded->sealed);
  EXPECT_EQ(loaded->tag, tag1);
  // The older fspf is refused when the owner expects the newer tag.
  auto rolled_back = DecodeFspfFile(*first, &*key, tag2, "f");
  EXPECT_EQ(rolled_back.status().code(), StatusCode::kIntegrityError);
  EXPECT_NE(rolled_back.status().message().find("not the expected tag"), std::string::npos);
}

TEST(Fspf, EveryFlippedByteIsDetected) {
  auto key = RandomKey();
  FspfTag tag{};
  auto bytes = *EncodeFspfFile(SampleFspf(), &*key, &tag);
  for (size_t i = 0; i < bytes.size(); ++i) {
    auto copy = bytes;
    copy[i] ^= 0x01;
    EXPECT_FALSE(DecodeFspfFile(copy, &*key, std::nullopt, "f").ok()) << "byte " << i;
  }
  auto plain = *EncodeFspfFile(SampleFspf(), nullptr, nullptr);
  for (size_t i = 0; i < plain.size(); ++i) {
    auto copy = plain;
    copy[i] ^= 0x80;
    EXPECT_FALSE(DecodeFspfFile(copy, nullptr, std::nullopt, "f").ok()) << "byte " << i;
  }
}

TEST(Fspf, WrongKeyIsRefused) {
  auto key = RandomKey();
  auto other = RandomKey();
  auto bytes = *EncodeFspfFile(SampleFspf(), &*key, nullptr);
  auto loaded = DecodeFspfFile(bytes, &*other, std::nullopt, "my.fspf");
  EXPECT_EQ(loaded.status().code(), StatusCode::kIntegrityError);
  EXPECT_NE(loaded.status().message().find("my.fspf"), std::string::npos);
  EXPECT_NE(loaded.status().message().find("wrong key"), std::string::npos);
}

TEST(Fspf, TruncatedPayloadNamesTheField) {
  auto payload = EncodeFspfPayload(SampleFspf());
  for (size_t cut = 0; cut < payload.size(); ++cut) {
    auto decoded = DecodeFspfPayload({payload.data(), cut}, "fspf");
    EXPECT_FALSE(decoded.ok()) << "cut at " << cut;
  }
  auto decoded = DecodeFspfPayload({payload.data(), 10}, "fspf");
  EXPECT_NE(decoded.status().message().find("truncated at"), std::string::npos);
}

TEST(Fspf, UnknownVersionIsRefusedClearly) {
  auto payload = EncodeFspfPayload(SampleFspf());
  for (uint8_t version : {0, 4, 9}) {
    payload[0] = version;
    auto decoded = DecodeFspfPayload(payload, "fspf");
    EXPECT_EQ(decoded.status().code(), StatusCode::kUnsupported);
    EXPECT_NE(decoded.status().message().find("version " + std::to_string(version)),
              std::string::npos)
        << decoded.status().message();
  }
}

// Payload version 1 (an older cove's) is read and re-encoded as it was; a Volume's save
// writes version 3, which tells older coves to refuse the volume rather than discard its
// version 2 journals as torn or fail on its compact files one by one (fspf.h).
TEST(Fspf, Version1IsReadAndAVolumeSaveWritesVersion3) {
  Fspf fspf = SampleFspf();
  fspf.payload_version = 1;
  auto payload = EncodeFspfPayload(fspf);
  EXPECT_EQ(payload[0], 1);
  auto decoded = DecodeFspfPayload(payload, "fspf");
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->payload_version, 1u);
  EXPECT_EQ(EncodeFspfPayload(*decoded), payload);

  testing::TempDir dir;
  std::string path = dir / "v.fspf";
  auto file = EncodeFspfFile(fspf, nullptr, nullptr);
  ASSERT_TRUE(file.ok());
  testing::WriteRaw(path, *file);
  VolumeOptions options;
  options.fspf_path = path;
  auto volume = Volume::Open(std::move(options));
  ASSERT_TRUE(volume.ok()) << volume.status().ToString();
  EXPECT_EQ((*volume)->fspf().payload_version, 1u);
  (*volume)->SetStrict(true);
  ASSERT_TRUE((*volume)->Encrypt().ok());  // a save
  EXPECT_EQ((*volume)->fspf().payload_version, kFspfPayloadVersion);
  EXPECT_EQ(kFspfPayloadVersion, 3u);
}

}  // namespace
}  // namespace cove::shield
