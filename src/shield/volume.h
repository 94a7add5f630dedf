// Volume: an fspf loaded in memory with the files it protects. It opens and creates protected
// files, maps protected paths to host paths (region `--kernel` paths), and is the single place
// where the fspf is rewritten: a file's commit is durable exactly when the new fspf is.
// Thread-safe: commits of different files are serialized on the fspf lock.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

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

  // Opens the protected file recorded at `path`.
  Result<std::unique_ptr<ProtectedFile>> OpenFile(const std::string& path, bool writable);
  // Starts a new, empty protected file at `path` (in an authenticated or encrypted region),
  // stored at `host_path` (default HostPathFor(path)). It enters the fspf at its first commit.
  Result<std::unique_ptr<ProtectedFile>> CreateFile(
      const std::string& path, std::optional<std::string> host_path = std::nullopt,
      uint32_t chunk_size = kDefaultChunkSize);

  // Commits `file`: prepare, write the fspf, finish (see ProtectedFile).
  Status Commit(ProtectedFile& file) override;
  // For bulk builds (`fspf addf`): seals a newly created file and records it in memory only;
  // one Save() afterwards commits all of them. (A file already committed is committed again.)
  Status Stage(ProtectedFile& file);

 private:
  Volume() = default;
  Status SaveLocked();

  Env* env_ = nullptr;
  std::string fspf_path_;
  std::string host_root_;
  SecretBytes key_;
  Fspf fspf_;
  FspfTag tag_{};
  mutable std::mutex mutex_;
};

}  // namespace cove::shield
