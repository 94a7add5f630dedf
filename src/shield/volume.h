// Volume: an fspf loaded in memory with the files it protects. It opens and creates protected
// files, maps protected paths to host paths (region `--kernel` paths), and is the single place
// where the fspf is rewritten: a file's commit is durable exactly when the new fspf is.
// Thread-safe: commits of different files are serialized on the fspf lock.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/env.h"
#include "shield/fspf.h"
#include "shield/protected_file.h"

namespace cove::shield {

struct VolumeOptions {
  std::string fspf_path;
  SecretBytes key;                      // empty: a plaintext (not yet encrypted) fspf
  std::optional<FspfTag> expected_tag;  // refuse any other fspf version (rollback)
  std::string host_root;                // prefix of every host path (tests, image trees)
  Env* env = nullptr;                   // default: Env::Default()
};

// Told about every fspf write, the commit point of every change (the runtime publishes the new
// tag with it, see docs/runtime.md "Freshness").
class FspfSaveObserver {
 public:
  virtual ~FspfSaveObserver() = default;
  // Before the fspf with tag `next` replaces the one with tag `current`; an error aborts the
  // save (nothing changed on disk). When the fspf on disk is no longer `current` but a newer
  // version that another process legitimately committed, the observer sets *newer to its tag
  // along with the error, keeping its commit lock: the Volume then merges its own changes into
  // that version (see Volume::SaveLocked) and tries again, or calls UnlockCommits.
  virtual Status BeforeSave(const FspfTag& current, const FspfTag& next,
                            std::optional<FspfTag>* newer) = 0;
  // After the fspf with tag `tag` is durable.
  virtual void AfterSave(const FspfTag& tag) = 0;
  // Before a file commit writes anything (Volume::Commit): takes the lock that serializes
  // commits between processes, held through the BeforeSave/AfterSave of that commit or until
  // UnlockCommits, and sets *newer as BeforeSave does when another process committed since
  // `current` (the Volume then takes that version in and checks that the file being committed
  // was not among its changes). An error: nothing is written. Default: no other process.
  // UnlockCommits also releases the lock BeforeSave took when the save then failed; it does
  // nothing when no lock is held.
  virtual Status LockCommits(const FspfTag& /*current*/, std::optional<FspfTag>* /*newer*/) {
    return Status::Ok();
  }
  virtual void UnlockCommits() {}
};

class Volume final : public FileCommitter {
 public:
  // Writes a new, empty, plaintext fspf (SCONE's `fspf create`); refuses to overwrite.
  static Status CreateFspf(const std::string& fspf_path, Env* env = nullptr);
  static Result<std::unique_ptr<Volume>> Open(VolumeOptions options);

  const Fspf& fspf() const { return fspf_; }
  bool sealed() const { return !key_.empty(); }
  // The tag of the fspf as last written or read (meaningful when sealed).
  FspfTag tag() const;
  const std::string& fspf_path() const { return fspf_path_; }

  Status AddRegion(Region region);
  void SetStrict(bool strict);
  // Seals the fspf with a fresh random key (SCONE's `fspf encrypt`) and returns the key; an
  // already sealed fspf gets a new key too.
  Result<SecretBytes> Encrypt();
  // Writes the fspf (atomically and durably).
  Status Save();

  // The host path of protected path `path` (region kernel path, then host root).
  std::string HostPathFor(const std::string& path) const;
  const FileEntry* FindFile(const std::string& path) const;
  // The entry whose file id is `id` (to identify a protected file found on disk).
  const FileEntry* FindFileById(const FileId& id) const;
  // Whether the fspf records a file below `directory` (a normalized absolute path).
  bool HasFilesUnder(const std::string& directory) const;

  // Opens the protected file recorded at `path`.
  // `host_fd`: the host file, already opened by the caller; `purpose`: see ProtectedFile::Open.
  Result<std::unique_ptr<ProtectedFile>> OpenFile(const std::string& path, bool writable,
                                                  SharedFd host_fd = {},
                                                  OpenFor purpose = OpenFor::kUse);
  // Opens `path` as the newest fspf records it, under the observer's commit lock: for a file
  // another process may commit (one sharing a descriptor), whose commit must not be half done.
  Result<std::unique_ptr<ProtectedFile>> OpenLatestFile(const std::string& path, bool writable);
  // The generation the fspf (in memory) records for `path`, if it records it.
  std::optional<uint64_t> RecordedGeneration(const std::string& path) const;
  // Starts a new, empty protected file at `path` (in an authenticated or encrypted region),
  // stored at `host_path` (default HostPathFor(path)). It enters the fspf at its first commit.
  // `host_fd`: a new, empty host file the caller created (see ProtectedFile::Open).
  Result<std::unique_ptr<ProtectedFile>> CreateFile(
      const std::string& path, std::optional<std::string> host_path = std::nullopt,
      uint32_t chunk_size = kDefaultChunkSize, SharedFd host_fd = {});

  // Removes the protected file `path`: the fspf without its entry is written first (the commit
  // point), then the host file and any journal are deleted (a crash in between leaves an
  // orphaned host file, never an entry without its file).
  Status RemoveFile(const std::string& path);
  // Drops the entry of `path` from the fspf in memory only (the fspf on disk keeps it until
  // the next save): for a file whose host file is gone and that the program recreates with
  // O_CREAT|O_TRUNC, so that the new file replaces the entry at its first commit.
  bool ForgetFileInMemory(const std::string& path);
  // Renames committed protected file `from` to `to` (same region kind; `to`'s entry, if any, is
  // replaced). Crash-safe through a rename intent beside the fspf: intent, fspf, host rename,
  // intent removed; Open() completes an interrupted rename. Open ProtectedFiles of `from`
  // must be Relocate()d by the caller.
  Status RenameFile(const std::string& from, const std::string& to);
  // The fspf path of a pending rename intent (see RenameFile).
  std::string RenameIntentPath() const { return fspf_path_ + ".cove-rename"; }
  // Held (flock) by a process for the whole of a rename: see RenameFile, CompleteRenameIntent.
  std::string RenameLockPath() const { return fspf_path_ + ".cove-rename-lock"; }
  void SetSaveObserver(FspfSaveObserver* observer);
  // Re-reads the fspf, which another process changed to the version with tag `expected`
  // (the caller knows that tag is legitimate): the file entries are replaced by the new
  // ones, the regions stay (they do not change while programs run).
  Status Reload(const FspfTag& expected);

  // Commits `file`: prepare, write the fspf, finish (see ProtectedFile).
  Status Commit(ProtectedFile& file) override;
  // Seals a newly created file and records it in memory only, without writing the fspf: the
  // next Save(), SaveIfUnsaved() or Commit() of any file commits it (bulk builds such as
  // `fspf addf`, and the runtime's close of new files). A file already committed is committed
  // (and saved) again. Until saved, a staged file is invisible to other processes and a crash
  // loses it, exactly like data written but never fsynced.
  Status Stage(ProtectedFile& file);
  // Stages the commit of `file`, an existing file (generation > 0) that only this process
  // writes (the caller keeps its exclusive writer lock until the next save): its chunks and redo
  // journal are written without fsync and its new entry is recorded in memory, as Stage does
  // for a new file. The next save makes the batch durable (one syncfs), writes the fspf, then
  // applies the journals. The Volume keeps the file open until then (taking it from `file` on
  // success; on failure it stays with the caller, its writes still buffered). Opening,
  // renaming or removing the path, or committing it again, saves first. A crash before the
  // save leaves the file at its previous commit; after it, the next open applies the journal.
  Status StageRewrite(std::unique_ptr<ProtectedFile>& file);
  // Staged rewrites not saved yet, and the memory they hold (their plaintext, twice: the
  // buffered writes and the journal).
  size_t staged_rewrite_count() const;
  uint64_t staged_rewrite_bytes() const;
  // Paths of staged rewrites dropped because another process changed the file meanwhile (see
  // MergeNewerLocked); each is returned once.
  std::vector<std::string> TakeLostRewrites();
  // Failures after an operation that succeeded (a rename whose tidy-up failed), for the caller
  // to report; each is returned once.
  std::vector<std::string> TakeWarnings();
  // Number of staged files the fspf on disk does not record yet, and their paths.
  size_t unsaved_count() const;
  std::set<std::string> unsaved_paths() const;
  bool IsUnsaved(const std::string& path) const;
  // Number of files the fspf records (staged ones included).
  size_t file_count() const;
  // Writes the fspf if files are staged but not saved.
  Status SaveIfUnsaved();

 private:
  Volume() = default;
  // Writes the fspf. When the observer reports a newer fspf on disk (another process
  // committed), re-reads it and carries over this process's own changes (the staged files and
  // `changing`, the paths of the operation in flight: their entries, or their absence), then
  // tries again; commits of other processes are kept.
  // Once the fspf is written, applies the staged rewrites' journals (see StageRewrite).
  Status SaveLocked(std::initializer_list<const std::string*> changing = {});
  // Saves first when `path` has a staged rewrite: its host file still holds the previous
  // generation and its journal the next one, which another open or a commit must not see.
  Status SaveIfStagedRewriteLocked(const std::string& path);
  // Applies every staged rewrite's journal, syncs them once, then removes the journals. A
  // failure leaves that journal on disk, complete and durable: the next open of the file
  // applies it (ProtectedFile::Recover), so the fspf's commit stands.
  void FinishStagedRewritesLocked();
  // Takes the observer's commit lock (the caller releases it) and, when another process
  // committed since this one last read the fspf, its newer fspf.
  Status LockCommitsLocked();
  // Under the observer's commit lock (kept until the commit ends): takes in another process's
  // newer fspf, and fails with kConflict when it committed `file` since this process read it.
  Status CheckCommitBaseLocked(const ProtectedFile& file);
  // A copy of the entry of `path` (NotFound when the fspf does not record it).
  Result<FileEntry> EntryLocked(const std::string& path) const;
  Status MergeNewerLocked(const FspfTag& newer, std::initializer_list<const std::string*> changing);
  std::string HostPathForLocked(const std::string& path) const;
  Status CompleteRenameIntent();
  // After the host file of file `id` moved from `from_host` to `to_host`: moves its journal
  // along (a committed generation not applied yet travels with its file). Only that file's:
  // the journal at the old name may be another file's (the source's own, when the rename was
  // never saved; a new file's created there since). Without one, the target's journal (of the
  // file replaced) is removed when `drop_replaced` says so.
  Status MoveJournal(const std::string& from_host, const std::string& to_host, const FileId& id,
                     bool drop_replaced);
  // Whether the host file at `host` carries the header of file `id` (false if unreadable).
  bool HostFileHasId(const std::string& host, const FileId& id);

  Env* env_ = nullptr;
  std::string fspf_path_;
  std::string host_root_;
  SecretBytes key_;
  Fspf fspf_;
  FspfTag tag_{};
  FspfSaveObserver* observer_ = nullptr;
  std::set<std::string> unsaved_;  // staged paths the fspf on disk does not record yet
  // Host directories of staged files whose chunks were written without fsync.
  std::set<std::string> unsynced_dirs_;
  // Staged rewrites (StageRewrite): prepared, their entries in fspf_, journals not applied.
  struct StagedRewrite {
    std::unique_ptr<ProtectedFile> file;
    // It rewrites a version the fspf on disk records (not a new file staged before the save).
    bool of_saved_version = false;
  };
  using StagedRewriteMap = std::map<std::string, StagedRewrite>;
  static uint64_t StagedRewriteBytes(const ProtectedFile& file);
  StagedRewriteMap::iterator EraseStagedRewriteLocked(StagedRewriteMap::iterator it);
  StagedRewriteMap staged_rewrites_;
  // Memory the staged rewrites stand for (2 x each file's size: chunks and journal), kept with
  // the map by StageRewrite and EraseStagedRewriteLocked: the runtime asks at every close.
  uint64_t staged_rewrite_bytes_ = 0;
  std::vector<std::string> lost_rewrites_;
  std::vector<std::string> warnings_;  // see TakeWarnings
  mutable std::mutex mutex_;
};

}  // namespace cove::shield
