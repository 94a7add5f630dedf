// Encoding of the protected-file header, tag entries, chunk AAD and tag-block digests.
#include "shield/file_format.h"

#include <algorithm>
#include <cstring>

namespace cove::shield {
namespace {
constexpr char kMagic[8] = {'C', 'O', 'V', 'E', 'P', 'F', '0', '1'};

void PutLe(uint8_t* out, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint32_t GetLe32(const uint8_t* in) {
  return uint32_t{in[0]} | uint32_t{in[1]} << 8 | uint32_t{in[2]} << 16 | uint32_t{in[3]} << 24;
}
}  // namespace

bool IsValidChunkSize(uint32_t chunk_size) {
  return chunk_size >= kMinChunkSize && chunk_size <= kMaxChunkSize &&
         (chunk_size & (chunk_size - 1)) == 0;
}

std::array<uint8_t, kHeaderSize> EncodeFileHeader(const FileId& id, uint32_t chunk_size,
                                                  RegionKind kind, uint32_t version) {
  std::array<uint8_t, kHeaderSize> header{};
  std::memcpy(header.data(), kMagic, sizeof(kMagic));
  PutLe(header.data() + 8, version, 4);
  PutLe(header.data() + 12, chunk_size, 4);
  std::memcpy(header.data() + 16, id.data(), id.size());
  header[32] = static_cast<uint8_t>(kind);
  return header;
}

Result<uint32_t> VerifyFileHeader(std::span<const uint8_t> header, const FileId& id,
                                  uint32_t chunk_size, RegionKind kind, const std::string& path) {
  if (header.size() >= sizeof(kMagic) && std::memcmp(header.data(), kMagic, sizeof(kMagic)) != 0) {
    return IntegrityError(path + ": header: not a cove protected file (bad magic)");
  }
  if (header.size() < 12) {
    return DataLoss(path + ": header: file is truncated (" + std::to_string(header.size()) +
                    " bytes)");
  }
  uint32_t version = GetLe32(header.data() + 8);
  if ((version < kOldestFileFormatVersion || version > kFileFormatVersion) &&
      version != kCompactFileFormatVersion) {
    return Unsupported(path + ": header: format version " + std::to_string(version) +
                       " is not supported (this cove reads versions " +
                       std::to_string(kOldestFileFormatVersion) + " to " +
                       std::to_string(kCompactFileFormatVersion) + ")");
  }
  size_t length = version == kCompactFileFormatVersion ? kCompactHeaderSize : kHeaderSize;
  if (header.size() < length) {
    return DataLoss(path + ": header: file is truncated (" + std::to_string(header.size()) +
                    " bytes)");
  }
  if (std::memcmp(header.data() + 16, id.data(), id.size()) != 0) {
    return IntegrityError(path +
                          ": header: file id does not match the fspf entry "
                          "(file replaced by another protected file)");
  }
  auto expected = EncodeFileHeader(id, chunk_size, kind, version);
  if (std::memcmp(header.data(), expected.data(), length) != 0) {
    return IntegrityError(path + ": header: modified (chunk size, region kind or padding)");
  }
  return version;
}

void EncodeTagEntry(const TagEntry& entry, uint8_t* out) {
  std::memcpy(out, entry.nonce.data(), kGcmNonceSize);
  std::memcpy(out + kGcmNonceSize, entry.tag.data(), kGcmTagSize);
  PutLe(out + kGcmNonceSize + kGcmTagSize, entry.flags, 4);
}

TagEntry DecodeTagEntry(const uint8_t* in) {
  TagEntry entry;
  std::memcpy(entry.nonce.data(), in, kGcmNonceSize);
  std::memcpy(entry.tag.data(), in + kGcmNonceSize, kGcmTagSize);
  entry.flags = GetLe32(in + kGcmNonceSize + kGcmTagSize);
  return entry;
}

std::array<uint8_t, 29> ChunkAad(const FileId& id, uint64_t chunk, uint32_t length,
                                 RegionKind kind) {
  std::array<uint8_t, 29> aad{};
  std::memcpy(aad.data(), id.data(), id.size());
  PutLe(aad.data() + 16, chunk, 8);
  PutLe(aad.data() + 24, length, 4);
  aad[28] = static_cast<uint8_t>(kind);
  return aad;
}

Sha256Digest TagBlockDigest(const FileId& id, uint64_t group, std::span<const uint8_t> block,
                            uint32_t version, uint64_t used) {
  Sha256Hasher hasher;
  uint8_t index[8];
  PutLe(index, group, 8);
  if (version == 1) {
    hasher.Update("cove-group-v1");
    hasher.Update(id);
    hasher.Update(index);
    hasher.Update(block);
    return hasher.Finish();
  }
  used = std::min<uint64_t>(used, block.size() / kTagEntrySize);
  uint8_t count[4];
  PutLe(count, used, 4);
  hasher.Update("cove-group-v2");
  hasher.Update(id);
  hasher.Update(index);
  hasher.Update(count);
  hasher.Update(block.first(used * kTagEntrySize));
  return hasher.Finish();
}

}  // namespace cove::shield
