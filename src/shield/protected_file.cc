// Chunked AES-256-GCM reads and writes, two-phase commit and crash recovery of one file.
#include "shield/protected_file.h"

#include <fcntl.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <iterator>
#include <memory>
#include <set>

#include "common/hex.h"
#include "shield/parallel_crypto.h"

namespace cove::shield {
namespace {

constexpr char kChunkKeyInfo[] = "cove/v1/chunk-key";
// A read of consecutive committed chunks is handled in runs of at most this many bytes (at
// least one chunk), and so is a write of whole chunks appended beyond the committed end
// (sealed at write time, see sealed_).
constexpr size_t kMaxReadRunBytes = 4 << 20;
constexpr size_t kMaxSealedRunBytes = 4 << 20;
// A run is cut into blocks (at least one chunk each): a block is one pread decrypted in place,
// or sealed into a per-thread staging buffer and written with one pwrite, small enough for the
// data to stay in the L2 cache between the copy and the crypto. The blocks of a run of at
// least kMinParallelBytes are shared out between the caller and helper threads
// (ParallelCrypto), smaller blocks then so that the caller never waits long for a helper's last
// one; smaller runs never wake a helper.
constexpr size_t kSerialBlockBytes = 256 << 10;
constexpr size_t kParallelBlockBytes = 64 << 10;
constexpr size_t kMinParallelBytes = 128 << 10;
// A write of at least this many bytes starts sealing appended chunks at write time in a file
// that has a committed generation (its first such write costs one journal write and fsync, not
// worth it for small appends followed by fsync, as a database log does).
constexpr size_t kMinSealedAppendWrite = 256 << 10;
// A new file is sealed at write time once it reaches this size; a smaller one stays buffered and
// goes out at its commit with its tag block in one write. Small enough that a program holding
// many new files open keeps little plaintext in memory per file, large enough for every file
// that is read whole at open (kMaxPrefetchHostBytes).
constexpr size_t kMaxBufferedNewFileBytes = 64 << 10;
// A committed file whose host file is at most this long is read whole at open (header, tag
// block and up to 6 chunks of 4 KiB): one pread serves the open and the first reads.
constexpr uint64_t kMaxPrefetchHostBytes = 32 << 10;
// The largest read-ahead window (ProtectedFile::ReadAhead), and the smallest first one. Reads of
// kMinParallelBytes or more go directly: they are parallel jobs of their own, and copying them
// out of a window costs more than their hand-offs to the helpers (cat's 128 KiB reads: 2.0-2.3
// GB/s through 1 MiB windows, 2.4-3.4 GB/s directly, on this 2-CPU VM).
constexpr size_t kMaxReadAheadBytes = 1 << 20;
constexpr size_t kMinReadAheadBytes = 64 << 10;
// The windows of all open files together stay within this (a program merging hundreds of files
// read sequentially would otherwise hold a MiB of plaintext for each), and within a sixteenth
// of the process's data limit when it has one (SCONE_HEAP sets RLIMIT_DATA: the windows must
// not take the program's heap). A file whose window cannot grow keeps the one it has, or reads
// directly.
constexpr size_t kReadAheadBudgetBytes = 64 << 20;
std::atomic<size_t> g_read_ahead_budget{0};  // 0: not computed yet
std::atomic<size_t> g_read_ahead_bytes{0};

size_t ReadAheadBudget() {
  size_t budget = g_read_ahead_budget.load(std::memory_order_relaxed);
  if (budget != 0) return budget;
  budget = kReadAheadBudgetBytes;
  struct rlimit data {};
  if (getrlimit(RLIMIT_DATA, &data) == 0 && data.rlim_cur != RLIM_INFINITY) {
    budget = std::min<size_t>(budget, data.rlim_cur / 16);
  }
  budget = std::max<size_t>(budget, 1);
  g_read_ahead_budget.store(budget, std::memory_order_relaxed);
  return budget;
}

// Takes `bytes` of the process's read-ahead budget; false when it does not have them.
bool ReserveReadAhead(size_t bytes) {
  size_t budget = ReadAheadBudget();
  size_t held = g_read_ahead_bytes.load(std::memory_order_relaxed);
  do {
    if (held + bytes > budget) return false;
  } while (
      !g_read_ahead_bytes.compare_exchange_weak(held, held + bytes, std::memory_order_relaxed));
  return true;
}

// The AES-GCM context of a file's chunks, under the key derived from its file key.
Result<std::unique_ptr<AesGcm>> ChunkCipher(const FileEntry& entry) {
  COVE_ASSIGN_OR_RETURN(SecretBytes chunk_key, HkdfSha256(entry.key, kChunkKeyInfo, 32));
  return AesGcm::Create(chunk_key);
}

}  // namespace

ProtectedFile::ProtectedFile(Env& env, std::string host_path, const FileEntry& entry, SharedFd fd,
                             std::unique_ptr<AesGcm> gcm)
    : env_(env),
      path_(entry.path),
      host_path_(std::move(host_path)),
      fd_(std::move(fd)),
      id_(entry.id),
      key_(entry.key),
      chunk_size_(entry.chunk_size),
      geometry_(entry.chunk_size),
      kind_(entry.kind),
      gcm_(std::move(gcm)) {
  committed_.size = entry.size;
  committed_.generation = entry.generation;
  committed_.group_digests = entry.group_digests;
  size_ = entry.size;
  valid_committed_chunks_ = geometry_.ChunkCount(entry.size);
}

void ProtectedFile::SetReadAheadBudgetForTesting(size_t bytes) {
  g_read_ahead_budget.store(bytes, std::memory_order_relaxed);
}

size_t ProtectedFile::ReadAheadBudgetForTesting() {
  return ReadAheadBudget();
}

size_t ProtectedFile::ReadAheadBytesForTesting() {
  return g_read_ahead_bytes.load(std::memory_order_relaxed);
}

ProtectedFile::~ProtectedFile() {
  for (auto& [chunk, plain] : dirty_) OPENSSL_cleanse(plain.data(), plain.size());
  ReleaseReadAhead();
}

void ProtectedFile::ReleaseReadAhead() {
  read_ahead_.chunks = 0;
  if (read_ahead_.plain.empty()) return;
  g_read_ahead_bytes.fetch_sub(read_ahead_.plain.size(), std::memory_order_relaxed);
  read_ahead_.plain = SecretBytes();  // wiped as it goes
}

Result<std::unique_ptr<ProtectedFile>> ProtectedFile::Open(Env& env, std::string host_path,
                                                           const FileEntry& entry, bool writable,
                                                           SharedFd host_fd, OpenFor purpose) {
  if (entry.key.size() != kAes256KeySize || !IsValidChunkSize(entry.chunk_size)) {
    return InvalidArgument(entry.path + ": invalid fspf entry (key or chunk size)");
  }
  if (purpose == OpenFor::kReplacing && writable) {
    if (auto file = OpenCompactToReplace(env, host_path, entry, host_fd)) return file;
  }
  bool small = entry.generation > 0 &&
               FileGeometry(entry.chunk_size).HostSize(entry.size) <= kMaxPrefetchHostBytes;
  if (!small) return OpenOnce(env, std::move(host_path), entry, writable, std::move(host_fd), true);
  // A small file is read whole and verified at open, and only a file that does not match its
  // fspf entry makes us look for a journal (an interrupted commit is the one innocent cause):
  // one path lookup less per open. Skipping it is safe: a file that verifies whole holds
  // exactly its committed content, and every later commit rewrites the journal before its
  // commit point, so a leftover journal is never replayed over a newer generation (nor by
  // Recover over a compact file). A compact file verifies here by its header, size and slot's
  // tag entry against the fspf digest: its slot was written whole, entry and chunk in one
  // write, before the commit point, so no journal can change it, and its chunk is
  // authenticated when first read (an open for O_TRUNC, or one that never reads, decrypts
  // nothing).
  SharedFd caller_fd = host_fd;  // for the recovery below (a read-write one serves it)
  auto file = OpenOnce(env, host_path, entry, writable, std::move(host_fd), false);
  Status verified = !file.ok()          ? file.status()
                    : (*file)->compact_ ? (*file)->VerifyCompactSlot()
                                        : (*file)->CacheCommittedPlaintext();
  if (verified.ok() || !env.Exists(JournalPath(host_path))) {
    // Without a journal, a chunk that failed here fails again, with its error, when read.
    return file;
  }
  // Lets go of its share of the host descriptor before recovery opens the file again.
  if (file.ok()) file.value().reset();
  // The caller's descriptor again: a file opened by path here would hold a second one (the
  // runtime's batch of staged rewrites counts one per file).
  return OpenOnce(env, std::move(host_path), entry, writable, std::move(caller_fd), true);
}

std::unique_ptr<ProtectedFile> ProtectedFile::OpenCompactToReplace(Env& env,
                                                                   const std::string& host_path,
                                                                   const FileEntry& entry,
                                                                   const SharedFd& host_fd) {
  // A rewrite of a small file (open with O_TRUNC, write, close) reads no chunk it would discard:
  // the one pread of the header instead of the whole file (whose copy into fresh memory, page
  // faults included, was most of such an open's cost). Nothing is trusted that is not checked:
  // the header binds the host file to the entry, and a slot read later is authenticated then.
  if (entry.generation == 0 || entry.size > kCompactMaxSize || !host_fd.valid()) return nullptr;
  ByteBuffer header(kCompactHeaderSize);
  auto got = env.ReadOnce(host_fd.get(), header, 0, host_path);
  if (!got.ok() || *got != header.size()) return nullptr;
  auto version = VerifyFileHeader(header, entry.id, entry.chunk_size, entry.kind, entry.path);
  if (!version.ok() || *version != kCompactFileFormatVersion) return nullptr;
  // The host size matters only past the layout's largest file, which a reader refuses as
  // extended: only then does the commit cut it. A one-byte read there (none at the end of the
  // file, and no page touched) instead of a truncate at every rewrite. A shorter file needs
  // nothing: a reader needs only the committed slot, which the commit writes.
  uint8_t past_layout = 0;
  auto beyond =
      env.ReadOnce(host_fd.get(), std::span(&past_layout, 1), kCompactMaxHostSize, host_path);
  if (!beyond.ok()) return nullptr;
  auto gcm = ChunkCipher(entry);
  if (!gcm.ok()) return nullptr;
  std::unique_ptr<ProtectedFile> file(
      new ProtectedFile(env, host_path, entry, host_fd, std::move(gcm).value()));
  file->compact_ = true;
  file->format_version_ = kFileFormatVersion;
  file->host_size_uncertain_ = *beyond != 0;
  return file;
}

Result<std::unique_ptr<ProtectedFile>> ProtectedFile::OpenOnce(Env& env, std::string host_path,
                                                               const FileEntry& entry,
                                                               bool writable, SharedFd host_fd,
                                                               bool check_journal) {
  COVE_ASSIGN_OR_RETURN(auto gcm, ChunkCipher(entry));
  FileGeometry geometry(entry.chunk_size);
  SharedFd fd;
  uint32_t version = kFileFormatVersion;
  ByteBuffer prefetch;  // host bytes [0, size) as read at open (ciphertext)
  if (entry.generation == 0) {
    // Never committed: (re)create the host file with just the compact layout's header (a host
    // file the caller just created is empty), which marks it as cove's (the runtime removes a
    // crashed creator's leftover by it). Its first commit writes the header of the layout the
    // file then has.
    if (host_fd.valid()) {
      fd = std::move(host_fd);
    } else {
      COVE_ASSIGN_OR_RETURN(fd, env.Open(host_path, O_RDWR | O_CREAT | O_TRUNC, 0600));
    }
    auto header =
        EncodeFileHeader(entry.id, entry.chunk_size, entry.kind, kCompactFileFormatVersion);
    COVE_RETURN_IF_ERROR(
        env.WriteAt(fd.get(), std::span(header).first(kCompactHeaderSize), 0, host_path));
  } else {
    bool has_journal = check_journal && env.Exists(JournalPath(host_path));
    if (host_fd.valid() && (writable || !has_journal)) {
      fd = std::move(host_fd);
    } else {
      auto opened = env.Open(host_path, (writable || has_journal) ? O_RDWR : O_RDONLY);
      if (!opened.ok()) {
        int err = opened.status().ToErrno();
        const char* hint = err == ENOENT                    ? " (deleted outside cove?)"
                           : err == EMFILE || err == ENFILE ? " (too many open files: ulimit -n)"
                                                            : "";
        return opened.status().WithContext(entry.path + ": recorded in the fspf (generation " +
                                           std::to_string(entry.generation) +
                                           ") but its host file cannot be opened" + hint);
      }
      fd = std::move(opened).value();
    }
    if (has_journal) COVE_RETURN_IF_ERROR(Recover(env, host_path, fd.get(), entry));
    // One pread at open: a small file whole (one byte more than expected tells an extended
    // file without an fstat), else the header and tag block 0. A file that may be compact is
    // read up to the compact layout's largest host file (its header tells the layout).
    uint64_t expected = geometry.HostSize(entry.size);
    bool whole = expected <= kMaxPrefetchHostBytes;
    bool may_be_compact = entry.size <= kCompactMaxSize;
    prefetch.resize(whole ? std::max(expected, may_be_compact ? kCompactMaxHostSize : 0) + 1
                          : std::min<uint64_t>(expected, kHeaderSize + kTagBlockSize));
    // A pread returns less than asked only at the end of a regular file: `got == expected`
    // of `expected + 1` asked is the exact size, and so is any size a compact file may have.
    // Anything else is read again to the end, then checked with fstat.
    COVE_ASSIGN_OR_RETURN(size_t got, env.ReadOnce(fd.get(), prefetch, 0, host_path));
    bool at_end = whole && (got == expected || (may_be_compact && got >= kCompactHeaderSize &&
                                                got <= kCompactMaxHostSize));
    if (got < prefetch.size() && !at_end) {
      COVE_ASSIGN_OR_RETURN(got, env.ReadAt(fd.get(), prefetch, 0, host_path));  // the rest
    }
    COVE_ASSIGN_OR_RETURN(
        version, VerifyFileHeader(std::span(prefetch).first(std::min<size_t>(got, kHeaderSize)),
                                  entry.id, entry.chunk_size, entry.kind, entry.path));
    if (version == kCompactFileFormatVersion) {
      // The committed slot must be there; the other one may be or not (a file of the compact
      // layout is at most kCompactMaxHostSize long, which the pread covered with a byte more).
      if (!may_be_compact || got > kCompactMaxHostSize) {
        return IntegrityError(entry.path + ": compact file of " + std::to_string(got) +
                              " bytes on disk for " + std::to_string(entry.size) +
                              " bytes of data: file was extended or replaced");
      }
      uint64_t needed = CompactHostEnd(entry.generation, entry.size);
      if (got < needed) {  // a short read (not at the end) is read again before it counts
        COVE_ASSIGN_OR_RETURN(got, env.ReadAt(fd.get(), prefetch, 0, host_path));
      }
      if (got < needed) {
        return DataLoss(entry.path + ": file is truncated: " + std::to_string(got) +
                        " bytes on disk, at least " + std::to_string(needed) + " expected");
      }
      prefetch.resize(got);
    } else {
      uint64_t host_size = got;
      if (!whole || got != expected) {
        COVE_ASSIGN_OR_RETURN(host_size, env.FileSize(fd.get(), host_path));
      }
      if (host_size < expected) {
        return DataLoss(entry.path + ": file is truncated: " + std::to_string(host_size) +
                        " bytes on disk, " + std::to_string(expected) + " expected");
      }
      if (host_size > expected) {
        return IntegrityError(entry.path + ": file was extended: " + std::to_string(host_size) +
                              " bytes on disk, " + std::to_string(expected) + " expected");
      }
      prefetch.resize(std::min<size_t>(got, expected));
    }
  }
  std::unique_ptr<ProtectedFile> file(
      new ProtectedFile(env, std::move(host_path), entry, std::move(fd), std::move(gcm)));
  // A compact file's digests are version 2's; a new file starts compact.
  file->compact_ = version == kCompactFileFormatVersion || entry.generation == 0;
  file->format_version_ = file->compact_ ? kFileFormatVersion : version;
  file->prefetch_ = std::move(prefetch);
  return file;
}

Status ProtectedFile::VerifyCompactSlot() {
  if (committed_.group_digests.empty()) return Status::Ok();  // an empty file
  return CommittedTagBlock(0).status();
}

Status ProtectedFile::CacheCommittedPlaintext() {
  // Every byte is written below (the chunks cover [0, size) exactly).
  SecretBytes plain = SecretBytes::ForOverwrite(static_cast<size_t>(committed_.size));
  for (uint64_t chunk = 0; chunk < valid_committed_chunks_; ++chunk) {
    COVE_RETURN_IF_ERROR(ReadCommittedChunk(chunk, plain.data() + chunk * chunk_size_,
                                            geometry_.ChunkLength(chunk, committed_.size)));
  }
  committed_plain_ = std::move(plain);
  prefetch_ = {};  // every committed byte it held is now in committed_plain_, verified
  return Status::Ok();
}

Status ProtectedFile::ReadHost(std::span<uint8_t> out, uint64_t offset) {
  if (const uint8_t* bytes = Prefetched(offset, out.size())) {
    std::memcpy(out.data(), bytes, out.size());
    return Status::Ok();
  }
  return env_.ReadExactly(fd_.get(), out, offset, host_path_);
}

Status ProtectedFile::Recover(Env& env, const std::string& host_path, int fd,
                              const FileEntry& entry) {
  std::string journal_path = JournalPath(host_path);
  uint64_t committed_host_size = FileGeometry(entry.chunk_size).HostSize(entry.size);
  // A compact file's committed bytes end with its slot (its header says which layout it has:
  // the journal of a commit that turned it into the other layout rewrites the header).
  std::array<uint8_t, kCompactHeaderSize> head{};
  COVE_ASSIGN_OR_RETURN(size_t head_size, env.ReadOnce(fd, head, 0, host_path));
  auto version = VerifyFileHeader(std::span(head).first(head_size), entry.id, entry.chunk_size,
                                  entry.kind, entry.path);
  bool compact = version.ok() && *version == kCompactFileFormatVersion;
  if (compact) committed_host_size = CompactHostEnd(entry.generation, entry.size);
  auto bytes = ReadWholeFile(env, journal_path);
  if (!bytes.ok()) return bytes.status().WithContext(entry.path + ": recovery");
  auto journal = DecodeJournal(*bytes, journal_path);
  // Compact commits write no journal: a conversion's journal left by a failed or interrupted
  // commit may have come to carry the generation they reached. A compact file whose committed
  // slot is the one the fspf records holds that generation already; the journal is stale.
  bool stale = false;
  if (compact) {
    COVE_ASSIGN_OR_RETURN(stale, CompactSlotIsCommitted(env, fd, host_path, entry));
  }
  if (journal.ok() && journal->file_id == entry.id &&
      journal->target_generation == entry.generation && !stale) {
    // The fspf commit happened before the crash: finish it.
    COVE_RETURN_IF_ERROR(ApplyJournal(env, fd, host_path, *journal));
  } else {
    // Torn journal, or the commit never reached the fspf: drop the uncommitted tail.
    uint64_t host_size = 0;
    COVE_ASSIGN_OR_RETURN(host_size, env.FileSize(fd, host_path));
    if (host_size > committed_host_size) {
      COVE_RETURN_IF_ERROR(env.Truncate(fd, committed_host_size, host_path));
      COVE_RETURN_IF_ERROR(env.Sync(fd, host_path));
    }
  }
  return env.Unlink(journal_path);
}

Result<bool> ProtectedFile::CompactSlotIsCommitted(Env& env, int fd, const std::string& host_path,
                                                   const FileEntry& entry) {
  if (entry.size > kCompactMaxSize) return false;
  if (entry.size == 0) return entry.group_digests.empty();
  if (entry.group_digests.size() != 1) return false;
  std::array<uint8_t, kTagEntrySize> slot_entry{};
  COVE_ASSIGN_OR_RETURN(size_t got,
                        env.ReadAt(fd, slot_entry, CompactSlotOffset(entry.generation), host_path));
  if (got != slot_entry.size()) return false;
  Sha256Digest digest = TagBlockDigest(entry.id, 0, slot_entry, kFileFormatVersion, 1);
  return CRYPTO_memcmp(digest.data(), entry.group_digests[0].data(), digest.size()) == 0;
}

Status ProtectedFile::ChunkAuthenticationFailed(uint64_t chunk) const {
  return IntegrityError(ChunkName(chunk) +
                        ": authentication failed (modified, moved or stale chunk)");
}

std::string ProtectedFile::ChunkName(uint64_t chunk) const {
  return path_ + ": chunk " + std::to_string(chunk) + " (offset " +
         std::to_string(chunk * chunk_size_) + ")";
}

Result<const ProtectedFile::TagBlock*> ProtectedFile::CommittedTagBlock(uint64_t group) {
  auto it = tag_blocks_.find(group);
  if (it != tag_blocks_.end()) return &it->second;
  if (group >= committed_.group_digests.size()) {
    return Internal(path_ + ": tag block " + std::to_string(group) + " is beyond the file");
  }
  TagBlock block;
  uint64_t used = ChunksInGroup(geometry_.ChunkCount(committed_.size), group);
  // A compact file's one tag entry heads its slot; the rest of its block is zeros.
  std::span<uint8_t> stored =
      compact_ ? std::span(block.bytes).first(kTagEntrySize) : std::span<uint8_t>(block.bytes);
  uint64_t offset =
      compact_ ? CompactSlotOffset(committed_.generation) : geometry_.TagBlockOffset(group);
  COVE_RETURN_IF_ERROR(ReadHost(stored, offset)
                           .WithContext(path_ + ": tag block of group " + std::to_string(group)));
  Sha256Digest digest = TagBlockDigest(id_, group, block.bytes, format_version_, used);
  if (CRYPTO_memcmp(digest.data(), committed_.group_digests[group].data(), digest.size()) != 0) {
    return IntegrityError(path_ + ": tag block of group " + std::to_string(group) + " (chunks " +
                          std::to_string(group * kChunksPerGroup) + ".." +
                          std::to_string((group + 1) * kChunksPerGroup - 1) +
                          ") does not match the fspf: file tampered with or rolled back");
  }
  // Entries past the file's chunks are outside a version-2 digest: whatever the disk holds
  // there, they read as absent and are written back as zeros.
  std::memset(block.bytes.data() + used * kTagEntrySize, 0, kTagBlockSize - used * kTagEntrySize);
  return &tag_blocks_.emplace(group, block).first->second;
}

Status ProtectedFile::ReadCommittedChunk(uint64_t chunk, uint8_t* out, uint32_t length) {
  if (committed_plain_) {
    std::memcpy(out, committed_plain_->data() + chunk * chunk_size_, length);
    return Status::Ok();
  }
  if (const uint8_t* held = ReadAheadHolds(chunk, 1)) {
    std::memcpy(out, held, length);
    return Status::Ok();
  }
  COVE_ASSIGN_OR_RETURN(const TagBlock* block, CommittedTagBlock(chunk / kChunksPerGroup));
  TagEntry entry = DecodeTagEntry(block->bytes.data() + (chunk % kChunksPerGroup) * kTagEntrySize);
  if ((entry.flags & kChunkPresent) == 0) {
    std::memset(out, 0, length);  // a hole: reads as zeros, as in a sparse file
    return Status::Ok();
  }
  return OpenChunk(chunk, entry, CommittedChunkOffset(chunk), out, length);
}

Status ProtectedFile::OpenChunk(uint64_t chunk, const TagEntry& entry, uint64_t offset,
                                uint8_t* out, uint32_t length) {
  auto aad = ChunkAad(id_, chunk, length, kind_);
  Status status;
  if (kind_ == RegionKind::kEncrypted) {
    // Decrypted straight from prefetch_ when it holds the chunk, else read into scratch_.
    const uint8_t* ciphertext = Prefetched(offset, length);
    if (ciphertext == nullptr) {
      scratch_.resize(length);
      COVE_RETURN_IF_ERROR(
          ReadHost({scratch_.data(), length}, offset).WithContext(ChunkName(chunk)));
      ciphertext = scratch_.data();
    }
    status = gcm_->Open(entry.nonce, aad, {ciphertext, length}, entry.tag, out);
  } else {
    COVE_RETURN_IF_ERROR(ReadHost({out, length}, offset).WithContext(ChunkName(chunk)));
    status = gcm_->VerifyAuthentication(entry.nonce, aad, {out, length}, entry.tag);
    if (!status.ok()) OPENSSL_cleanse(out, length);
  }
  return status.ok() ? Status::Ok() : ChunkAuthenticationFailed(chunk);
}

Status ProtectedFile::LoadChunk(uint64_t chunk, uint8_t* out, uint32_t length) {
  auto dirty = dirty_.find(chunk);
  if (dirty != dirty_.end()) {
    std::memcpy(out, dirty->second.data(), length);
    return Status::Ok();
  }
  if (const uint8_t* sealed = SealedEntry(chunk)) {
    // Sealed chunks are whole; a shorter `length` takes their prefix.
    uint64_t offset = geometry_.ChunkOffset(chunk);  // sealed appends are never compact
    if (length == chunk_size_) {
      return OpenChunk(chunk, DecodeTagEntry(sealed), offset, out, length);
    }
    std::vector<uint8_t> whole(chunk_size_);
    Status status = OpenChunk(chunk, DecodeTagEntry(sealed), offset, whole.data(), chunk_size_);
    if (status.ok()) std::memcpy(out, whole.data(), length);
    OPENSSL_cleanse(whole.data(), whole.size());
    return status;
  }
  std::memset(out, 0, length);
  if (chunk >= valid_committed_chunks_) return Status::Ok();
  // A compact file's chunk is decrypted once, at the first read that takes part of it (a
  // program reading byte by byte must not decrypt it per byte); a whole read decrypts
  // straight into the reader's buffer (Read).
  if (compact_ && !committed_plain_) COVE_RETURN_IF_ERROR(CacheCommittedPlaintext());
  uint32_t committed_length = geometry_.ChunkLength(chunk, committed_.size);
  if (committed_length == 0) return Status::Ok();
  if (committed_length <= length) return ReadCommittedChunk(chunk, out, committed_length);
  // The file shrank since the commit: read the whole committed chunk, keep the prefix.
  std::vector<uint8_t> whole(committed_length);
  Status status = ReadCommittedChunk(chunk, whole.data(), committed_length);
  if (status.ok()) std::memcpy(out, whole.data(), length);
  OPENSSL_cleanse(whole.data(), whole.size());
  return status;
}

std::vector<ProtectedFile::ChunkBlock> ProtectedFile::SplitIntoBlocks(uint64_t first,
                                                                      uint64_t count,
                                                                      size_t block_bytes) const {
  uint64_t per_block = std::max<uint64_t>(1, block_bytes / chunk_size_);
  std::vector<ChunkBlock> blocks;
  blocks.reserve(count / per_block + count / kChunksPerGroup + 2);
  for (uint64_t chunk = first, end = first + count; chunk < end;) {
    uint64_t group_end = (chunk / kChunksPerGroup + 1) * kChunksPerGroup;
    uint64_t n = std::min({per_block, end - chunk, group_end - chunk});
    blocks.push_back({chunk, static_cast<uint32_t>(n)});
    chunk += n;
  }
  return blocks;
}

bool ProtectedFile::EnsureHelperContexts(int threads) {
  while (static_cast<int>(helper_gcm_.size()) + 1 < threads) {
    auto clone = gcm_->Clone();
    if (!clone.ok()) return false;
    helper_gcm_.push_back(std::move(clone).value());
  }
  return true;
}

Status ProtectedFile::ReadCommittedRun(uint64_t first, uint64_t count, size_t bytes, uint8_t* out) {
  if (committed_plain_) {
    std::memcpy(out, committed_plain_->data() + first * chunk_size_, bytes);
    return Status::Ok();
  }
  // Tag blocks are fetched (and verified) here, on the calling thread: helpers only read them.
  uint64_t first_group = first / kChunksPerGroup;
  uint64_t last = first + count - 1;
  std::vector<const TagBlock*> tag_blocks;
  for (uint64_t g = first_group; g <= last / kChunksPerGroup; ++g) {
    COVE_ASSIGN_OR_RETURN(const TagBlock* block, CommittedTagBlock(g));
    tag_blocks.push_back(block);
  }
  uint32_t last_length = static_cast<uint32_t>(bytes - (count - 1) * chunk_size_);
  int threads = bytes >= kMinParallelBytes ? ParallelCrypto::MaxThreads() : 1;
  if (!EnsureHelperContexts(threads)) threads = 1;
  std::vector<ChunkBlock> blocks =
      SplitIntoBlocks(first, count, threads > 1 ? kParallelBlockBytes : kSerialBlockBytes);
  std::vector<Status> failures(blocks.size());
  std::atomic<bool> failed{false};
  // The ciphertext is read straight into `out` and decrypted there. When any block fails, the
  // whole run is wiped below, so `out` never keeps ciphertext or unverified plaintext.
  ParallelCrypto::Run(blocks.size(), threads, [&](size_t b, int thread) {
    if (failed.load(std::memory_order_relaxed)) return;  // all of `out` is wiped anyway
    const ChunkBlock& block = blocks[b];
    uint8_t* dst = out + (block.first - first) * chunk_size_;
    uint64_t block_last = block.first + block.count - 1;
    size_t block_bytes =
        size_t{block.count - 1} * chunk_size_ + (block_last == last ? last_length : chunk_size_);
    Status read = ReadHost({dst, block_bytes}, CommittedChunkOffset(block.first));
    if (!read.ok()) {
      failures[b] = read.WithContext(ChunkName(block.first));
      failed.store(true, std::memory_order_relaxed);
      return;
    }
    const TagBlock* tags = tag_blocks[block.first / kChunksPerGroup - first_group];
    AesGcm& gcm = GcmFor(thread);
    for (uint64_t chunk = block.first; chunk <= block_last; ++chunk) {
      uint32_t length = chunk == last ? last_length : chunk_size_;
      uint8_t* chunk_out = dst + (chunk - block.first) * chunk_size_;
      TagEntry entry =
          DecodeTagEntry(tags->bytes.data() + (chunk % kChunksPerGroup) * kTagEntrySize);
      if ((entry.flags & kChunkPresent) == 0) {
        std::memset(chunk_out, 0, length);  // a hole
        continue;
      }
      if (!gcm.Open(entry.nonce, ChunkAad(id_, chunk, length, kind_), {chunk_out, length},
                    entry.tag, chunk_out)
               .ok()) {
        failures[b] = ChunkAuthenticationFailed(chunk);
        failed.store(true, std::memory_order_relaxed);
        return;
      }
    }
  });
  if (failed.load(std::memory_order_relaxed)) {
    OPENSSL_cleanse(out, bytes);
    for (Status& failure : failures) {
      if (!failure.ok()) return failure;
    }
  }
  return Status::Ok();
}

Status ProtectedFile::ReadCommittedRunAhead(uint64_t first, uint64_t count, size_t bytes,
                                            uint64_t end, bool sequential, uint8_t* out) {
  if (const uint8_t* held = ReadAheadHolds(first, count)) {
    std::memcpy(out, held, bytes);
    return Status::Ok();
  }
  if (!sequential || committed_plain_ || compact_ || read_ahead_.failed ||
      bytes >= kMinParallelBytes || kind_ != RegionKind::kEncrypted ||
      ParallelCrypto::MaxThreads() < 2) {
    return ReadCommittedRun(first, count, bytes, out);
  }
  // A new window from `first` on: whole chunks up to `end` (the last committed chunk may be
  // short, and is then the last one).
  size_t window = read_ahead_.next_bytes == 0
                      ? std::clamp(4 * bytes, kMinReadAheadBytes, kMaxReadAheadBytes)
                      : read_ahead_.next_bytes;
  uint64_t chunks = std::min<uint64_t>(std::max<size_t>(1, window / chunk_size_), end - first);
  chunks = std::max(chunks, count);
  read_ahead_.chunks = 0;
  if (read_ahead_.plain.size() < chunks * chunk_size_) {
    size_t grown = std::max<size_t>(window, chunks * chunk_size_);
    // Allocated before the budget moves; no window when memory is short.
    SecretBytes fresh = SecretBytes::TryForOverwrite(grown);
    if (!fresh.empty() && ReserveReadAhead(grown - read_ahead_.plain.size())) {
      read_ahead_.plain = std::move(fresh);
    } else {
      // Over the budget or out of memory: the window it has (as many chunks as that holds).
      chunks = std::min<uint64_t>(chunks, read_ahead_.plain.size() / chunk_size_);
      if (chunks < count) return ReadCommittedRun(first, count, bytes, out);
    }
  }
  size_t window_bytes = static_cast<size_t>((chunks - 1) * chunk_size_) +
                        geometry_.ChunkLength(first + chunks - 1, committed_.size);
  if (!ReadCommittedRun(first, chunks, window_bytes, read_ahead_.plain.data()).ok()) {
    // A chunk of the window failed: maybe one the reader never asks for. Its own run decides.
    read_ahead_.failed = true;
    return ReadCommittedRun(first, count, bytes, out);
  }
  read_ahead_.first = first;
  read_ahead_.chunks = chunks;
  read_ahead_.next_bytes = std::min(2 * window, kMaxReadAheadBytes);
  std::memcpy(out, read_ahead_.plain.data(), bytes);
  return Status::Ok();
}

Result<size_t> ProtectedFile::Read(uint64_t offset, std::span<uint8_t> out) {
  if (offset >= size_ || out.empty()) {
    // A sequential reader at the end is done: its window goes back to the budget.
    if (offset >= size_ && offset == sequential_end_) ReleaseReadAhead();
    return size_t{0};
  }
  size_t total = static_cast<size_t>(std::min<uint64_t>(out.size(), size_ - offset));
  bool sequential = offset == sequential_end_;
  sequential_end_ = offset + total;
  size_t done = 0;
  std::vector<uint8_t> partial;
  while (done < total) {
    uint64_t pos = offset + done;
    uint64_t chunk = pos / chunk_size_;
    uint32_t in_chunk = static_cast<uint32_t>(pos % chunk_size_);
    uint32_t length = geometry_.ChunkLength(chunk, size_);
    size_t want = std::min<size_t>(total - done, length - in_chunk);
    bool whole_chunk = in_chunk == 0 && want == length;
    uint32_t committed_length = geometry_.ChunkLength(chunk, committed_.size);
    bool plain_committed =
        chunk < valid_committed_chunks_ && !dirty_.contains(chunk) && committed_length == length;
    if (whole_chunk && plain_committed && kind_ == RegionKind::kEncrypted) {
      // Fast path: a run of whole committed chunks (only the last may be short), read straight
      // into `out` and decrypted there (no bounce buffer).
      auto next_dirty = dirty_.upper_bound(chunk);
      uint64_t end = next_dirty == dirty_.end()
                         ? valid_committed_chunks_
                         : std::min(valid_committed_chunks_, next_dirty->first);
      uint64_t run = 1;
      size_t run_bytes = length;
      while (run_bytes == run * chunk_size_ && chunk + run < end && run_bytes < kMaxReadRunBytes) {
        uint32_t next = geometry_.ChunkLength(chunk + run, size_);
        if (next == 0 || next != geometry_.ChunkLength(chunk + run, committed_.size) ||
            done + run_bytes + next > total) {
          break;
        }
        ++run;
        run_bytes += next;
      }
      COVE_RETURN_IF_ERROR(
          ReadCommittedRunAhead(chunk, run, run_bytes, end, sequential, out.data() + done));
      done += run_bytes;
      continue;
    }
    if (whole_chunk) {
      COVE_RETURN_IF_ERROR(LoadChunk(chunk, out.data() + done, length));
    } else {
      partial.resize(length);
      COVE_RETURN_IF_ERROR(LoadChunk(chunk, partial.data(), length));
      std::memcpy(out.data() + done, partial.data() + in_chunk, want);
    }
    done += want;
  }
  if (!partial.empty()) OPENSSL_cleanse(partial.data(), partial.size());
  return total;
}

Result<std::vector<uint8_t>*> ProtectedFile::DirtyChunk(uint64_t chunk) {
  auto it = dirty_.find(chunk);
  if (it != dirty_.end()) return &it->second;
  std::vector<uint8_t> plain(chunk_size_, 0);
  uint32_t length = geometry_.ChunkLength(chunk, size_);
  Status loaded = length != 0 ? LoadChunk(chunk, plain.data(), length) : Status::Ok();
  if (!loaded.ok()) {
    OPENSSL_cleanse(plain.data(), plain.size());
    return loaded;
  }
  ForgetSealedChunk(chunk);  // its content lives in the dirty buffer from now on
  return &dirty_.emplace(chunk, std::move(plain)).first->second;
}

bool ProtectedFile::GroupIsBeyondCommittedEnd(uint64_t group) const {
  return geometry_.TagBlockOffset(group) >= CommittedHostEnd();
}

const uint8_t* ProtectedFile::SealedEntry(uint64_t chunk) const {
  auto it = sealed_.find(chunk / kChunksPerGroup);
  if (it == sealed_.end()) return nullptr;
  const uint8_t* slot = it->second.bytes.data() + (chunk % kChunksPerGroup) * kTagEntrySize;
  return (DecodeTagEntry(slot).flags & kChunkPresent) != 0 ? slot : nullptr;
}

void ProtectedFile::ForgetSealedChunk(uint64_t chunk) {
  auto it = sealed_.find(chunk / kChunksPerGroup);
  if (it == sealed_.end()) return;
  uint8_t* slot = it->second.bytes.data() + (chunk % kChunksPerGroup) * kTagEntrySize;
  if ((DecodeTagEntry(slot).flags & kChunkPresent) == 0) return;
  std::memset(slot, 0, kTagEntrySize);
  --sealed_chunks_;
}

Status ProtectedFile::SealAppendedChunks(uint64_t first, uint64_t count, const uint8_t* plain) {
  if (committed_.generation > 0 && !append_journal_) {
    // Target generation 0 is never a committed one: recovery always drops the tail with it.
    Journal intent;
    intent.file_id = id_;
    intent.target_generation = 0;
    intent.new_host_size = CommittedHostEnd();
    COVE_RETURN_IF_ERROR(
        WriteJournal(env_, host_path_, intent).WithContext(path_ + ": append journal"));
    append_journal_ = true;
  }
  std::vector<uint8_t> nonces(kGcmNonceSize * count);
  COVE_RETURN_IF_ERROR(RandomBytes(nonces));
  std::vector<TagEntry> entries(count);
  size_t bytes = static_cast<size_t>(count) * chunk_size_;
  int threads = bytes >= kMinParallelBytes ? ParallelCrypto::MaxThreads() : 1;
  if (!EnsureHelperContexts(threads)) threads = 1;
  size_t block_bytes = threads > 1 ? kParallelBlockBytes : kSerialBlockBytes;
  std::vector<ChunkBlock> blocks = SplitIntoBlocks(first, count, block_bytes);
  // Each thread seals its blocks into its own slot of seal_buffer_ and writes them from there.
  // Authenticated chunks are stored as their plaintext: written straight from `plain`.
  bool encrypted = kind_ == RegionKind::kEncrypted;
  // A slot holds the largest block, which is no larger than the run (a new 4 KiB file must not
  // zero-fill a 256 KiB buffer).
  size_t slot_bytes = std::min(std::max<size_t>(block_bytes / chunk_size_, 1) * chunk_size_, bytes);
  if (encrypted && seal_buffer_.size() < threads * slot_bytes) {
    seal_buffer_.resize(threads * slot_bytes);
  }
  std::vector<Status> failures(blocks.size());
  std::atomic<bool> failed{false};
  ParallelCrypto::Run(blocks.size(), threads, [&](size_t b, int thread) {
    if (failed.load(std::memory_order_relaxed)) return;
    const ChunkBlock& block = blocks[b];
    uint64_t index = block.first - first;
    const uint8_t* in = plain + index * chunk_size_;
    uint8_t* staged = encrypted ? seal_buffer_.data() + thread * slot_bytes : nullptr;
    AesGcm& gcm = GcmFor(thread);
    for (uint32_t i = 0; i < block.count; ++i) {
      TagEntry& entry = entries[index + i];
      std::memcpy(entry.nonce.data(), nonces.data() + (index + i) * kGcmNonceSize, kGcmNonceSize);
      entry.flags = kChunkPresent;
      auto aad = ChunkAad(id_, block.first + i, chunk_size_, kind_);
      std::span<const uint8_t> chunk_plain(in + size_t{i} * chunk_size_, chunk_size_);
      Status sealed = encrypted ? gcm.Seal(entry.nonce, aad, chunk_plain,
                                           staged + size_t{i} * chunk_size_, entry.tag)
                                : gcm.Authenticate(entry.nonce, aad, chunk_plain, entry.tag);
      if (!sealed.ok()) {
        failures[b] = sealed;
        failed.store(true, std::memory_order_relaxed);
        return;
      }
    }
    Status written =
        env_.WriteAt(fd_.get(), {encrypted ? staged : in, size_t{block.count} * chunk_size_},
                     geometry_.ChunkOffset(block.first), host_path_);
    if (!written.ok()) {
      failures[b] = written;
      failed.store(true, std::memory_order_relaxed);
    }
  });
  // Even after a failure some blocks may be on disk: the commit or its abort cuts them off.
  sealed_host_end_ =
      std::max(sealed_host_end_, geometry_.ChunkOffset(first + count - 1) + chunk_size_);
  if (failed.load(std::memory_order_relaxed)) {
    // The old entries (if any) stay: a chunk whose bytes were partly replaced then fails
    // authentication, it never reads back as other data.
    for (Status& failure : failures) {
      if (!failure.ok()) return failure;
    }
  }
  TagBlock* block = nullptr;
  uint64_t block_group = 0;
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t chunk = first + i;
    if (block == nullptr || chunk / kChunksPerGroup != block_group) {
      block_group = chunk / kChunksPerGroup;
      block = &sealed_[block_group];
    }
    if (auto dirty = dirty_.find(chunk); dirty != dirty_.end()) {
      OPENSSL_cleanse(dirty->second.data(), dirty->second.size());
      dirty_.erase(dirty);
    }
    uint8_t* slot = block->bytes.data() + (chunk % kChunksPerGroup) * kTagEntrySize;
    if ((DecodeTagEntry(slot).flags & kChunkPresent) == 0) ++sealed_chunks_;
    EncodeTagEntry(entries[i], slot);
  }
  return Status::Ok();
}

Status ProtectedFile::Write(uint64_t offset, std::span<const uint8_t> data) {
  if (pending_) return FailedPrecondition(path_ + ": write during a commit");
  if (data.empty()) return Status::Ok();
  if (offset + data.size() < offset || offset + data.size() > (uint64_t{1} << 50)) {
    return InvalidArgument(path_ + ": write beyond the maximum file size");
  }
  // A new file is sealed at write time once it reaches kMaxBufferedNewFileBytes; a smaller one
  // is buffered and written at its commit together with its tag block (one write, not two).
  bool seal_appends =
      !other_writers_ &&
      ((committed_.generation == 0 && offset + data.size() >= kMaxBufferedNewFileBytes) ||
       append_journal_ || data.size() >= kMinSealedAppendWrite);
  if (committer_ != nullptr && !other_writers_ && data.size() >= kMinSealedAppendWrite &&
      committed_.size > size_) {
    // A large write at the end of a file truncated since its last commit (the usual way to
    // replace a file: open with O_TRUNC, write the new content) lands in groups that overlap
    // the committed file, so its chunks would be buffered and committed through the journal
    // (every byte written twice). Committing the truncation first makes them appends beyond the
    // committed end, sealed at write time. This only moves a commit earlier: the truncation
    // is durable at the program's next fsync or close either way.
    uint64_t group = (offset + chunk_size_ - 1) / chunk_size_ / kChunksPerGroup;
    if (!GroupIsBeyondCommittedEnd(group) &&
        geometry_.TagBlockOffset(group) >= geometry_.HostSize(size_)) {
      COVE_RETURN_IF_ERROR(committer_->Commit(*this));
    }
  }
  lowest_change_ = std::min(lowest_change_, offset);  // after that commit, which resets it
  size_t done = 0;
  while (done < data.size()) {
    uint64_t pos = offset + done;
    uint64_t chunk = pos / chunk_size_;
    uint32_t in_chunk = static_cast<uint32_t>(pos % chunk_size_);
    size_t want = std::min<size_t>(data.size() - done, chunk_size_ - in_chunk);
    uint64_t group = chunk / kChunksPerGroup;
    if (seal_appends && want == chunk_size_ && GroupIsBeyondCommittedEnd(group)) {
      // A run of whole chunks in appended groups (so are all later groups): sealed now (see
      // sealed_).
      uint64_t run = std::min<uint64_t>((data.size() - done) / chunk_size_,
                                        std::max<uint64_t>(1, kMaxSealedRunBytes / chunk_size_));
      COVE_RETURN_IF_ERROR(SealAppendedChunks(chunk, run, data.data() + done));
      done += run * chunk_size_;
      size_ = std::max(size_, pos + run * chunk_size_);
      continue;
    }
    if (want == chunk_size_ && !dirty_.contains(chunk)) {
      ForgetSealedChunk(chunk);
      // A whole chunk: copy it in once (no zero fill, no load of the old content).
      dirty_.emplace(chunk, std::vector<uint8_t>(data.begin() + done, data.begin() + done + want));
    } else {
      COVE_ASSIGN_OR_RETURN(std::vector<uint8_t> * plain, DirtyChunk(chunk));
      std::memcpy(plain->data() + in_chunk, data.data() + done, want);
    }
    done += want;
    size_ = std::max(size_, pos + want);
  }
  // Buffered plaintext counts in full; a chunk sealed at write time is on disk already and
  // holds only its tag block's share of memory (a 1 GiB sequential write is one commit at the
  // end, as the program asks, not one per 32 MiB).
  if (committer_ != nullptr && !other_writers_ && DirtyBytes() > kMaxDirtyBytes) {
    return committer_->Commit(*this);
  }
  return Status::Ok();
}

Status ProtectedFile::Truncate(uint64_t size) {
  if (pending_) return FailedPrecondition(path_ + ": truncate during a commit");
  if (size > (uint64_t{1} << 50)) return InvalidArgument(path_ + ": size too large");
  lowest_change_ = std::min({lowest_change_, size, size_});
  if (size < size_) {
    uint64_t keep_chunks = geometry_.ChunkCount(size);
    for (auto it = dirty_.lower_bound(keep_chunks); it != dirty_.end();) {
      OPENSSL_cleanse(it->second.data(), it->second.size());
      it = dirty_.erase(it);
    }
    // Sealed chunks past the new end are dropped; the new last chunk, if partial, becomes dirty.
    for (auto it = sealed_.lower_bound(keep_chunks / kChunksPerGroup); it != sealed_.end(); ++it) {
      for (uint64_t e = 0; e < kChunksPerGroup; ++e) {
        uint64_t chunk = it->first * kChunksPerGroup + e;
        if (chunk >= keep_chunks) ForgetSealedChunk(chunk);
      }
    }
    uint32_t tail = static_cast<uint32_t>(size % chunk_size_);
    if (tail != 0) {
      COVE_ASSIGN_OR_RETURN(std::vector<uint8_t> * plain, DirtyChunk(size / chunk_size_));
      std::memset(plain->data() + tail, 0, chunk_size_ - tail);
    }
    valid_committed_chunks_ = std::min(valid_committed_chunks_, size / chunk_size_);
    ReleaseReadAhead();  // reads never consult it past the cut (valid_committed_chunks_)
  }
  size_ = size;
  return Status::Ok();
}

Status ProtectedFile::SealChunk(uint64_t chunk, const uint8_t* plain, uint32_t length,
                                TagEntry& entry, uint8_t* out) {
  entry.flags = kChunkPresent;
  auto aad = ChunkAad(id_, chunk, length, kind_);
  if (kind_ == RegionKind::kEncrypted) {
    return gcm_->Seal(entry.nonce, aad, {plain, length}, out, entry.tag);
  }
  std::memcpy(out, plain, length);
  return gcm_->Authenticate(entry.nonce, aad, {plain, length}, entry.tag);
}

Result<FileEntry> ProtectedFile::PrepareCommit(bool sync) {
  if (pending_) return FailedPrecondition(path_ + ": a commit is already in progress");
  Result<FileEntry> entry = PrepareCommitOnce(sync);
  // It may have extended the host file before it failed: the next commit truncates it to the
  // size it computes, whatever the bookkeeping says (else a smaller commit would leave the
  // stale tail, and the file would no longer open: "file was extended").
  if (!entry.ok()) host_size_uncertain_ = true;
  return entry;
}

Result<FileEntry> ProtectedFile::PrepareCommitOnce(bool sync) {
  if (CommitsCompact()) return PrepareCompactCommit(sync);
  // A compact file that no longer fits its layout is written whole in this one: its committed
  // chunk moves (so it is rewritten), no committed tag block exists here, and the header
  // changes. Its other slot may lie past where the new layout ends: the host file is cut to
  // the size computed below.
  bool converting = compact_;
  if (converting) {
    host_size_uncertain_ = true;
    if (valid_committed_chunks_ > 0 && SealedEntry(0) == nullptr) {
      COVE_RETURN_IF_ERROR(DirtyChunk(0).status());
    }
  }
  uint64_t committed_chunks = geometry_.ChunkCount(committed_.size);
  // The last committed chunk is re-sealed when its length changes (its AAD binds the length).
  if (committed_chunks > 0 && size_ > committed_.size && committed_.size % chunk_size_ != 0 &&
      committed_chunks - 1 < valid_committed_chunks_) {
    COVE_RETURN_IF_ERROR(DirtyChunk(committed_chunks - 1).status());
  }
  uint64_t new_chunks = geometry_.ChunkCount(size_);
  uint64_t new_groups = geometry_.GroupCount(size_);
  uint64_t old_groups = converting ? 0 : committed_.group_digests.size();
  std::set<uint64_t> touched;
  for (const auto& [chunk, plain] : dirty_) touched.insert(chunk / kChunksPerGroup);
  for (const auto& [group, block] : sealed_) {
    if (group < new_groups) touched.insert(group);
  }
  if (valid_committed_chunks_ < committed_chunks) {
    for (uint64_t g = valid_committed_chunks_ / kChunksPerGroup;
         g < std::min(old_groups, new_groups); ++g) {
      touched.insert(g);
    }
  }
  for (uint64_t g = old_groups; g < new_groups; ++g) touched.insert(g);
  // A version-2 digest covers the group's chunk count: a group that gains or loses chunks
  // (growth by a hole, shrink to a chunk boundary) gets a new digest even with no dirty chunk.
  for (uint64_t g : {old_groups - 1, new_groups - 1}) {
    if (old_groups != 0 && new_groups != 0 && g < std::min(old_groups, new_groups) &&
        ChunksInGroup(committed_chunks, g) != ChunksInGroup(new_chunks, g)) {
      touched.insert(g);
    }
  }

  Pending pending;
  pending.next.size = size_;
  pending.next.generation = committed_.generation + 1;
  pending.next.group_digests = converting ? std::vector<Sha256Digest>{} : committed_.group_digests;
  pending.next.group_digests.resize(new_groups);
  // Before the first commit no byte is referenced (0, not the header written at creation):
  // everything, the new header too, goes out before the commit point.
  uint64_t committed_host = committed_.generation == 0 ? 0 : CommittedHostEnd();
  uint64_t new_host = geometry_.HostSize(size_);
  std::vector<JournalRecord> appends;
  auto add_record = [&](uint64_t offset, std::vector<uint8_t> bytes) {
    JournalRecord record{offset, std::move(bytes)};
    (offset < committed_host ? pending.journal.records : appends).push_back(std::move(record));
  };
  // Seals the dirty chunks of group `g` and records its new tag block. A group that overlaps
  // the committed file gets one record per chunk and per tag block (journal or append). A group
  // that lies wholly beyond it (sequential appends, new files) is sealed straight into `whole`,
  // laid out as on disk (tag block, then the chunk slots), to be written with one WriteAt.
  std::vector<uint8_t> nonces;
  auto seal_group = [&](uint64_t g, uint8_t* whole) -> Status {
    TagBlock block;
    auto sealed = sealed_.find(g);
    if (sealed != sealed_.end()) {
      block = sealed->second;  // a group beyond the committed end: no committed entries
    } else if (g < old_groups) {
      COVE_ASSIGN_OR_RETURN(const TagBlock* old, CommittedTagBlock(g));
      block = *old;
    }
    // One CSPRNG call for the fresh nonces of every dirty chunk of the group.
    auto first_dirty = dirty_.lower_bound(g * kChunksPerGroup);
    auto end_dirty = dirty_.lower_bound(std::min(new_chunks, (g + 1) * kChunksPerGroup));
    nonces.resize(kGcmNonceSize * std::distance(first_dirty, end_dirty));
    if (!nonces.empty()) COVE_RETURN_IF_ERROR(RandomBytes(nonces));
    const uint8_t* next_nonce = nonces.data();
    auto dirty = first_dirty;
    // Entries past the file's last chunk are zeros (a new 4 KiB file walks 1 entry, not 128).
    uint64_t used = ChunksInGroup(new_chunks, g);
    std::memset(block.bytes.data() + used * kTagEntrySize, 0,
                (kChunksPerGroup - used) * kTagEntrySize);
    for (uint64_t e = 0; e < used; ++e) {
      uint64_t chunk = g * kChunksPerGroup + e;
      uint8_t* slot = block.bytes.data() + e * kTagEntrySize;
      bool is_dirty = dirty != end_dirty && dirty->first == chunk;
      uint32_t length = geometry_.ChunkLength(chunk, size_);
      uint8_t* out = whole != nullptr ? whole + kTagBlockSize + e * chunk_size_ : nullptr;
      bool is_sealed =
          !is_dirty && sealed != sealed_.end() && (DecodeTagEntry(slot).flags & kChunkPresent) != 0;
      if (is_sealed) {
        if (out != nullptr) return Internal(ChunkName(chunk) + ": sealed chunk in a group buffer");
      } else if (!is_dirty && chunk >= valid_committed_chunks_) {
        std::memset(slot, 0, kTagEntrySize);
        if (out != nullptr && length != 0) std::memset(out, 0, length);  // a hole
      } else if (is_dirty) {
        TagEntry entry;
        std::memcpy(entry.nonce.data(), next_nonce, kGcmNonceSize);
        next_nonce += kGcmNonceSize;
        if (out != nullptr) {
          COVE_RETURN_IF_ERROR(SealChunk(chunk, dirty->second.data(), length, entry, out));
        } else {
          std::vector<uint8_t> sealed(length);
          COVE_RETURN_IF_ERROR(
              SealChunk(chunk, dirty->second.data(), length, entry, sealed.data()));
          add_record(geometry_.ChunkOffset(chunk), std::move(sealed));
        }
        EncodeTagEntry(entry, slot);
        ++dirty;
      } else if (out != nullptr) {
        // Committed chunks all lie before the committed end of the file, never in a new group.
        return Internal(ChunkName(chunk) + ": committed chunk in an appended group");
      }
    }
    pending.next.group_digests[g] =
        TagBlockDigest(id_, g, block.bytes, format_version_, ChunksInGroup(new_chunks, g));
    if (whole != nullptr) {
      std::memcpy(whole, block.bytes.data(), kTagBlockSize);
    } else {
      add_record(geometry_.TagBlockOffset(g),
                 std::vector<uint8_t>(block.bytes.begin(), block.bytes.end()));
    }
    pending.blocks.emplace(g, block);
    return Status::Ok();
  };
  // `touched` is ordered, and every group that overlaps the committed file comes before every
  // group beyond it.
  auto appended = touched.begin();
  for (; appended != touched.end() && geometry_.TagBlockOffset(*appended) < committed_host;
       ++appended) {
    COVE_RETURN_IF_ERROR(seal_group(*appended, nullptr));
  }
  if (converting) {
    auto header = EncodeFileHeader(id_, chunk_size_, kind_, kFileFormatVersion);
    add_record(0, std::vector<uint8_t>(header.begin(), header.end()));
  }
  JoinAdjacentRecords(pending.journal.records);  // one write each when applied
  pending.journal.file_id = id_;
  pending.journal.target_generation = pending.next.generation;
  pending.journal.new_host_size = new_host;

  // Nothing beyond the committed file is written before the journal exists: recovery from a
  // crash in between is "journal present, generation not committed: drop the tail". So the
  // journal is durable before such writes even when the caller syncs the rest later (a power
  // loss must not keep an extended host file without the journal that explains it).
  if (committed_.generation > 0) {
    COVE_RETURN_IF_ERROR(
        WriteJournal(env_, host_path_, pending.journal, sync || new_host > committed_host)
            .WithContext(path_ + ": journal"));
  }
  // The host file is max(committed end, sealed appends' end) long here (an open verified the
  // committed size, an abort truncates back to it); writes below extend it to `host_end`.
  uint64_t host_end = std::max(committed_host, sealed_host_end_);
  auto write_host = [&](std::span<const uint8_t> bytes, uint64_t offset) {
    host_end = std::max(host_end, offset + bytes.size());
    return env_.WriteAt(fd_.get(), bytes, offset, host_path_);
  };
  // Records that are adjacent on disk (a group's tag block and the chunks after it) go out in
  // one write; their order does not matter before the commit point.
  auto write_records = [&](std::vector<JournalRecord>& records) -> Status {
    JoinAdjacentRecords(records);
    for (const JournalRecord& record : records) {
      COVE_RETURN_IF_ERROR(write_host(record.bytes, record.offset));
    }
    return Status::Ok();
  };
  COVE_RETURN_IF_ERROR(write_records(appends));
  // Appended groups are sealed one at a time into one reused buffer and written at once, so
  // the ciphertext is still in cache when it is copied out. A group with chunks sealed at write
  // time already has those on disk: only its dirty chunks and tag block are written.
  std::unique_ptr<uint8_t[]> group_buffer;
  for (; appended != touched.end(); ++appended) {
    if (sealed_.contains(*appended)) {
      appends.clear();
      COVE_RETURN_IF_ERROR(seal_group(*appended, nullptr));
      COVE_RETURN_IF_ERROR(write_records(appends));
      continue;
    }
    uint64_t offset = geometry_.TagBlockOffset(*appended);
    size_t size = static_cast<size_t>(std::min(geometry_.group_span(), new_host - offset));
    if (!group_buffer) {  // as large as the first group needs: no later one needs more
      group_buffer = std::make_unique_for_overwrite<uint8_t[]>(size);
    }
    COVE_RETURN_IF_ERROR(seal_group(*appended, group_buffer.get()));
    COVE_RETURN_IF_ERROR(write_host({group_buffer.get(), size}, offset));
  }
  // Never below the committed end before the commit point (the journal shrinks the file);
  // sealed appends that the file no longer reaches are cut off here, and a file that ends in a
  // hole is extended (a truncate only when the writes did not end exactly there).
  uint64_t keep_host = std::max(new_host, committed_host);
  if (host_end != keep_host || host_size_uncertain_) {
    COVE_RETURN_IF_ERROR(env_.Truncate(fd_.get(), keep_host, host_path_));
    host_size_uncertain_ = false;
  }
  pending.host_size = keep_host;  // exactly (ApplyCommit's truncate depends on it)
  if (sync) COVE_RETURN_IF_ERROR(env_.Sync(fd_.get(), host_path_));
  pending_ = std::move(pending);
  return PendingEntry();
}

Result<FileEntry> ProtectedFile::PrepareCompactCommit(bool sync) {
  Pending pending;
  pending.compact = true;
  pending.next.size = size_;
  pending.next.generation = committed_.generation + 1;
  auto length = static_cast<uint32_t>(size_);  // at most kCompactMaxSize
  // The first commit writes the header again with slot 0, in one write (a failed conversion may
  // have left another one).
  bool first = committed_.generation == 0;
  uint64_t offset = first ? 0 : CompactSlotOffset(pending.next.generation);
  ByteBuffer out((first ? kCompactHeaderSize : 0) + (length > 0 ? kTagEntrySize + length : 0));
  if (first) {
    auto header = EncodeFileHeader(id_, chunk_size_, kind_, kCompactFileFormatVersion);
    std::memcpy(out.data(), header.data(), kCompactHeaderSize);
  }
  if (length > 0) {
    // The chunk's plaintext: its dirty buffer, else what the file holds (committed or zeros).
    const uint8_t* plain = nullptr;
    SecretBytes loaded;
    if (auto dirty = dirty_.find(0); dirty != dirty_.end()) {
      plain = dirty->second.data();
    } else {
      loaded = SecretBytes::ForOverwrite(length);
      COVE_RETURN_IF_ERROR(LoadChunk(0, loaded.data(), length));
      plain = loaded.data();
    }
    // The slot: tag entry, then the sealed chunk.
    uint8_t* slot = out.data() + (first ? kCompactHeaderSize : 0);
    TagEntry entry;
    COVE_RETURN_IF_ERROR(RandomBytes(entry.nonce));
    COVE_RETURN_IF_ERROR(SealChunk(0, plain, length, entry, slot + kTagEntrySize));
    EncodeTagEntry(entry, slot);
    TagBlock& block = pending.blocks[0];  // zeros but for the one entry
    std::memcpy(block.bytes.data(), slot, kTagEntrySize);
    pending.next.group_digests = {TagBlockDigest(id_, 0, block.bytes, kFileFormatVersion, 1)};
  }
  if (!out.empty()) COVE_RETURN_IF_ERROR(env_.WriteAt(fd_.get(), out, offset, host_path_));
  // Chunks sealed at write time and dropped since, or a failed commit, may have left bytes past
  // the layout's end: cut, but never into a slot (the committed one is read until the commit
  // point).
  pending.host_size = std::max(CommittedHostEnd(), CompactHostEnd(pending.next.generation, size_));
  if (host_size_uncertain_ || sealed_host_end_ > pending.host_size) {
    COVE_RETURN_IF_ERROR(env_.Truncate(fd_.get(), pending.host_size, host_path_));
    host_size_uncertain_ = false;
  }
  if (sync) COVE_RETURN_IF_ERROR(env_.Sync(fd_.get(), host_path_));
  pending_ = std::move(pending);
  return PendingEntry();
}

FileEntry ProtectedFile::PendingEntry() const {
  FileEntry entry;
  entry.path = path_;
  entry.kind = kind_;
  entry.id = id_;
  entry.key = key_;
  entry.size = pending_->next.size;
  entry.generation = pending_->next.generation;
  entry.chunk_size = chunk_size_;
  entry.group_digests = pending_->next.group_digests;
  return entry;
}

Status ProtectedFile::ApplyCommit(bool sync) {
  if (!pending_) return FailedPrecondition(path_ + ": no commit in progress");
  if (pending_->applied) return Status::Ok();
  bool only_appended = pending_->compact || (pending_->journal.records.empty() &&
                                             pending_->journal.new_host_size >= CommittedHostEnd());
  if (!only_appended) {  // appends were made durable by PrepareCommit already
    COVE_RETURN_IF_ERROR(
        ApplyJournal(env_, fd_.get(), host_path_, pending_->journal, sync, pending_->host_size)
            .WithContext(path_ + ": applying journal"));
  }
  pending_->applied = true;
  return Status::Ok();
}

Status ProtectedFile::FinishCommit() {
  COVE_RETURN_IF_ERROR(ApplyCommit(/*sync=*/true));
  if (PendingHasJournal()) COVE_RETURN_IF_ERROR(env_.Unlink(JournalPath(host_path_)));
  committed_ = std::move(pending_->next);
  compact_ = pending_->compact;
  prefetch_ = {};  // of the previous generation
  committed_plain_.reset();
  ReleaseReadAhead();
  read_ahead_.failed = false;  // the commit may have rewritten the chunk that failed
  // The new tag blocks' map nodes move over (no 4 KiB copy each).
  while (!pending_->blocks.empty()) {
    auto node = pending_->blocks.extract(pending_->blocks.begin());
    tag_blocks_.erase(node.key());
    tag_blocks_.insert(std::move(node));
  }
  tag_blocks_.erase(tag_blocks_.lower_bound(committed_.group_digests.size()), tag_blocks_.end());
  valid_committed_chunks_ = geometry_.ChunkCount(committed_.size);
  for (auto& [chunk, plain] : dirty_) OPENSSL_cleanse(plain.data(), plain.size());
  dirty_.clear();
  sealed_.clear();
  sealed_chunks_ = 0;
  sealed_host_end_ = 0;
  append_journal_ = false;
  seal_buffer_ = {};
  lowest_change_ = UINT64_MAX;
  pending_.reset();
  return Status::Ok();
}

Status ProtectedFile::AbortCommit() {
  if (!pending_) return Status::Ok();
  if (pending_->compact) {
    // Its slot is not the committed one and lies within the compact layout's bytes: nothing
    // to undo. (Left in place, it also serves an fspf that failed only after its rename.)
    // PrepareCompactCommit already cut any appended chunks sealed at write time: only their
    // intent journal goes.
    pending_.reset();
    if (!append_journal_) return Status::Ok();
    COVE_RETURN_IF_ERROR(env_.Unlink(JournalPath(host_path_)));
    append_journal_ = false;
    sealed_.clear();
    sealed_host_end_ = 0;
    return Status::Ok();
  }
  bool journal = PendingHasJournal();
  pending_.reset();
  host_size_uncertain_ = true;  // until the truncates below succeed
  uint64_t committed_host = CommittedHostEnd();
  if (sealed_chunks_ != 0) {
    // The sealed appends stay on disk and buffered, and so does the journal: its target
    // generation is not the fspf's, so recovery still drops everything past the committed end.
    COVE_RETURN_IF_ERROR(
        env_.Truncate(fd_.get(), std::max(committed_host, sealed_host_end_), host_path_));
    host_size_uncertain_ = false;
    return env_.Sync(fd_.get(), host_path_);
  }
  if (journal) COVE_RETURN_IF_ERROR(env_.Unlink(JournalPath(host_path_)));
  append_journal_ = false;
  sealed_.clear();
  sealed_host_end_ = 0;
  COVE_RETURN_IF_ERROR(env_.Truncate(fd_.get(), committed_host, host_path_));
  host_size_uncertain_ = false;
  return env_.Sync(fd_.get(), host_path_);
}

}  // namespace cove::shield
