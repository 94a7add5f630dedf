// ProtectedFile: random-access read and write of one protected file (layout in file_format.h).
// Reads decrypt and verify only the chunks they touch (a small file is verified whole at open, a
// compact one by its slot's tag entry); writes are buffered per chunk and sealed at commit (whole
// chunks appended beyond the committed end are sealed at once), so both cost O(chunk). A commit
// has two phases so that the fspf write in between is the single commit point: PrepareCommit makes
// the new chunks and a redo journal (a compact file: its other slot) durable and returns the entry
// the fspf must record; FinishCommit applies the journal once the fspf is durable. ProtectedFile
// is not thread-safe: its owner serializes calls (a large read or write may share its chunk
// crypto with helper threads, ParallelCrypto, but only within the call).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/crypto.h"
#include "common/env.h"
#include "common/uninitialized_buffer.h"
#include "shield/fspf.h"
#include "shield/journal.h"

namespace cove::shield {

class ProtectedFile;

// Who commits a file when its buffered writes grow too large (the Volume, which owns the fspf).
class FileCommitter {
 public:
  virtual ~FileCommitter() = default;
  virtual Status Commit(ProtectedFile& file) = 0;
};

// What a file is opened for. kReplacing: the caller empties it (O_TRUNC) before anything
// else, so its committed content need not be checked at open; whatever of it is read anyway is
// authenticated when read, as always.
enum class OpenFor { kUse, kReplacing };

class ProtectedFile {
 public:
  // Memory held for uncommitted writes (buffered plaintext chunks, tag blocks of chunks
  // sealed at write time) beyond which a write triggers a commit through the committer.
  static constexpr size_t kMaxDirtyBytes = 32u << 20;

  // Opens the file at `host_path` described by `entry`. A never-committed entry
  // (generation 0) creates the host file; otherwise a leftover journal is recovered and the
  // header and host size are checked against the entry. A small file (host file up to 32 KiB)
  // is read and verified whole here, and a journal is looked for only when it does not verify.
  // `host_fd`, when valid, is the host file already opened by the caller (read-write if `writable`;
  // for generation 0 a new, empty file), used instead of a new open; the caller may keep its own
  // share of the descriptor (the runtime locks the host file on it). A compact file opened for
  // kReplacing through `host_fd` has only its header read here (see OpenCompactToReplace).
  static Result<std::unique_ptr<ProtectedFile>> Open(Env& env, std::string host_path,
                                                     const FileEntry& entry, bool writable,
                                                     SharedFd host_fd = {},
                                                     OpenFor purpose = OpenFor::kUse);

  const std::string& path() const { return path_; }
  const std::string& host_path() const { return host_path_; }
  uint64_t size() const { return size_; }
  uint64_t generation() const { return committed_.generation; }
  // The plaintext size of the generation this object last committed or opened.
  uint64_t committed_size() const { return committed_.size; }
  bool dirty() const { return !dirty_.empty() || sealed_chunks_ != 0 || size_ != committed_.size; }
  // True when every change since the last commit lies at or beyond committed_size() and is
  // still in memory only (no appended chunk sealed to disk): the changes are exactly the
  // plaintext of [committed_size(), size()), which can be appended to another generation of the
  // file (ShieldedFiles does so when another process sharing a descriptor committed first).
  bool OnlyBufferedAppends() const {
    return lowest_change_ >= committed_.size && sealed_chunks_ == 0 && !append_journal_ &&
           !pending_ && size_ >= committed_.size;
  }
  void set_committer(FileCommitter* committer) { committer_ = committer; }
  // Another process may write this file and commit it while this object has uncommitted
  // writes (processes sharing a descriptor share its writer lock). Appended chunks are then
  // kept in memory until the commit, which checks for such a commit before it writes anything
  // (Volume::Commit), instead of being sealed to disk at write time over bytes the other
  // process may have committed meanwhile.
  // It also makes no commit of its own from Write (when its buffered writes exceed
  // kMaxDirtyBytes or after a truncation): the caller commits when OverDirtyBudget(), where a
  // refused commit can be retried on the other process's version.
  void set_other_writers(bool other_writers) { other_writers_ = other_writers; }
  bool other_writers() const { return other_writers_; }
  const FileId& id() const { return id_; }
  // The buffered writes exceed kMaxDirtyBytes (only with other writers: else Write commits).
  bool OverDirtyBudget() const { return DirtyBytes() > kMaxDirtyBytes; }
  // After the file was renamed (Volume::RenameFile, which takes a committed file): its new
  // protected and host paths. The open host descriptor stays valid; journals and error messages
  // use the new names from now on.
  void Relocate(std::string path, std::string host_path) {
    path_ = std::move(path);
    host_path_ = std::move(host_path);
  }

  // Reads up to out.size() bytes at `offset`; returns the count (0 at end of file). Fails with
  // kIntegrityError naming the file, chunk and cause when verification fails; no unverified
  // byte is ever copied to `out`.
  Result<size_t> Read(uint64_t offset, std::span<uint8_t> out);
  Status Write(uint64_t offset, std::span<const uint8_t> data);
  Status Truncate(uint64_t size);

  // Phase 1 of a commit (see the file comment). Returns the entry to record in the fspf.
  // sync=false leaves the fsync of the written chunks and of the journal to the caller
  // (Volume::Stage and StageRewrite: one syncfs for a whole batch before the fspf that records
  // it is written); a journal is still made durable at once when the commit writes beyond the
  // committed end of the host file.
  Result<FileEntry> PrepareCommit(bool sync = true);
  // Phase 2, once the fspf holding the prepared entry is durable: applies the journal (unless
  // ApplyCommit did), removes it and makes the new generation the committed one.
  Status FinishCommit();
  // The first half of phase 2 alone: applies the journal to the host file, without fsync when
  // !sync (Volume finishes a staged batch: every journal applied, one syncfs, then each
  // FinishCommit removes its journal, so that no journal goes before its data is durable).
  Status ApplyCommit(bool sync);
  // The prepared commit has writes left for ApplyCommit (a compact commit wrote everything
  // before its commit point).
  bool CommitAppliesInPlace() const { return pending_ && !pending_->compact; }
  // Undoes a prepared commit whose fspf write failed: the file stays at its last commit and
  // the buffered writes stay buffered.
  Status AbortCommit();

  // For tests: the process's budget for read-ahead windows (0: computed again at the next
  // window, from RLIMIT_DATA), that budget, and the bytes the windows of all open files hold.
  static void SetReadAheadBudgetForTesting(size_t bytes);
  static size_t ReadAheadBudgetForTesting();
  static size_t ReadAheadBytesForTesting();

  ~ProtectedFile();
  ProtectedFile(const ProtectedFile&) = delete;
  ProtectedFile& operator=(const ProtectedFile&) = delete;

 private:
  struct Committed {
    uint64_t size = 0;
    uint64_t generation = 0;
    std::vector<Sha256Digest> group_digests;
  };
  struct TagBlock {
    std::array<uint8_t, kTagBlockSize> bytes{};
  };
  struct Pending {
    Committed next;
    Journal journal;                      // overwrites of committed bytes
    std::map<uint64_t, TagBlock> blocks;  // new tag blocks
    bool applied = false;                 // ApplyCommit wrote the journal's records in place
    bool compact = false;                 // the new generation is in the compact layout
    uint64_t host_size = 0;               // of the host file once PrepareCommit wrote it
  };

  ProtectedFile(Env& env, std::string host_path, const FileEntry& entry, SharedFd fd,
                std::unique_ptr<AesGcm> gcm);
  // Open for one journal policy: check_journal looks for a leftover journal (and recovers it)
  // before reading the file; without it, a journal is ignored (Open decides).
  static Result<std::unique_ptr<ProtectedFile>> OpenOnce(Env& env, std::string host_path,
                                                         const FileEntry& entry, bool writable,
                                                         SharedFd host_fd, bool check_journal);
  // Open's shortcut for a compact file about to be emptied: its header is read and checked,
  // neither its slot nor the host size (the next commit writes the other slot and sets the
  // size). Null when the file is not compact or anything is unexpected: the full open decides.
  static std::unique_ptr<ProtectedFile> OpenCompactToReplace(Env& env, const std::string& host_path,
                                                             const FileEntry& entry,
                                                             const SharedFd& host_fd);
  static Status Recover(Env& env, const std::string& host_path, int fd, const FileEntry& entry);
  // Whether the committed slot of compact host file `fd` is the one `entry` records (its tag
  // entry matches the fspf digest; the chunk itself is checked when read).
  static Result<bool> CompactSlotIsCommitted(Env& env, int fd, const std::string& host_path,
                                             const FileEntry& entry);
  // PrepareCommit's work; PrepareCommit marks the host size uncertain when it fails.
  Result<FileEntry> PrepareCommitOnce(bool sync);
  // PrepareCommitOnce for a commit in the compact layout (file_format.h): the new generation
  // sealed into the slot the committed one does not use, with one write.
  Result<FileEntry> PrepareCompactCommit(bool sync);
  // The entry the fspf records for the pending commit.
  FileEntry PendingEntry() const;
  // The pending commit left a journal beside the host file: a commit of a committed file in the
  // chunked layout always does; a compact commit only an append intent (chunks sealed at write
  // time, then cut off).
  bool PendingHasJournal() const {
    return committed_.generation > 0 && (!pending_->compact || append_journal_);
  }
  // The next commit keeps the compact layout: the file has it (or is new), fits in it, and has
  // no chunk sealed at write time (those are in the other layout's places).
  bool CommitsCompact() const {
    return compact_ && size_ <= kCompactMaxSize && sealed_chunks_ == 0;
  }
  // Where the host bytes of the committed generation end (its slot's end in a compact file).
  uint64_t CommittedHostEnd() const {
    return compact_ ? CompactHostEnd(committed_.generation, committed_.size)
                    : geometry_.HostSize(committed_.size);
  }
  // Where committed chunk `chunk` is on disk.
  uint64_t CommittedChunkOffset(uint64_t chunk) const {
    return compact_ ? CompactSlotOffset(committed_.generation) + kTagEntrySize
                    : geometry_.ChunkOffset(chunk);
  }
  // Verifies every committed chunk (read whole at open into prefetch_) and keeps the plaintext
  // in committed_plain_, which then serves the reads of committed chunks.
  Status CacheCommittedPlaintext();
  // Verifies a compact file's committed slot entry against the fspf digest (see Open).
  Status VerifyCompactSlot();

  std::string ChunkName(uint64_t chunk) const;
  // The error of a chunk whose GCM tag does not verify (the same words on every read path).
  Status ChunkAuthenticationFailed(uint64_t chunk) const;

  // The committed tag block of `group`, read and verified against the fspf digest on first use.
  Result<const TagBlock*> CommittedTagBlock(uint64_t group);
  // Decrypts and verifies committed chunk `chunk` into `out` (chunk length bytes).
  Status ReadCommittedChunk(uint64_t chunk, uint8_t* out, uint32_t length);
  // Reads chunk `chunk` (`length` plaintext bytes, tag `entry`) from host offset `offset` into
  // `out` and verifies it; `out` is wiped when verification fails.
  Status OpenChunk(uint64_t chunk, const TagEntry& entry, uint64_t offset, uint8_t* out,
                   uint32_t length);
  // Reads exactly out.size() host bytes at `offset`, from prefetch_ when it holds them
  // (thread-safe: prefetch_ does not change during a read; helpers of a run call it too).
  Status ReadHost(std::span<uint8_t> out, uint64_t offset);
  // Host bytes [offset, offset + size) in prefetch_, or nullptr when it does not hold them all.
  const uint8_t* Prefetched(uint64_t offset, size_t size) const {
    return offset <= prefetch_.size() && size <= prefetch_.size() - offset
               ? prefetch_.data() + offset
               : nullptr;
  }
  // Memory held by uncommitted writes (see kMaxDirtyBytes).
  size_t DirtyBytes() const {
    return dirty_.size() * chunk_size_ + sealed_.size() * sizeof(TagBlock);
  }
  // Whether whole chunks of `group` may be sealed at write time (see sealed_).
  bool GroupIsBeyondCommittedEnd(uint64_t group) const;
  // Seals `count` whole chunks from `first` on (groups beyond the committed end) and writes
  // them in place; large runs are sealed and written by several threads (ParallelCrypto).
  Status SealAppendedChunks(uint64_t first, uint64_t count, const uint8_t* plain);
  // Reads and verifies the run of committed chunks [first, first + count) into `out`
  // (`bytes` long: whole chunks, the last one may be short), several threads for large runs.
  // On any failure the whole of `out` is wiped.
  Status ReadCommittedRun(uint64_t first, uint64_t count, size_t bytes, uint8_t* out);
  // The same run for Read: from the read-ahead window when it holds the run, else, for a
  // sequential reader, through a new window of chunks [first, end) (see ReadAhead), else
  // directly. `end` bounds the chunks that may be read ahead (committed, valid, not dirty).
  Status ReadCommittedRunAhead(uint64_t first, uint64_t count, size_t bytes, uint64_t end,
                               bool sequential, uint8_t* out);
  // The read-ahead window's plaintext of chunks [chunk, chunk + count), or nullptr.
  const uint8_t* ReadAheadHolds(uint64_t chunk, uint64_t count) const {
    return read_ahead_.chunks != 0 && chunk >= read_ahead_.first &&
                   chunk - read_ahead_.first + count <= read_ahead_.chunks
               ? read_ahead_.plain.data() + (chunk - read_ahead_.first) * chunk_size_
               : nullptr;
  }
  // Empties the window and frees (wipes) its memory, which goes back to the process's budget.
  void ReleaseReadAhead();
  // The blocks a run of chunks is cut into for ParallelCrypto: consecutive chunks of one group
  // (contiguous on disk), each at most `block_bytes` long (at least one chunk).
  struct ChunkBlock {
    uint64_t first;
    uint32_t count;
  };
  std::vector<ChunkBlock> SplitIntoBlocks(uint64_t first, uint64_t count, size_t block_bytes) const;
  // The AES-GCM context of ParallelCrypto thread `thread` (0 is the caller: gcm_).
  AesGcm& GcmFor(int thread) { return thread == 0 ? *gcm_ : *helper_gcm_[thread - 1]; }
  // Makes sure GcmFor works for threads [0, threads); false (serial only) if cloning failed.
  bool EnsureHelperContexts(int threads);
  // The write-time tag entry of `chunk`, or nullptr when it has none.
  const uint8_t* SealedEntry(uint64_t chunk) const;
  void ForgetSealedChunk(uint64_t chunk);
  // Fills `out` with the current plaintext of chunk `chunk` (dirty, committed or zeros).
  Status LoadChunk(uint64_t chunk, uint8_t* out, uint32_t length);
  // Makes `chunk` dirty, loading its current content first.
  Result<std::vector<uint8_t>*> DirtyChunk(uint64_t chunk);
  // Seals `length` plaintext bytes of `chunk` into `out` with the nonce already in `entry`.
  Status SealChunk(uint64_t chunk, const uint8_t* plain, uint32_t length, TagEntry& entry,
                   uint8_t* out);

  Env& env_;
  std::string path_;
  std::string host_path_;
  SharedFd fd_;  // may be shared with the caller (the runtime locks the host file on it)
  FileId id_;
  SecretBytes key_;
  uint32_t chunk_size_;
  // Of the host file's tag-block digests (a compact file's are version 2's).
  uint32_t format_version_ = kFileFormatVersion;
  // The committed generation is in the compact layout (a new file is, until its first commit).
  bool compact_ = false;
  FileGeometry geometry_;
  RegionKind kind_;
  bool other_writers_ = false;  // see set_other_writers
  std::unique_ptr<AesGcm> gcm_;
  std::vector<std::unique_ptr<AesGcm>> helper_gcm_;  // clones of gcm_ for helper threads
  FileCommitter* committer_ = nullptr;

  Committed committed_;
  std::map<uint64_t, TagBlock> tag_blocks_;  // verified committed tag blocks
  // Host bytes [0, prefetch_.size()) of the committed generation as read at open (ciphertext,
  // unverified: whatever is taken from it is verified on use, exactly as if read then).
  ByteBuffer prefetch_;
  // The verified plaintext of the whole committed generation of a small file
  // (CacheCommittedPlaintext; dropped by a commit). Zeroized when released.
  std::optional<SecretBytes> committed_plain_;
  // Read-ahead of sequential reads. A reader that goes through a large file in pieces smaller
  // than a parallel job (stdio's 4 KiB, Python's 8 KiB) would have each piece decrypted on its
  // own, too small to share between threads. Its next chunks are instead decrypted a window at
  // a time (ReadCommittedRun, several threads) into this verified plaintext, which serves the
  // following reads. The window starts at 4 reads' worth (at least kMinReadAheadBytes) and
  // doubles on each sequential fill, up to kMaxReadAheadBytes, while the windows of all files
  // fit in the process's budget. It holds committed chunks only: chunks a write dirtied are
  // never served from it (Read stops a run at them), and a commit or truncation frees it, as
  // does a sequential reader reaching the end.
  struct ReadAhead {
    SecretBytes plain;
    uint64_t first = 0;     // first chunk held
    uint64_t chunks = 0;    // chunks held (0: empty)
    size_t next_bytes = 0;  // size of the next fill (0: none yet)
    bool failed = false;    // a fill failed verification: no read-ahead until the next commit
  } read_ahead_;
  uint64_t sequential_end_ = 0;  // plaintext offset where the last read ended
  uint64_t size_ = 0;            // current plaintext size
  // The lowest plaintext offset written or truncated to since the last commit (none: max).
  uint64_t lowest_change_ = UINT64_MAX;
  // Committed chunks at or beyond this index no longer hold data (the file was truncated).
  uint64_t valid_committed_chunks_ = 0;
  std::map<uint64_t, std::vector<uint8_t>> dirty_;  // chunk -> plaintext (chunk_size bytes)
  // Whole chunks written into a group that lies wholly beyond the committed end of the host
  // file are sealed at write time, their ciphertext written in place, and only their tag entries
  // kept here (our own memory, so trusted; absent entries are zero). This is safe because the
  // fspf references no byte beyond the committed end until the commit, and from before the
  // first such write a journal that is never replayable exists (generation > 0; a generation 0
  // file is recreated at open), so recovery after a crash drops those bytes (Recover). A chunk
  // is in at most one of dirty_ and sealed_; a sealed chunk is always whole (Truncate unseals).
  std::map<uint64_t, TagBlock> sealed_;
  uint64_t sealed_chunks_ = 0;        // present entries in sealed_ (counted as dirty bytes)
  uint64_t sealed_host_end_ = 0;      // end of the host bytes written by sealed appends
  bool append_journal_ = false;       // the never-replayable journal above is on disk
  std::vector<uint8_t> seal_buffer_;  // ciphertext of sealed appends, one block per thread
  std::optional<Pending> pending_;
  // A failed commit or abort may have left the host file longer than committed and sealed
  // bytes say: the next PrepareCommit truncates it to the size it computes in any case.
  bool host_size_uncertain_ = false;
  ByteBuffer scratch_;  // ciphertext read buffer
};

}  // namespace cove::shield
