// Encoding and decoding of the fspf payload and container (layout in fspf.h).
#include "shield/fspf.h"

#include <cstring>

#include "common/byte_codec.h"
#include "common/hex.h"

namespace cove::shield {
namespace {

constexpr char kMagic[8] = {'C', 'O', 'V', 'E', 'F', 'S', 'P', 'F'};
constexpr size_t kPrefixSize = 16;

std::array<uint8_t, kPrefixSize> ContainerPrefix(bool sealed) {
  std::array<uint8_t, kPrefixSize> prefix{};
  std::memcpy(prefix.data(), kMagic, sizeof(kMagic));
  prefix[8] = kFspfContainerVersion & 0xff;
  prefix[12] = sealed ? 1 : 0;
  return prefix;
}

// Wipes a buffer that held a payload (it contains file keys).
struct PayloadWiper {
  std::vector<uint8_t>& buffer;
  ~PayloadWiper() {
    if (!buffer.empty()) OPENSSL_cleanse(buffer.data(), buffer.size());
  }
};

Result<Region> DecodeRegion(ByteReader& in) {
  Region region;
  COVE_ASSIGN_OR_RETURN(uint8_t kind, in.U8("region kind"));
  if (kind > static_cast<uint8_t>(RegionKind::kEncrypted)) {
    return in.Error("unknown region kind " + std::to_string(kind));
  }
  region.kind = static_cast<RegionKind>(kind);
  COVE_ASSIGN_OR_RETURN(region.path, in.String("region path", kMaxPathLength));
  COVE_ASSIGN_OR_RETURN(region.kernel_path, in.String("region kernel path", kMaxPathLength));
  auto normalized = NormalizeAbsolutePath(region.path);
  if (!normalized.ok() || *normalized != region.path) {
    return in.Error("region path '" + region.path + "' is not a normalized absolute path");
  }
  return region;
}

}  // namespace

Status Fspf::AddRegion(Region region) {
  COVE_ASSIGN_OR_RETURN(region.path, NormalizeAbsolutePath(region.path));
  for (auto& existing : regions) {
    if (existing.path == region.path) {
      existing = std::move(region);
      return Status::Ok();
    }
  }
  regions.push_back(std::move(region));
  return Status::Ok();
}

std::vector<uint8_t> EncodeFspfPayload(const Fspf& fspf) {
  ByteWriter out;
  out.U32(fspf.payload_version);
  out.U32(fspf.flags);
  out.U32(static_cast<uint32_t>(fspf.regions.size()));
  for (const auto& region : fspf.regions) {
    out.U8(static_cast<uint8_t>(region.kind));
    out.String(region.path);
    out.String(region.kernel_path);
  }
  fspf.files.Encode(out);
  return std::move(out.buffer());
}

Result<Fspf> DecodeFspfPayload(std::span<const uint8_t> payload, const std::string& what) {
  ByteReader in(payload, what);
  Fspf fspf;
  COVE_ASSIGN_OR_RETURN(fspf.payload_version, in.U32("payload version"));
  if (fspf.payload_version < kOldestFspfPayloadVersion ||
      fspf.payload_version > kFspfPayloadVersion) {
    return Unsupported(what + ": payload version " + std::to_string(fspf.payload_version) +
                       " is not supported (this cove reads versions " +
                       std::to_string(kOldestFspfPayloadVersion) + " to " +
                       std::to_string(kFspfPayloadVersion) + ")");
  }
  COVE_ASSIGN_OR_RETURN(fspf.flags, in.U32("flags"));
  if ((fspf.flags & ~kFspfFlagStrict) != 0) return in.Error("unknown flags");
  COVE_ASSIGN_OR_RETURN(uint32_t regions, in.Count("region count", 9));
  for (uint32_t i = 0; i < regions; ++i) {
    COVE_ASSIGN_OR_RETURN(Region region, DecodeRegion(in));
    for (const auto& other : fspf.regions) {
      if (other.path == region.path) return in.Error("duplicate region " + region.path);
    }
    fspf.regions.push_back(std::move(region));
  }
  COVE_ASSIGN_OR_RETURN(uint32_t files, in.Count("file count", 77));
  COVE_ASSIGN_OR_RETURN(fspf.files, FileTable::Decode(in, files, payload));
  COVE_RETURN_IF_ERROR(in.ExpectEnd());
  return fspf;
}

Result<std::vector<uint8_t>> EncodeFspfFile(const Fspf& fspf, const SecretBytes* key,
                                            FspfTag* tag) {
  // What the decoder would refuse is never written: an fspf that cannot be read back makes
  // every later start of every program on the volume fail.
  COVE_RETURN_IF_ERROR(fspf.files.CheckChanged());
  std::vector<uint8_t> payload = EncodeFspfPayload(fspf);
  PayloadWiper wipe{payload};
  bool sealed = key != nullptr && !key->empty();
  auto prefix = ContainerPrefix(sealed);
  std::vector<uint8_t> out(prefix.begin(), prefix.end());
  if (!sealed) {
    Sha256Digest digest = Sha256(payload);
    out.insert(out.end(), digest.begin(), digest.end());
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
  }
  COVE_ASSIGN_OR_RETURN(auto gcm, AesGcm::Create(*key));
  GcmNonce nonce{};
  COVE_RETURN_IF_ERROR(RandomBytes(nonce));
  out.insert(out.end(), nonce.begin(), nonce.end());
  size_t at = out.size();
  out.resize(at + payload.size() + kGcmTagSize);
  GcmTag gcm_tag{};
  COVE_RETURN_IF_ERROR(gcm->Seal(nonce, prefix, payload, out.data() + at, gcm_tag));
  std::memcpy(out.data() + at + payload.size(), gcm_tag.data(), kGcmTagSize);
  if (tag != nullptr) *tag = gcm_tag;
  return out;
}

Result<LoadedFspf> DecodeFspfFile(std::span<const uint8_t> bytes, const SecretBytes* key,
                                  const std::optional<FspfTag>& expected_tag,
                                  const std::string& path) {
  if (bytes.size() < kPrefixSize || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    return InvalidArgument(path + ": not an fspf (bad magic)");
  }
  ByteReader prefix(bytes.subspan(8, 8), path);
  uint32_t version = *prefix.U32("container version");
  if (version != kFspfContainerVersion) {
    return Unsupported(path + ": fspf container version " + std::to_string(version) +
                       " is not supported");
  }
  uint8_t sealed = bytes[12];
  if (sealed > 1 || bytes[13] != 0 || bytes[14] != 0 || bytes[15] != 0) {
    return IntegrityError(path + ": fspf header is corrupt (bytes 12..15)");
  }
  LoadedFspf loaded;
  loaded.sealed = sealed == 1;
  auto body = bytes.subspan(kPrefixSize);
  if (!loaded.sealed) {
    if (expected_tag) {
      return IntegrityError(path +
                            ": a tag was given but the fspf is not encrypted "
                            "(run `cove fspf encrypt` first)");
    }
    if (body.size() < sizeof(Sha256Digest)) return DataLoss(path + ": fspf is truncated");
    auto payload = body.subspan(sizeof(Sha256Digest));
    Sha256Digest digest = Sha256(payload);
    if (std::memcmp(digest.data(), body.data(), digest.size()) != 0) {
      return IntegrityError(path + ": plaintext fspf checksum mismatch (corrupted)");
    }
    COVE_ASSIGN_OR_RETURN(loaded.fspf, DecodeFspfPayload(payload, path));
    return loaded;
  }
  if (body.size() < kGcmNonceSize + kGcmTagSize) return DataLoss(path + ": fspf is truncated");
  std::memcpy(loaded.tag.data(), body.data() + body.size() - kGcmTagSize, kGcmTagSize);
  if (expected_tag && CRYPTO_memcmp(expected_tag->data(), loaded.tag.data(), kGcmTagSize) != 0) {
    return IntegrityError(path + ": fspf tag " + HexEncode(loaded.tag) +
                          " is not the expected tag " + HexEncode(*expected_tag) +
                          " (the fspf was replaced, e.g. rolled back to an older version)");
  }
  if (key == nullptr || key->empty()) {
    return InvalidArgument(path + ": the fspf is encrypted; its key is required");
  }
  GcmNonce nonce{};
  std::memcpy(nonce.data(), body.data(), kGcmNonceSize);
  auto ciphertext = body.subspan(kGcmNonceSize, body.size() - kGcmNonceSize - kGcmTagSize);
  std::vector<uint8_t> payload(ciphertext.size());
  PayloadWiper wipe{payload};
  COVE_ASSIGN_OR_RETURN(auto gcm, AesGcm::Create(*key));
  Status opened =
      gcm->Open(nonce, bytes.subspan(0, kPrefixSize), ciphertext, loaded.tag, payload.data());
  if (!opened.ok()) {
    return IntegrityError(path + ": fspf authentication failed (wrong key or modified fspf)");
  }
  COVE_ASSIGN_OR_RETURN(loaded.fspf, DecodeFspfPayload(payload, path));
  return loaded;
}

}  // namespace cove::shield
