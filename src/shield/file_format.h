// The on-disk layout of a protected file, specified once here (docs/file-shield.md explains it).
//
//   offset 0      FileHeader, kHeaderSize (4096) bytes, plaintext:
//                   0  magic "COVEPF01"        8 bytes
//                   8  format_version (2; 1 is still read) u32 LE
//                  12  chunk_size              u32 LE (power of two, 4 KiB .. 1 MiB)
//                  16  file_id                 16 bytes (random, also in the fspf entry)
//                  32  region kind             u8 (1 authenticated, 2 encrypted)
//                  33  zero padding up to 4096
//   then groups g = 0, 1, ... each covering kChunksPerGroup (128) chunks:
//     TagBlock    4096 bytes: 128 entries of 32 bytes:
//                   nonce[12] | GCM tag[16] | flags u32 LE (bit 0: chunk present; absent = zeros)
//     chunk data  128 slots of chunk_size bytes; chunk i holds AES-256-GCM ciphertext (encrypted
//                 region) or the plaintext itself (authenticated region, GMAC tag) of plaintext
//                 bytes [i*chunk_size, min(size, (i+1)*chunk_size)). The file ends right after
//                 the last byte of the last chunk.
//
// The compact layout (format version 3) of a file of at most kCompactMaxSize (4 KiB) bytes, made
// for small files (one chunk; three host pages in the layout above, and a journal for every
// rewrite): a 64-byte header and two slots, each one tag entry and the ciphertext after it:
//   offset 0      header: as above (version 3), cut to kCompactHeaderSize (64) bytes
//   offset 64     slot 0: tag entry (32 bytes) | chunk 0 (size bytes)
//   offset 4192   slot 1: the same
// Generation g lives in slot (g - 1) % 2, so a commit writes the slot the committed generation
// does not use, and the fspf write is its commit point: no journal. The other slot holds an
// older or unfinished generation, never read. The fspf digest of group 0 is the version-2
// digest of the slot's tag entry (used = 1; an empty file has no group), so the fspf entry
// does not say which layout its file has: the header does. A compact file that grows past
// kCompactMaxSize is rewritten in the layout above by its commit (through the journal); a file
// in that layout never becomes compact.
//
// Binding: each chunk's AAD is file_id | chunk index (u64) | plaintext length (u32) | kind (u8),
// so chunks cannot move within or between files or change length. Each tag block is anchored by
// its digest stored in the fspf entry, and the fspf is anchored by its tag: an old chunk, tag
// block or file fails the digest. Version 2 digests only the entries of the chunks the file
// has in the group, `used` = min(128, chunks - 128 * group) (a 4 KiB file hashes 32 bytes, not
// 4 KiB; entries past `used` are ignored and read as absent):
//   v2: SHA-256("cove-group-v2" | file_id | group index u64 | used u32 | entries[0..used))
//   v1: SHA-256("cove-group-v1" | file_id | group index u64 | whole tag block)
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>

#include "common/crypto.h"
#include "common/status.h"
#include "shield/region.h"

namespace cove::shield {

inline constexpr uint32_t kFileFormatVersion = 2;        // written by this cove
inline constexpr uint32_t kOldestFileFormatVersion = 1;  // still read (and kept by commits)
inline constexpr size_t kHeaderSize = 4096;
inline constexpr size_t kChunksPerGroup = 128;
inline constexpr size_t kTagEntrySize = 32;
inline constexpr size_t kTagBlockSize = kChunksPerGroup * kTagEntrySize;
inline constexpr uint32_t kDefaultChunkSize = 4096;
inline constexpr uint32_t kMinChunkSize = 4096;
inline constexpr uint32_t kMaxChunkSize = 1 << 20;
inline constexpr uint32_t kChunkPresent = 1;
inline constexpr uint32_t kCompactFileFormatVersion = 3;  // the compact layout (above)
inline constexpr size_t kCompactHeaderSize = 64;
inline constexpr uint64_t kCompactMaxSize = 4096;
inline constexpr uint64_t kCompactSlotSize = kTagEntrySize + kCompactMaxSize;
inline constexpr uint64_t kCompactMaxHostSize = kCompactHeaderSize + 2 * kCompactSlotSize;

// Where generation `generation` (>= 1) of a compact file has its slot.
inline uint64_t CompactSlotOffset(uint64_t generation) {
  return kCompactHeaderSize + ((generation + 1) % 2) * kCompactSlotSize;
}
// Where the bytes of generation `generation` of a compact file of `size` bytes end (a never
// committed or empty file has its header only).
inline uint64_t CompactHostEnd(uint64_t generation, uint64_t size) {
  return generation == 0 || size == 0 ? kCompactHeaderSize
                                      : CompactSlotOffset(generation) + kTagEntrySize + size;
}

using FileId = std::array<uint8_t, 16>;

struct TagEntry {
  GcmNonce nonce{};
  GcmTag tag{};
  uint32_t flags = 0;
};

// Geometry of a file with a given chunk size: where chunk i and the tag block of group g live,
// and how long the host file is for a plaintext size.
class FileGeometry {
 public:
  explicit FileGeometry(uint32_t chunk_size) : chunk_size_(chunk_size) {}
  uint32_t chunk_size() const { return chunk_size_; }
  uint64_t group_span() const { return kTagBlockSize + uint64_t{kChunksPerGroup} * chunk_size_; }
  uint64_t TagBlockOffset(uint64_t group) const { return kHeaderSize + group * group_span(); }
  uint64_t ChunkOffset(uint64_t chunk) const {
    return TagBlockOffset(chunk / kChunksPerGroup) + kTagBlockSize +
           (chunk % kChunksPerGroup) * uint64_t{chunk_size_};
  }
  uint64_t ChunkCount(uint64_t size) const { return (size + chunk_size_ - 1) / chunk_size_; }
  uint64_t GroupCount(uint64_t size) const {
    return (ChunkCount(size) + kChunksPerGroup - 1) / kChunksPerGroup;
  }
  // Plaintext bytes held by chunk `chunk` of a file of `size` bytes.
  uint32_t ChunkLength(uint64_t chunk, uint64_t size) const {
    uint64_t start = chunk * chunk_size_;
    if (start >= size) return 0;
    return static_cast<uint32_t>(std::min<uint64_t>(chunk_size_, size - start));
  }
  uint64_t HostSize(uint64_t size) const {
    uint64_t chunks = ChunkCount(size);
    if (chunks == 0) return kHeaderSize;
    return ChunkOffset(chunks - 1) + ChunkLength(chunks - 1, size);
  }

 private:
  uint32_t chunk_size_;
};

bool IsValidChunkSize(uint32_t chunk_size);

std::array<uint8_t, kHeaderSize> EncodeFileHeader(const FileId& id, uint32_t chunk_size,
                                                  RegionKind kind,
                                                  uint32_t version = kFileFormatVersion);
// Checks that `header` (the host file's first bytes, up to kHeaderSize) begins with exactly the
// header of file `id` in one of the versions this cove reads (any flipped byte is an error) and
// returns that version: a compact header (version 3) is its first kCompactHeaderSize bytes, the
// others kHeaderSize bytes; bytes after the header are not looked at.
Result<uint32_t> VerifyFileHeader(std::span<const uint8_t> header, const FileId& id,
                                  uint32_t chunk_size, RegionKind kind, const std::string& path);

void EncodeTagEntry(const TagEntry& entry, uint8_t* out);
TagEntry DecodeTagEntry(const uint8_t* in);
// The AAD binding a chunk to its file, position, length and region kind.
std::array<uint8_t, 29> ChunkAad(const FileId& id, uint64_t chunk, uint32_t length,
                                 RegionKind kind);
// The digest the fspf records for tag block `group` of a file of `version` whose group holds
// `used` chunks (see the file comment).
Sha256Digest TagBlockDigest(const FileId& id, uint64_t group, std::span<const uint8_t> block,
                            uint32_t version, uint64_t used);
// Number of chunks of a file of `chunk_count` chunks in group `group` (0..kChunksPerGroup).
inline uint64_t ChunksInGroup(uint64_t chunk_count, uint64_t group) {
  uint64_t first = group * kChunksPerGroup;
  return chunk_count <= first ? 0 : std::min<uint64_t>(kChunksPerGroup, chunk_count - first);
}

}  // namespace cove::shield
