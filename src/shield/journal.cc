// Encoding, writing and applying the redo journal of a protected file.
#include "shield/journal.h"

#include <fcntl.h>

#include <algorithm>
#include <cstring>

#include "common/byte_codec.h"

namespace cove::shield {
namespace {

constexpr size_t kMagicSize = 8;
constexpr char kMagicV1[kMagicSize] = {'C', 'O', 'V', 'E', 'J', 'N', 'L', '1'};
constexpr char kMagicV2[kMagicSize] = {'C', 'O', 'V', 'E', 'J', 'N', 'L', '2'};
constexpr size_t kDescriptorSize = 12;  // u64 offset | u32 length

void EncodeHeader(ByteWriter& out, const Journal& journal, const char (&magic)[kMagicSize]) {
  out.Bytes({reinterpret_cast<const uint8_t*>(magic), kMagicSize});
  out.Bytes(journal.file_id);
  out.U64(journal.target_generation);
  out.U64(journal.new_host_size);
  out.U32(static_cast<uint32_t>(journal.records.size()));
}

Status DecodeHeader(ByteReader& in, Journal& journal, uint32_t* count) {
  COVE_RETURN_IF_ERROR(in.Bytes(journal.file_id, "file id"));
  COVE_ASSIGN_OR_RETURN(journal.target_generation, in.U64("target generation"));
  COVE_ASSIGN_OR_RETURN(journal.new_host_size, in.U64("new host size"));
  COVE_ASSIGN_OR_RETURN(*count, in.Count("record count", kDescriptorSize));
  return Status::Ok();
}

bool ChecksumMatches(std::span<const uint8_t> covered, std::span<const uint8_t> stored) {
  Sha256Digest digest = Sha256(covered);
  return std::memcmp(digest.data(), stored.data(), digest.size()) == 0;
}

Result<Journal> DecodeVersion1(std::span<const uint8_t> bytes, const std::string& path) {
  auto body = bytes.subspan(0, bytes.size() - sizeof(Sha256Digest));
  if (!ChecksumMatches(body, bytes.subspan(body.size()))) {
    return DataLoss(path + ": journal checksum mismatch (torn write)");
  }
  ByteReader in(body.subspan(kMagicSize), path);
  Journal journal;
  uint32_t count = 0;
  COVE_RETURN_IF_ERROR(DecodeHeader(in, journal, &count));
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

Result<Journal> DecodeVersion2(std::span<const uint8_t> bytes, const std::string& path) {
  ByteReader in(bytes.subspan(kMagicSize), path);
  Journal journal;
  uint32_t count = 0;
  COVE_RETURN_IF_ERROR(DecodeHeader(in, journal, &count));
  journal.records.resize(count);
  std::vector<uint32_t> lengths(count);
  uint64_t total = 0;
  for (uint32_t i = 0; i < count; ++i) {
    COVE_ASSIGN_OR_RETURN(journal.records[i].offset, in.U64("record offset"));
    COVE_ASSIGN_OR_RETURN(lengths[i], in.U32("record length"));
    total += lengths[i];
  }
  size_t covered = bytes.size() - in.remaining();
  Sha256Digest stored{};
  COVE_RETURN_IF_ERROR(in.Bytes(stored, "journal checksum"));
  if (!ChecksumMatches(bytes.first(covered), stored)) {
    return DataLoss(path + ": journal checksum mismatch (torn write)");
  }
  if (total != in.remaining()) {
    return DataLoss(path + ": journal records hold " + std::to_string(in.remaining()) +
                    " bytes, their descriptors " + std::to_string(total) + " (torn write)");
  }
  for (uint32_t i = 0; i < count; ++i) {
    journal.records[i].bytes.resize(lengths[i]);
    COVE_RETURN_IF_ERROR(in.Bytes(journal.records[i].bytes, "record bytes"));
  }
  return journal;
}

}  // namespace

std::string JournalPath(const std::string& host_path) {
  return host_path + ".cove-journal";
}

std::vector<uint8_t> EncodeJournal(const Journal& journal, uint32_t version) {
  ByteWriter out;
  if (version == 1) {
    EncodeHeader(out, journal, kMagicV1);
    for (const auto& record : journal.records) {
      out.U64(record.offset);
      out.U32(static_cast<uint32_t>(record.bytes.size()));
      out.Bytes(record.bytes);
    }
    out.Bytes(Sha256(out.buffer()));
    return std::move(out.buffer());
  }
  EncodeHeader(out, journal, kMagicV2);
  for (const auto& record : journal.records) {
    out.U64(record.offset);
    out.U32(static_cast<uint32_t>(record.bytes.size()));
  }
  out.Bytes(Sha256(out.buffer()));
  for (const auto& record : journal.records) out.Bytes(record.bytes);
  return std::move(out.buffer());
}

Result<Journal> DecodeJournal(std::span<const uint8_t> bytes, const std::string& path) {
  if (bytes.size() >= kMagicSize + sizeof(Sha256Digest)) {
    if (std::memcmp(bytes.data(), kMagicV2, kMagicSize) == 0) return DecodeVersion2(bytes, path);
    if (std::memcmp(bytes.data(), kMagicV1, kMagicSize) == 0) return DecodeVersion1(bytes, path);
  }
  return DataLoss(path + ": not a cove journal or torn");
}

Status WriteJournal(Env& env, const std::string& host_path, const Journal& journal, bool sync) {
  std::string path = JournalPath(host_path);
  std::vector<uint8_t> bytes = EncodeJournal(journal);
  COVE_ASSIGN_OR_RETURN(UniqueFd fd, env.Open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600));
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
