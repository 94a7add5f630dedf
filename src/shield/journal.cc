// Encoding, writing and applying the redo journal of a protected file.
#include "shield/journal.h"

#include <fcntl.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "common/byte_codec.h"
#include "common/crc32c.h"
#include "common/crypto.h"
#include "common/hex.h"

namespace cove::shield {
namespace {

constexpr size_t kMagicSize = 8;
static_assert(kJournalHeadSize == kMagicSize + sizeof(FileId));
constexpr char kMagicV1[kMagicSize] = {'C', 'O', 'V', 'E', 'J', 'N', 'L', '1'};
constexpr char kMagicV2[kMagicSize] = {'C', 'O', 'V', 'E', 'J', 'N', 'L', '2'};

// The version whose magic `bytes` starts with, or 0 (not a cove journal).
uint32_t VersionOfMagic(std::span<const uint8_t> bytes) {
  if (bytes.size() < kMagicSize) return 0;
  if (std::memcmp(bytes.data(), kMagicV2, kMagicSize) == 0) return 2;
  if (std::memcmp(bytes.data(), kMagicV1, kMagicSize) == 0) return 1;
  return 0;
}

// The checksum that ends a journal of `version`: SHA-256 (1) or CRC-32C (2).
size_t ChecksumSize(uint32_t version) {
  return version == 1 ? sizeof(Sha256Digest) : sizeof(uint32_t);
}

// The checksum of `body` as a journal of `version` stores it.
std::vector<uint8_t> ChecksumOf(std::span<const uint8_t> body, uint32_t version) {
  ByteWriter out;
  if (version == 1) {
    out.Bytes(Sha256(body));
  } else {
    out.U32(Crc32c(body));
  }
  return std::move(out.buffer());
}

}  // namespace

std::string JournalPath(const std::string& host_path) {
  size_t name_start = host_path.rfind('/') + 1;  // npos + 1 == 0: a bare name
  size_t name_length = host_path.size() - name_start;
  if (name_length + kJournalSuffix.size() <= kMaxNameLength) {
    return host_path + std::string(kJournalSuffix);
  }
  // Too long a name for the suffix (a file whose name is 243-255 bytes could be created but
  // never changed): its first 200 bytes and a digest of the whole name, so that two such names
  // never share a journal.
  std::string_view name = std::string_view(host_path).substr(name_start);
  Sha256Digest digest = Sha256({reinterpret_cast<const uint8_t*>(name.data()), name.size()});
  return host_path.substr(0, name_start + 200) + "." + HexEncode(std::span(digest).first(16)) +
         std::string(kJournalSuffix);
}

std::vector<uint8_t> EncodeJournal(const Journal& journal, uint32_t version) {
  ByteWriter out;
  out.Bytes({reinterpret_cast<const uint8_t*>(version == 1 ? kMagicV1 : kMagicV2), kMagicSize});
  out.Bytes(journal.file_id);
  out.U64(journal.target_generation);
  out.U64(journal.new_host_size);
  out.U32(static_cast<uint32_t>(journal.records.size()));
  for (const auto& record : journal.records) {
    out.U64(record.offset);
    out.U32(static_cast<uint32_t>(record.bytes.size()));
    out.Bytes(record.bytes);
  }
  out.Bytes(ChecksumOf(out.buffer(), version));
  return std::move(out.buffer());
}

Result<Journal> DecodeJournal(std::span<const uint8_t> bytes, const std::string& path) {
  uint32_t version = VersionOfMagic(bytes);
  if (version == 0 || bytes.size() < kMagicSize + ChecksumSize(version)) {
    return DataLoss(path + ": not a cove journal or torn");
  }
  auto body = bytes.first(bytes.size() - ChecksumSize(version));
  std::vector<uint8_t> checksum = ChecksumOf(body, version);
  if (!std::equal(checksum.begin(), checksum.end(), bytes.begin() + body.size())) {
    return DataLoss(path + ": journal checksum mismatch (torn write)");
  }
  ByteReader in(body.subspan(kMagicSize), path);
  Journal journal;
  COVE_RETURN_IF_ERROR(in.Bytes(journal.file_id, "file id"));
  COVE_ASSIGN_OR_RETURN(journal.target_generation, in.U64("target generation"));
  COVE_ASSIGN_OR_RETURN(journal.new_host_size, in.U64("new host size"));
  COVE_ASSIGN_OR_RETURN(uint32_t count, in.Count("record count", 12));
  journal.records.resize(count);
  for (auto& record : journal.records) {
    COVE_ASSIGN_OR_RETURN(record.offset, in.U64("record offset"));
    COVE_ASSIGN_OR_RETURN(uint32_t length, in.Count("record length", 1));
    record.bytes.resize(length);
    COVE_RETURN_IF_ERROR(in.Bytes(record.bytes, "record bytes"));
  }
  COVE_RETURN_IF_ERROR(in.ExpectEnd());
  return journal;
}

bool IsJournalHead(std::span<const uint8_t> head) {
  constexpr size_t kCommonMagic = kMagicSize - 1;  // "COVEJNL", then the version digit
  size_t compared = std::min(head.size(), kCommonMagic);
  return compared == 0 || std::memcmp(head.data(), kMagicV2, compared) == 0;
}

std::optional<FileId> JournalFileIdOfHead(std::span<const uint8_t> head) {
  if (head.size() < kJournalHeadSize || !IsJournalHead(head)) return std::nullopt;
  FileId id{};
  std::memcpy(id.data(), head.data() + kMagicSize, id.size());
  return id;
}

bool JournalIsOfFile(Env& env, const std::string& path, const FileId& id) {
  std::array<uint8_t, kJournalHeadSize> head{};
  return ReadFileHead(env, path, head) && VersionOfMagic(head) != 0 &&
         std::memcmp(head.data() + kMagicSize, id.data(), id.size()) == 0;
}

Status WriteJournal(Env& env, const std::string& host_path, const Journal& journal, bool sync) {
  std::string path = JournalPath(host_path);
  std::vector<uint8_t> bytes = EncodeJournal(journal);
  // Never through a link someone put at the journal's name: it would truncate the target.
  COVE_ASSIGN_OR_RETURN(UniqueFd fd,
                        env.Open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600));
  COVE_RETURN_IF_ERROR(env.WriteAt(fd.get(), bytes, 0, path));
  if (!sync) return Status::Ok();
  COVE_RETURN_IF_ERROR(env.Sync(fd.get(), path));
  return env.SyncParentDir(path);
}

Status ApplyJournal(Env& env, int fd, const std::string& host_path, const Journal& journal,
                    bool sync, std::optional<uint64_t> host_size_before) {
  uint64_t host_size_after = host_size_before.value_or(0);
  for (const auto& record : journal.records) {
    COVE_RETURN_IF_ERROR(env.WriteAt(fd, record.bytes, record.offset, host_path));
    host_size_after = std::max<uint64_t>(host_size_after, record.offset + record.bytes.size());
  }
  if (!host_size_before || host_size_after != journal.new_host_size) {
    COVE_RETURN_IF_ERROR(env.Truncate(fd, journal.new_host_size, host_path));
  }
  return sync ? env.Sync(fd, host_path) : Status::Ok();
}

void JoinAdjacentRecords(std::vector<JournalRecord>& records) {
  std::sort(records.begin(), records.end(),
            [](const JournalRecord& a, const JournalRecord& b) { return a.offset < b.offset; });
  std::vector<JournalRecord> joined;
  joined.reserve(records.size());
  for (JournalRecord& record : records) {
    if (!joined.empty() && joined.back().offset + joined.back().bytes.size() == record.offset) {
      std::vector<uint8_t>& run = joined.back().bytes;
      run.insert(run.end(), record.bytes.begin(), record.bytes.end());
    } else {
      joined.push_back(std::move(record));
    }
  }
  records = std::move(joined);
}

}  // namespace cove::shield
