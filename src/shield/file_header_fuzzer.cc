// libFuzzer target for the protected-file header and tag-entry parsers: VerifyFileHeader accepts
// exactly the input that begins with the header EncodeFileHeader makes for the id, chunk size and
// kind it is checked against (64 bytes of a compact one, 4096 of the others), and a tag entry
// decodes and re-encodes to the same 32 bytes.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

#include "shield/file_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cove::shield;
  std::span<const uint8_t> input(data, size);

  // The id, chunk size and kind it is checked against come from the input itself, so that the
  // fuzzer reaches acceptance as easily as each refusal.
  FileId id{};
  uint32_t chunk_size = kDefaultChunkSize;
  uint8_t kind = static_cast<uint8_t>(RegionKind::kEncrypted);
  if (size >= 33) {
    std::memcpy(id.data(), data + 16, id.size());
    chunk_size = uint32_t{data[12]} | uint32_t{data[13]} << 8 | uint32_t{data[14]} << 16 |
                 uint32_t{data[15]} << 24;
    kind = data[32];
  }
  auto verified = VerifyFileHeader(input, id, chunk_size, static_cast<RegionKind>(kind), "fuzz");
  bool identical = false;  // to the header of any version this cove reads
  for (uint32_t version = kOldestFileFormatVersion; version <= kCompactFileFormatVersion;
       ++version) {
    // A compact header is its first 64 bytes, whatever follows; the others are 4096 bytes.
    size_t length = version == kCompactFileFormatVersion ? kCompactHeaderSize : kHeaderSize;
    auto expected = EncodeFileHeader(id, chunk_size, static_cast<RegionKind>(kind), version);
    if (size >= length && std::memcmp(data, expected.data(), length) == 0) {
      identical = true;
      if (!verified.ok() || *verified != version) std::abort();
    }
  }
  if (verified.ok() != identical) std::abort();
  if (!verified.ok() && verified.status().message().find("fuzz: header:") != 0) std::abort();

  // Against a different id, a header never verifies.
  FileId other = id;
  other[0] ^= 0x80;
  if (VerifyFileHeader(input, other, chunk_size, static_cast<RegionKind>(kind), "fuzz").ok()) {
    std::abort();
  }

  // Every 32-byte window as a tag entry: decode then encode gives the same bytes.
  for (size_t at = 0; at + kTagEntrySize <= size && at < 64 * kTagEntrySize; at += kTagEntrySize) {
    TagEntry entry = DecodeTagEntry(data + at);
    uint8_t again[kTagEntrySize];
    EncodeTagEntry(entry, again);
    if (std::memcmp(again, data + at, kTagEntrySize) != 0) std::abort();
  }

  // Geometry must be consistent for any valid chunk size and size.
  if (IsValidChunkSize(chunk_size) && size >= 8) {
    uint64_t plain_size = 0;
    std::memcpy(&plain_size, data, 8);
    plain_size &= (uint64_t{1} << 50) - 1;
    FileGeometry geometry(chunk_size);
    uint64_t chunks = geometry.ChunkCount(plain_size);
    if (chunks > 0) {
      uint64_t last = chunks - 1;
      uint32_t length = geometry.ChunkLength(last, plain_size);
      if (length == 0 || length > chunk_size) std::abort();
      if (geometry.HostSize(plain_size) != geometry.ChunkOffset(last) + length) std::abort();
      if (geometry.ChunkOffset(last) <
          geometry.TagBlockOffset(last / kChunksPerGroup) + kTagBlockSize) {
        std::abort();
      }
    }
    if (geometry.ChunkLength(chunks, plain_size) != 0) std::abort();
  }
  return 0;
}
