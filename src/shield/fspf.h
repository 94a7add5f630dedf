// The fspf (file system protection file): the regions and, per protected file, what is needed
// to verify it (id, key, size, tag-block digests). On disk it is a small container:
//
//   0  magic "COVEFSPF"  8 bytes
//   8  container version u32 LE (=1)
//  12  sealed            u8 (0: plaintext, as built by `fspf create/addr/addf`; 1: AES-256-GCM)
//  13  reserved          3 zero bytes
//  16  plaintext: SHA-256(payload)[32] | payload
//      sealed:    nonce[12] | AES-256-GCM(fspf key, aad = bytes 0..15)(payload) | tag[16]
//
// The GCM tag of a sealed fspf identifies its exact content: freshness is "the fspf tag equals
// the one the owner expects". The payload is, little-endian:
//   u32 payload version (1 or 2) | u32 flags (bit 0: strict) |
//   u32 region count, per region: u8 kind | string path | string kernel path
//   u32 file count, per file: string path | u8 kind | file id[16] | key[32] | u64 size |
//       u64 generation | u32 chunk size | u32 group count | digest[32] * group count
// where string = u32 length | bytes. A reader refuses versions it does not know. Versions 1
// to 3 have the same layout: 2 says that the files' redo journals may be version 2
// (journal.h), which a cove reading only version 1 would discard as torn; 3 that host files
// may be in the compact layout (file_format.h), which a cove reading only up to 2 would refuse
// file by file. Such a cove refuses the fspf instead. Every save by this cove writes version 3.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/crypto.h"
#include "common/secret_bytes.h"
#include "common/status.h"
#include "shield/file_format.h"
#include "shield/file_table.h"
#include "shield/region.h"

namespace cove::shield {

inline constexpr uint32_t kFspfContainerVersion = 1;
inline constexpr uint32_t kFspfPayloadVersion = 3;        // written by Volume saves
inline constexpr uint32_t kOldestFspfPayloadVersion = 1;  // still read
inline constexpr uint32_t kFspfFlagStrict = 1;

// The decoded payload.
struct Fspf {
  uint32_t payload_version = kFspfPayloadVersion;  // as read (re-encoded as is)
  uint32_t flags = 0;
  std::vector<Region> regions;
  FileTable files;  // by protected path, decoded when first used (file_table.h)

  bool strict() const { return (flags & kFspfFlagStrict) != 0; }
  const Region* RegionFor(std::string_view path) const { return FindRegion(regions, path); }
  // Adds or replaces the region at `region.path` (normalized).
  Status AddRegion(Region region);
};

using FspfTag = GcmTag;

// Serialization of the payload (the plaintext buffer holds keys: callers wipe it).
std::vector<uint8_t> EncodeFspfPayload(const Fspf& fspf);
Result<Fspf> DecodeFspfPayload(std::span<const uint8_t> payload, const std::string& what);

// A decoded fspf file and how it was stored.
struct LoadedFspf {
  Fspf fspf;
  bool sealed = false;
  FspfTag tag{};  // meaningful when sealed
};

// Encodes an fspf container: plaintext when `key` is empty, else sealed with a fresh nonce
// (the new tag is returned through `tag`).
Result<std::vector<uint8_t>> EncodeFspfFile(const Fspf& fspf, const SecretBytes* key, FspfTag* tag);
// Decodes a container. A sealed one needs `key`; when `expected_tag` is given, a different
// tag is refused before decryption (rollback to an older fspf).
Result<LoadedFspf> DecodeFspfFile(std::span<const uint8_t> bytes, const SecretBytes* key,
                                  const std::optional<FspfTag>& expected_tag,
                                  const std::string& path);

}  // namespace cove::shield
