// Volume: fspf lifecycle and the commit protocol across files.
#include "shield/volume.h"

#include <fcntl.h>

#include <array>
#include <cstring>
#include <string_view>
#include <utility>

#include "shield/journal.h"

namespace cove::shield {
namespace {

// Releases the commit lock an observer took in LockCommits, when it goes out of scope.
struct CommitLockRelease {
  explicit CommitLockRelease(FspfSaveObserver* held) : observer(held) {}
  CommitLockRelease(const CommitLockRelease&) = delete;
  CommitLockRelease& operator=(const CommitLockRelease&) = delete;
  ~CommitLockRelease() {
    if (observer != nullptr) observer->UnlockCommits();
  }
  FspfSaveObserver* observer;
};

// The fspf records paths of at most kMaxPathLength bytes (its decoder refuses longer ones, and
// a save that wrote one would refuse every later start). A protected path can be longer than
// the host path it maps to (a long region path on a short kernel path), so this is checked
// where a path enters the fspf, not left to the kernel.
Status CheckRecordablePath(const std::string& path) {
  if (path.size() > kMaxPathLength) {
    return InvalidArgument(
        path.substr(0, 64) + "...: a protected path of " + std::to_string(path.size()) +
        " bytes is longer than the fspf's limit (" + std::to_string(kMaxPathLength) + ")");
  }
  // Such a file's host file would be the redo journal of the file named without the suffix
  // (JournalPath): that file's next commit would overwrite it, then remove it.
  if (IsJournalName(path)) {  // (a path: never the bare suffix)
    return InvalidArgument(path + ": names ending in " + std::string(kJournalSuffix) +
                           " are reserved in protected regions for cove's redo journals");
  }
  return Status::Ok();
}

}  // namespace

Status Volume::CreateFspf(const std::string& fspf_path, Env* env) {
  if (env == nullptr) env = &Env::Default();
  if (env->Exists(fspf_path)) {
    return {StatusCode::kAlreadyExists, fspf_path + ": already exists (refusing to overwrite)"};
  }
  Fspf empty;
  COVE_ASSIGN_OR_RETURN(auto bytes, EncodeFspfFile(empty, nullptr, nullptr));
  return WriteFileAtomically(*env, fspf_path, bytes);
}

Result<std::unique_ptr<Volume>> Volume::Open(VolumeOptions options) {
  std::unique_ptr<Volume> volume(new Volume());
  volume->env_ = options.env != nullptr ? options.env : &Env::Default();
  volume->fspf_path_ = options.fspf_path;
  volume->host_root_ = options.host_root;
  COVE_ASSIGN_OR_RETURN(auto bytes, ReadWholeFile(*volume->env_, options.fspf_path));
  COVE_ASSIGN_OR_RETURN(LoadedFspf loaded, DecodeFspfFile(bytes, &options.key, options.expected_tag,
                                                          options.fspf_path));
  if (!loaded.sealed && !options.key.empty()) {
    return InvalidArgument(options.fspf_path + ": a key was given but the fspf is not encrypted");
  }
  volume->fspf_ = std::move(loaded.fspf);
  volume->tag_ = loaded.tag;
  volume->key_ = std::move(options.key);
  COVE_RETURN_IF_ERROR(volume->CompleteRenameIntent());
  return volume;
}

FspfTag Volume::tag() const {
  std::lock_guard lock(mutex_);
  return tag_;
}

Status Volume::AddRegion(Region region) {
  std::lock_guard lock(mutex_);
  return fspf_.AddRegion(std::move(region));
}

void Volume::SetStrict(bool strict) {
  std::lock_guard lock(mutex_);
  fspf_.flags = strict ? (fspf_.flags | kFspfFlagStrict) : (fspf_.flags & ~kFspfFlagStrict);
}

Result<SecretBytes> Volume::Encrypt() {
  std::lock_guard lock(mutex_);
  COVE_ASSIGN_OR_RETURN(SecretBytes key, RandomKey());
  SecretBytes previous = std::move(key_);
  key_ = key;
  Status saved = SaveLocked();
  if (!saved.ok()) {
    key_ = std::move(previous);
    return saved;
  }
  return key;
}

Status Volume::Save() {
  std::lock_guard lock(mutex_);
  return SaveLocked();
}

Status Volume::SaveLocked(std::initializer_list<const std::string*> changing) {
  if (!unsynced_dirs_.empty()) {
    COVE_RETURN_IF_ERROR(env_->SyncFilesystems(unsynced_dirs_));
    unsynced_dirs_.clear();
  }
  // Other processes' commits are short; a few merges in a row mean a livelock, not progress.
  constexpr int kMaxMerges = 64;
  // This cove writes version 2 journals: the fspf says so before any can be replayed (a
  // journal is replayed only when the fspf names its generation, i.e. after this save).
  fspf_.payload_version = kFspfPayloadVersion;
  for (int merges = 0;; ++merges) {
    FspfTag tag{};
    COVE_ASSIGN_OR_RETURN(auto bytes, EncodeFspfFile(fspf_, key_.empty() ? nullptr : &key_, &tag));
    if (observer_ != nullptr) {
      std::optional<FspfTag> newer;
      Status before = observer_->BeforeSave(tag_, tag, &newer);
      if (!before.ok()) {
        if (!newer || merges == kMaxMerges) {
          observer_->UnlockCommits();
          return before;
        }
        // The observer keeps its commit lock for this merge (no commit comes in between).
        if (Status merged = MergeNewerLocked(*newer, changing); !merged.ok()) {
          observer_->UnlockCommits();
          return merged;
        }
        continue;
      }
    }
    if (Status written = WriteFileAtomically(*env_, fspf_path_, bytes); !written.ok()) {
      // BeforeSave took the commit lock: other processes must not wait for it.
      if (observer_ != nullptr) observer_->UnlockCommits();
      return written;
    }
    tag_ = tag;
    unsaved_.clear();
    if (observer_ != nullptr) observer_->AfterSave(tag_);
    FinishStagedRewritesLocked();
    return Status::Ok();
  }
}

Status Volume::SaveIfStagedRewriteLocked(const std::string& path) {
  return staged_rewrites_.contains(path) ? SaveLocked() : Status::Ok();
}

void Volume::FinishStagedRewritesLocked() {
  if (staged_rewrites_.empty()) return;
  auto staged = std::move(staged_rewrites_);
  staged_rewrites_.clear();
  staged_rewrite_bytes_ = 0;
  std::set<std::string> dirs;
  for (auto& [path, rewrite] : staged) {
    std::unique_ptr<ProtectedFile>& file = rewrite.file;
    bool in_place = file->CommitAppliesInPlace();
    if (file->ApplyCommit(/*sync=*/false).ok()) {
      if (in_place) dirs.insert(ParentDirectory(file->host_path()));
    } else {
      file.reset();  // its journal stays for the next open
    }
  }
  if (!env_->SyncFilesystems(dirs).ok()) return;  // every journal stays
  for (auto& [path, rewrite] : staged) {
    if (rewrite.file) (void)rewrite.file->FinishCommit();  // a failure: the journal stays
  }
}

Status Volume::MergeNewerLocked(const FspfTag& newer,
                                std::initializer_list<const std::string*> changing) {
  COVE_ASSIGN_OR_RETURN(auto bytes, ReadWholeFile(*env_, fspf_path_));
  COVE_ASSIGN_OR_RETURN(LoadedFspf loaded, DecodeFspfFile(bytes, &key_, newer, fspf_path_));
  // Each path once: a staged file being committed now is in both sets, and its entry moved
  // twice would leave the moved-from (empty) one in the fspf.
  std::set<std::string> mine = unsaved_;
  for (const std::string* path : changing) mine.insert(*path);
  // A staged rewrite was prepared on the version this process read: if the newer fspf no longer
  // records that version (another process removed, replaced or rewrote the file, which the
  // runtime's locks are there to prevent), its journal must never be applied: it is dropped,
  // the newer entry stays, and the loss is reported (TakeLostRewrites).
  // (A rewrite of a file this process staged new and has not saved yet rests on nothing the
  // other process can have seen.)
  for (auto it = staged_rewrites_.begin(); it != staged_rewrites_.end();) {
    const ProtectedFile& file = *it->second.file;
    auto newer_entry = loaded.fspf.files.find(it->first);
    if (!it->second.of_saved_version ||
        (newer_entry != loaded.fspf.files.end() && newer_entry->second.id == file.id() &&
         newer_entry->second.generation == file.generation())) {
      ++it;
      continue;
    }
    // Its journal targets a generation the newer fspf may give another version of the file:
    // it must never be replayed.
    (void)env_->Unlink(JournalPath(file.host_path()));
    mine.erase(it->first);
    unsaved_.erase(it->first);
    lost_rewrites_.push_back(it->first);
    it = EraseStagedRewriteLocked(it);
  }
  for (const std::string& path : mine) {
    auto entry = fspf_.files.find(path);
    if (entry != fspf_.files.end()) {
      loaded.fspf.files[path] = std::move(entry->second);
    } else {
      loaded.fspf.files.erase(path);
    }
  }
  fspf_.files = std::move(loaded.fspf.files);
  tag_ = loaded.tag;
  return Status::Ok();
}

void Volume::SetSaveObserver(FspfSaveObserver* observer) {
  std::lock_guard lock(mutex_);
  observer_ = observer;
}

std::string Volume::HostPathFor(const std::string& path) const {
  std::lock_guard lock(mutex_);
  return HostPathForLocked(path);
}

std::string Volume::HostPathForLocked(const std::string& path) const {
  const Region* region = fspf_.RegionFor(path);
  std::string host = path;
  if (region != nullptr && !region->kernel_path.empty()) {
    host = region->kernel_path + path.substr(region->path == "/" ? 0 : region->path.size());
  }
  return host_root_ + host;
}

const FileEntry* Volume::FindFile(const std::string& path) const {
  std::lock_guard lock(mutex_);
  auto it = fspf_.files.find(path);
  return it == fspf_.files.end() ? nullptr : &it->second;
}

std::optional<uint64_t> Volume::RecordedGeneration(const std::string& path) const {
  std::lock_guard lock(mutex_);
  auto it = fspf_.files.find(path);
  if (it == fspf_.files.end()) return std::nullopt;
  return it->second.generation;
}

const FileEntry* Volume::FindFileById(const FileId& id) const {
  std::lock_guard lock(mutex_);
  std::string found;
  fspf_.files.ForEach([&](std::string_view path, const FileEntry& entry) {
    if (entry.id == id) found = path;
    return found.empty();
  });
  if (found.empty()) return nullptr;
  auto it = fspf_.files.find(found);
  return it == fspf_.files.end() ? nullptr : &it->second;
}

bool Volume::HasFilesUnder(const std::string& directory) const {
  std::lock_guard lock(mutex_);
  bool found = false;
  fspf_.files.ForEachPath(
      [&](std::string_view path) { found = found || PathIsUnder(path, directory); });
  return found;
}

Result<std::unique_ptr<ProtectedFile>> Volume::OpenFile(const std::string& path, bool writable,
                                                        SharedFd host_fd, OpenFor purpose) {
  FileEntry entry;
  std::string host;
  {
    std::lock_guard lock(mutex_);
    COVE_RETURN_IF_ERROR(SaveIfStagedRewriteLocked(path));
    COVE_ASSIGN_OR_RETURN(entry, EntryLocked(path));
    host = HostPathForLocked(path);
  }
  COVE_ASSIGN_OR_RETURN(
      auto file, ProtectedFile::Open(*env_, host, entry, writable, std::move(host_fd), purpose));
  file->set_committer(this);
  return file;
}

Result<FileEntry> Volume::EntryLocked(const std::string& path) const {
  auto it = fspf_.files.find(path);
  if (it == fspf_.files.end()) return NotFound(path + ": not recorded in the fspf");
  const FileEntry& found = it->second;
  FileEntry entry;
  entry.path = found.path;
  entry.kind = found.kind;
  entry.id = found.id;
  entry.key = found.key;
  entry.size = found.size;
  entry.generation = found.generation;
  entry.chunk_size = found.chunk_size;
  entry.group_digests = found.group_digests;
  return entry;
}

Result<std::unique_ptr<ProtectedFile>> Volume::CreateFile(const std::string& path,
                                                          std::optional<std::string> host_path,
                                                          uint32_t chunk_size, SharedFd host_fd) {
  COVE_ASSIGN_OR_RETURN(std::string normalized, NormalizeAbsolutePath(path));
  COVE_RETURN_IF_ERROR(CheckRecordablePath(normalized));
  if (!IsValidChunkSize(chunk_size)) {
    return InvalidArgument("chunk size " + std::to_string(chunk_size) +
                           " must be a power of two between 4 KiB and 1 MiB");
  }
  FileEntry entry;
  entry.path = normalized;
  {
    std::lock_guard lock(mutex_);
    const Region* region = fspf_.RegionFor(normalized);
    if (region == nullptr || region->kind == RegionKind::kNotProtected) {
      return InvalidArgument(normalized + ": not inside an authenticated or encrypted region");
    }
    entry.kind = region->kind;
  }
  // One CSPRNG call for the file's id and key.
  SecretBytes random(entry.id.size() + kAes256KeySize);
  COVE_RETURN_IF_ERROR(RandomBytes(random.mutable_span()));
  std::memcpy(entry.id.data(), random.data(), entry.id.size());
  entry.key = SecretBytes(random.data() + entry.id.size(), kAes256KeySize);
  entry.chunk_size = chunk_size;
  std::string host = host_path ? *host_path : HostPathFor(normalized);
  COVE_ASSIGN_OR_RETURN(auto file,
                        ProtectedFile::Open(*env_, host, entry, true, std::move(host_fd)));
  file->set_committer(this);
  return file;
}

Status Volume::Commit(ProtectedFile& file) {
  std::lock_guard lock(mutex_);
  if (!file.dirty() && file.generation() > 0) return Status::Ok();
  COVE_RETURN_IF_ERROR(SaveIfStagedRewriteLocked(file.path()));  // one journal at a time
  // A file only this process writes (its writer lock is exclusive) takes the commit lock at
  // BeforeSave, for the fspf write alone. One that another process may write too takes it
  // now, until the commit ends, so that no commit of that process comes in between.
  CommitLockRelease commit_lock{observer_};  // on every path, whoever took it
  if (file.other_writers()) COVE_RETURN_IF_ERROR(CheckCommitBaseLocked(file));
  COVE_ASSIGN_OR_RETURN(FileEntry entry, file.PrepareCommit());
  std::optional<FileEntry> previous;
  auto it = fspf_.files.find(entry.path);
  if (it != fspf_.files.end()) previous = std::move(it->second);
  std::string path = entry.path;
  fspf_.files[path] = std::move(entry);
  Status saved = SaveLocked({&path});
  if (!saved.ok()) {
    if (previous) {
      fspf_.files[path] = std::move(*previous);
    } else {
      fspf_.files.erase(path);
    }
    Status aborted = file.AbortCommit();
    if (!aborted.ok()) return saved.WithContext(aborted.ToString());
    return saved;
  }
  return file.FinishCommit();
}

Status Volume::LockCommitsLocked() {
  if (observer_ == nullptr) return Status::Ok();
  std::optional<FspfTag> newer;
  COVE_RETURN_IF_ERROR(observer_->LockCommits(tag_, &newer));
  return newer ? MergeNewerLocked(*newer, {}) : Status::Ok();
}

Status Volume::CheckCommitBaseLocked(const ProtectedFile& file) {
  if (observer_ == nullptr) return Status::Ok();  // no other process to check for
  COVE_RETURN_IF_ERROR(LockCommitsLocked());
  auto it = fspf_.files.find(file.path());
  uint64_t recorded = it == fspf_.files.end() ? 0 : it->second.generation;
  bool same_file = it == fspf_.files.end() ? file.generation() == 0 : it->second.id == file.id();
  if (same_file && recorded == file.generation()) return Status::Ok();
  // Processes that share one descriptor (fork) share its flock too, so both may have written:
  // committing this one's view would overwrite the other's committed chunks in place.
  return Conflict(file.path() + ": another process committed it (generation " +
                  std::to_string(recorded) + (same_file ? "" : ", another file") +
                  ") over the generation " + std::to_string(file.generation()) +
                  " this one wrote on: not committed, it would overwrite that commit");
}

Result<std::unique_ptr<ProtectedFile>> Volume::OpenLatestFile(const std::string& path,
                                                              bool writable) {
  std::lock_guard lock(mutex_);
  COVE_RETURN_IF_ERROR(SaveIfStagedRewriteLocked(path));
  CommitLockRelease commit_lock{observer_};
  COVE_RETURN_IF_ERROR(LockCommitsLocked());
  // Under the commit lock: no commit of another process is half done (its journal written,
  // its fspf not yet), which the open would take for an interrupted one and undo.
  COVE_ASSIGN_OR_RETURN(FileEntry entry, EntryLocked(path));
  COVE_ASSIGN_OR_RETURN(auto file,
                        ProtectedFile::Open(*env_, HostPathForLocked(path), entry, writable));
  file->set_committer(this);
  return file;
}

Status Volume::Stage(ProtectedFile& file) {
  // A large file may have been committed already when its buffered writes overflowed.
  if (file.generation() != 0) return Commit(file);
  // A generation-0 file has no journal and nothing older to protect: its chunks only need to
  // be durable before the fspf that records it, which SaveLocked ensures with one syncfs per
  // file system for the whole batch instead of one fsync per file.
  COVE_ASSIGN_OR_RETURN(FileEntry entry, file.PrepareCommit(/*sync=*/false));
  COVE_RETURN_IF_ERROR(file.FinishCommit());
  std::lock_guard lock(mutex_);
  std::string path = entry.path;
  fspf_.files[path] = std::move(entry);
  unsaved_.insert(path);
  unsynced_dirs_.insert(ParentDirectory(file.host_path()));
  return Status::Ok();
}

Status Volume::StageRewrite(std::unique_ptr<ProtectedFile>& file) {
  std::lock_guard lock(mutex_);
  if (file->generation() == 0 || file->other_writers()) {
    return InvalidArgument(file->path() +
                           ": only a committed file that no other process writes is staged");
  }
  COVE_RETURN_IF_ERROR(SaveIfStagedRewriteLocked(file->path()));
  // Not fsynced here: SaveLocked's syncfs makes the journal and any appended chunks durable
  // before the fspf that names the new generation; until then the host file's committed bytes
  // are untouched, so a crash leaves the previous generation.
  COVE_ASSIGN_OR_RETURN(FileEntry entry, file->PrepareCommit(/*sync=*/false));
  std::string path = entry.path;
  fspf_.files[path] = std::move(entry);
  bool of_saved_version = !unsaved_.contains(path);
  unsaved_.insert(path);
  unsynced_dirs_.insert(ParentDirectory(file->host_path()));
  staged_rewrite_bytes_ += StagedRewriteBytes(*file);
  staged_rewrites_[path] = {std::move(file), of_saved_version};
  return Status::Ok();
}

std::vector<std::string> Volume::TakeLostRewrites() {
  std::lock_guard lock(mutex_);
  return std::exchange(lost_rewrites_, {});
}

size_t Volume::staged_rewrite_count() const {
  std::lock_guard lock(mutex_);
  return staged_rewrites_.size();
}

uint64_t Volume::staged_rewrite_bytes() const {
  std::lock_guard lock(mutex_);
  return staged_rewrite_bytes_;
}

uint64_t Volume::StagedRewriteBytes(const ProtectedFile& file) {
  return 2 * file.size();
}

Volume::StagedRewriteMap::iterator Volume::EraseStagedRewriteLocked(StagedRewriteMap::iterator it) {
  staged_rewrite_bytes_ -= StagedRewriteBytes(*it->second.file);
  return staged_rewrites_.erase(it);
}

size_t Volume::file_count() const {
  std::lock_guard lock(mutex_);
  return fspf_.files.size();
}

size_t Volume::unsaved_count() const {
  std::lock_guard lock(mutex_);
  return unsaved_.size();
}

bool Volume::IsUnsaved(const std::string& path) const {
  std::lock_guard lock(mutex_);
  return unsaved_.contains(path);
}

std::set<std::string> Volume::unsaved_paths() const {
  std::lock_guard lock(mutex_);
  return unsaved_;
}

Status Volume::SaveIfUnsaved() {
  std::lock_guard lock(mutex_);
  return unsaved_.empty() ? Status::Ok() : SaveLocked();
}

Status Volume::Reload(const FspfTag& expected) {
  std::lock_guard lock(mutex_);
  // Files this process staged but has not saved yet stay: the other process cannot know them.
  return MergeNewerLocked(expected, {});
}

bool Volume::ForgetFileInMemory(const std::string& path) {
  std::lock_guard lock(mutex_);
  // Its host file is gone (the caller's reason to forget).
  if (auto it = staged_rewrites_.find(path); it != staged_rewrites_.end()) {
    EraseStagedRewriteLocked(it);
  }
  unsaved_.erase(path);
  return fspf_.files.erase(path) != 0;
}

Status Volume::RemoveFile(const std::string& path) {
  std::lock_guard lock(mutex_);
  COVE_RETURN_IF_ERROR(SaveIfStagedRewriteLocked(path));
  auto it = fspf_.files.find(path);
  if (it == fspf_.files.end()) return NotFound(path + ": not recorded in the fspf");
  std::string host = HostPathForLocked(path);
  FileEntry removed = std::move(it->second);
  fspf_.files.erase(it);
  Status saved = SaveLocked({&path});
  if (!saved.ok()) {
    fspf_.files[path] = std::move(removed);
    return saved.WithContext("remove " + path);
  }
  // The host file could not go (a directory without write permission...): the entry comes
  // back, or the file would be lost while the program was told its unlink failed.
  Status unlinked = env_->Unlink(JournalPath(host));
  if (unlinked.ok()) unlinked = env_->Unlink(host);
  if (!unlinked.ok()) {
    fspf_.files[path] = std::move(removed);
    Status restored = SaveLocked({&path});
    if (!restored.ok())
      return unlinked.WithContext("and restoring its entry: " + restored.ToString());
  }
  return unlinked;
}

// The rename intent: "cove-rename-v1\n" | from host path "\n" | to host path "\n" | to path.
Status Volume::RenameFile(const std::string& from, const std::string& to) {
  COVE_RETURN_IF_ERROR(CheckRecordablePath(to));
  std::lock_guard lock(mutex_);
  COVE_RETURN_IF_ERROR(SaveIfStagedRewriteLocked(from));
  COVE_RETURN_IF_ERROR(SaveIfStagedRewriteLocked(to));
  auto it = fspf_.files.find(from);
  if (it == fspf_.files.end()) return NotFound(from + ": not recorded in the fspf");
  if (from == to) return Status::Ok();
  const Region* region = fspf_.RegionFor(to);
  if (region == nullptr || region->kind != it->second.kind) {
    return InvalidArgument("rename " + from + " -> " + to +
                           ": the target is not in a region of the same protection kind");
  }
  std::string from_host = HostPathForLocked(from);
  std::string to_host = HostPathForLocked(to);
  // One rename at a time per volume, across processes: they share the intent file, and a
  // process that opens the volume meanwhile must not take this one's intent for a crash's.
  COVE_ASSIGN_OR_RETURN(UniqueFd rename_lock, env_->LockFile(RenameLockPath(), /*wait=*/true));
  std::string intent = "cove-rename-v1\n" + from_host + "\n" + to_host + "\n" + to;
  COVE_RETURN_IF_ERROR(WriteFileAtomically(
      *env_, RenameIntentPath(), {reinterpret_cast<const uint8_t*>(intent.data()), intent.size()}));
  FileId moved_id = it->second.id;
  FileEntry moved = std::move(it->second);
  fspf_.files.erase(it);
  std::optional<FileEntry> replaced;
  if (auto old = fspf_.files.find(to); old != fspf_.files.end()) replaced = std::move(old->second);
  moved.path = to;
  fspf_.files[to] = std::move(moved);
  // Puts the two entries back as they were before the rename (in memory; the caller saves).
  auto restore_entries = [&] {
    FileEntry back = std::move(fspf_.files[to]);
    back.path = from;
    fspf_.files.erase(to);
    fspf_.files[from] = std::move(back);
    if (replaced) fspf_.files[to] = std::move(*replaced);
  };
  Status saved = SaveLocked({&from, &to});
  if (!saved.ok()) {
    restore_entries();
    (void)env_->Unlink(RenameIntentPath());
    return saved.WithContext("rename " + from + " -> " + to);
  }
  Status moved_on_host = env_->Rename(from_host, to_host);
  if (!moved_on_host.ok()) {
    // The kernel refused the host rename (a directory at the target, no permission...): the
    // fspf goes back to naming `from`, as the program is told the rename failed. Only if that
    // save fails too does the intent stay, for Open to finish or drop.
    restore_entries();
    Status restored = SaveLocked({&from, &to});
    if (!restored.ok()) {
      return moved_on_host.WithContext("rename " + from + " -> " + to +
                                       ", and restoring the fspf: " + restored.ToString());
    }
    (void)env_->Unlink(RenameIntentPath());
    return moved_on_host.WithContext("rename " + from + " -> " + to);
  }
  // The rename happened: the fspf and the host file both name `to`, and the caller must be
  // told so (its open files follow the name). What is left tidies up; a failure leaves the
  // intent for the next Open to finish (CompleteRenameIntent) and is kept for the caller to
  // report (TakeWarnings). rename(2) itself promises no durability either.
  Status tidied = MoveJournal(from_host, to_host, moved_id, /*drop_replaced=*/true);
  if (tidied.ok()) tidied = env_->SyncParentDir(to_host);
  if (tidied.ok()) tidied = env_->Unlink(RenameIntentPath());
  if (!tidied.ok()) {
    warnings_.push_back("rename " + from + " -> " + to + " done, but not tidied up (the next " +
                        "start finishes it): " + tidied.ToString());
  }
  return Status::Ok();
}

std::vector<std::string> Volume::TakeWarnings() {
  std::lock_guard lock(mutex_);
  return std::exchange(warnings_, {});
}

Status Volume::CompleteRenameIntent() {
  std::string intent_path = RenameIntentPath();
  if (!env_->Exists(intent_path)) return Status::Ok();
  // A rename in flight in another process holds the lock: its intent is not a crash's.
  auto rename_lock = env_->LockFile(RenameLockPath(), /*wait=*/false);
  if (!rename_lock.ok()) {
    return rename_lock.status().code() == StatusCode::kFailedPrecondition ? Status::Ok()
                                                                          : rename_lock.status();
  }
  COVE_ASSIGN_OR_RETURN(auto bytes, ReadWholeFile(*env_, intent_path));
  std::string text(bytes.begin(), bytes.end());
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    parts.push_back(text.substr(start, nl - start));
  }
  parts.push_back(text.substr(start));
  std::lock_guard lock(mutex_);
  // Only finish a rename the (authenticated) fspf already records: the entry at the target
  // path must map to the target host path and name the file being moved (the host file at
  // the source path carries its id). An fspf that still records a file it replaces names
  // that one: the crash came before the rename's save, which never happened. Anything else
  // was never committed: drop it.
  if (parts.size() == 4 && parts[0] == "cove-rename-v1") {
    const std::string& from_host = parts[1];
    const std::string& to_host = parts[2];
    auto entry = fspf_.files.find(parts[3]);
    if (entry != fspf_.files.end() && HostPathForLocked(parts[3]) == to_host) {
      if (HostFileHasId(from_host, entry->second.id)) {
        COVE_RETURN_IF_ERROR(env_->Rename(from_host, to_host));
        COVE_RETURN_IF_ERROR(
            MoveJournal(from_host, to_host, entry->second.id, /*drop_replaced=*/true));
        COVE_RETURN_IF_ERROR(env_->SyncParentDir(to_host));
      } else if (HostFileHasId(to_host, entry->second.id)) {
        // The host file moved before the crash; its journal may not have. (A journal already
        // at the target is this file's now: kept.)
        COVE_RETURN_IF_ERROR(
            MoveJournal(from_host, to_host, entry->second.id, /*drop_replaced=*/false));
        COVE_RETURN_IF_ERROR(env_->SyncParentDir(to_host));
      }
    }
  }
  return env_->Unlink(intent_path);
}

Status Volume::MoveJournal(const std::string& from_host, const std::string& to_host,
                           const FileId& id, bool drop_replaced) {
  std::string from_journal = JournalPath(from_host);
  std::string to_journal = JournalPath(to_host);
  if (JournalIsOfFile(*env_, from_journal, id)) return env_->Rename(from_journal, to_journal);
  return drop_replaced ? env_->Unlink(to_journal) : Status::Ok();
}

bool Volume::HostFileHasId(const std::string& host, const FileId& id) {
  constexpr size_t kIdOffset = 16;  // the id's place in every header version (file_format.h)
  std::array<uint8_t, kIdOffset + sizeof(FileId)> head{};
  return ReadFileHead(*env_, host, head) &&
         std::memcmp(head.data() + kIdOffset, id.data(), id.size()) == 0;
}

}  // namespace cove::shield
