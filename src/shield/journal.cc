// Encoding, writing and applying the redo journal of a protected file.
#include "shield/journal.h"

#include <fcntl.h>

#include <algorithm>
#include <cstring>

#include "common/byte_codec.h"

namespace cove::shield {
namespace {
constexpr char kMagic[8] = {'C', 'O', 'V', 'E', 'J', 'N', 'L', '1'};
}

std::string JournalPath(const std::string& host_path) {
  return host_path + ".cove-journal";
}

std::vector<uint8_t> EncodeJournal(const Journal& journal) {
  ByteWriter out;
  out.Bytes({reinterpret_cast<const uint8_t*>(kMagic), sizeof(kMagic)});
  out.Bytes(journal.file_id);
  out.U64(journal.target_generation);
  out.U64(journal.new_host_size);
  out.U32(static_cast<uint32_t>(journal.records.size()));
  for (const auto& record : journal.records) {
    out.U64(record.offset);
    out.U32(static_cast<uint32_t>(record.bytes.size()));
    out.Bytes(record.bytes);
  }
  Sha256Digest digest = Sha256(out.buffer());
  out.Bytes(digest);
  return std::move(out.buffer());
}

Result<Journal> DecodeJournal(std::span<const uint8_t> bytes, const std::string& path) {
  if (bytes.size() < sizeof(kMagic) + sizeof(Sha256Digest) ||
      std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    return DataLoss(path + ": not a cove journal or torn");
  }
  auto body = bytes.subspan(0, bytes.size() - sizeof(Sha256Digest));
  Sha256Digest digest = Sha256(body);
  if (std::memcmp(digest.data(), bytes.data() + body.size(), digest.size()) != 0) {
    return DataLoss(path + ": journal checksum mismatch (torn write)");
  }
  ByteReader in(body.subspan(sizeof(kMagic)), path);
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
