// The redo journal that makes a protected file's commit crash-safe. Before the fspf records a
// new generation of a file, the bytes that will overwrite committed data are written to
// "<host path>.cove-journal" and made durable; after the fspf commit they are applied and the
// journal is removed. On open, a journal whose target generation equals the fspf's is replayed
// (the commit happened), any other is discarded with the uncommitted tail of the file (it
// did not). Layout, little-endian:
//   magic "COVEJNL2" | file id[16] | u64 target generation | u64 new host size |
//   u32 record count | records: u64 offset | u32 length | bytes | CRC-32C of all before [4]
// The checksum detects a torn journal (one a crash cut short, or an old one a lost unlink
// brought back with a changed byte): such a journal is discarded, never replayed. It is no
// defence against an attacker, who could rewrite the file itself; the fspf's digests and the
// GCM tags are, after any replay. Version 1 ("COVEJNL1", still read: a crash leftover of an
// older cove) ends with a SHA-256 instead, which cost 7 us per rewritten 4 KiB file here (its
// 8 KiB of records at ~1.2 GB/s) against ~1 us. The fspf's payload version 2 tells older coves,
// which would discard a version 2 journal as torn, to refuse the volume instead (fspf.h).
// The journal holds only ciphertext and tags (never keys or plaintext of encrypted files).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/env.h"
#include "shield/file_format.h"

namespace cove::shield {

struct JournalRecord {
  uint64_t offset = 0;
  std::vector<uint8_t> bytes;
};

struct Journal {
  FileId file_id{};
  uint64_t target_generation = 0;
  uint64_t new_host_size = 0;
  std::vector<JournalRecord> records;
};

inline constexpr uint32_t kJournalVersion = 2;  // written; 1 is still read

inline constexpr std::string_view kJournalSuffix = ".cove-journal";
inline constexpr size_t kMaxNameLength = 255;  // NAME_MAX of Linux file systems
// Whether `name` (a file name, or a path) is one a journal may have: something, then the
// suffix. Listings hide such names when they are journals; protected files may not take them.
inline bool IsJournalName(std::string_view name) {
  return name.size() > kJournalSuffix.size() && name.ends_with(kJournalSuffix);
}
// "<host path>.cove-journal"; for a name too long for the suffix, the name's first 200 bytes,
// "." and 32 hex digits of its SHA-256, then the suffix.
std::string JournalPath(const std::string& host_path);
// `version` 1 only for tests of what an older cove left behind.
std::vector<uint8_t> EncodeJournal(const Journal& journal, uint32_t version = kJournalVersion);
Result<Journal> DecodeJournal(std::span<const uint8_t> bytes, const std::string& path);

// Whether `head`, the first bytes of a file (all of them when it is shorter), are a journal's:
// the magic of either version, or a beginning of it (a journal a crash cut short before its
// first write landed whole, an empty one too). A protected file's host file starts "COVEPF01".
bool IsJournalHead(std::span<const uint8_t> head);
// The first bytes of a journal that name its file: magic | file id.
inline constexpr size_t kJournalHeadSize = 8 + sizeof(FileId);
// The file id in `head`, the first bytes of a journal (IsJournalHead); nullopt when too short.
std::optional<FileId> JournalFileIdOfHead(std::span<const uint8_t> head);
// Whether the journal at `path` is one (of either version) of file `id`: read from its
// first bytes, without decoding the rest. False when it cannot be read.
bool JournalIsOfFile(Env& env, const std::string& path, const FileId& id);
// Writes the journal durably (file and directory entry); sync=false leaves that to the caller
// (a staged batch: one syncfs before the fspf that names the journal's generation).
Status WriteJournal(Env& env, const std::string& host_path, const Journal& journal,
                    bool sync = true);
// Applies records and the host size to the data file and makes it durable (sync=false: the
// caller syncs before it removes the journal). `host_size_before`, when the caller knows it,
// spares the truncate when the records leave the file at its new size already.
Status ApplyJournal(Env& env, int fd, const std::string& host_path, const Journal& journal,
                    bool sync = true, std::optional<uint64_t> host_size_before = std::nullopt);
// Sorts `records` by offset and joins those adjacent on disk (a tag block and the chunk after
// it) into one, so that each run is one write.
void JoinAdjacentRecords(std::vector<JournalRecord>& records);

}  // namespace cove::shield
