// Volume: fspf lifecycle and the commit protocol across files.
#include "shield/volume.h"

#include <fcntl.h>

#include <cstring>

namespace cove::shield {

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

Status Volume::SaveLocked() {
  FspfTag tag{};
  COVE_ASSIGN_OR_RETURN(auto bytes, EncodeFspfFile(fspf_, key_.empty() ? nullptr : &key_, &tag));
  COVE_RETURN_IF_ERROR(WriteFileAtomically(*env_, fspf_path_, bytes));
  tag_ = tag;
  return Status::Ok();
}

std::string Volume::HostPathFor(const std::string& path) const {
  std::lock_guard lock(mutex_);
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

const FileEntry* Volume::FindFileById(const FileId& id) const {
  std::lock_guard lock(mutex_);
  for (const auto& [path, entry] : fspf_.files) {
    if (entry.id == id) return &entry;
  }
  return nullptr;
}

Result<std::unique_ptr<ProtectedFile>> Volume::OpenFile(const std::string& path, bool writable) {
  std::string host = HostPathFor(path);
  FileEntry entry;
  {
    std::lock_guard lock(mutex_);
    auto it = fspf_.files.find(path);
    if (it == fspf_.files.end()) return NotFound(path + ": not recorded in the fspf");
    const FileEntry& found = it->second;
    entry.path = found.path;
    entry.kind = found.kind;
    entry.id = found.id;
    entry.key = found.key;
    entry.size = found.size;
    entry.generation = found.generation;
    entry.chunk_size = found.chunk_size;
    entry.group_digests = found.group_digests;
  }
  COVE_ASSIGN_OR_RETURN(auto file, ProtectedFile::Open(*env_, host, entry, writable));
  file->set_committer(this);
  return file;
}

Result<std::unique_ptr<ProtectedFile>> Volume::CreateFile(const std::string& path,
                                                          std::optional<std::string> host_path,
                                                          uint32_t chunk_size) {
  COVE_ASSIGN_OR_RETURN(std::string normalized, NormalizeAbsolutePath(path));
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
  COVE_RETURN_IF_ERROR(RandomBytes(entry.id));
  COVE_ASSIGN_OR_RETURN(entry.key, RandomKey());
  entry.chunk_size = chunk_size;
  std::string host = host_path ? *host_path : HostPathFor(normalized);
  COVE_ASSIGN_OR_RETURN(auto file, ProtectedFile::Open(*env_, host, entry, true));
  file->set_committer(this);
  return file;
}

Status Volume::Commit(ProtectedFile& file) {
  std::lock_guard lock(mutex_);
  if (!file.dirty() && file.generation() > 0) return Status::Ok();
  COVE_ASSIGN_OR_RETURN(FileEntry entry, file.PrepareCommit());
  std::optional<FileEntry> previous;
  auto it = fspf_.files.find(entry.path);
  if (it != fspf_.files.end()) previous = std::move(it->second);
  std::string path = entry.path;
  fspf_.files[path] = std::move(entry);
  Status saved = SaveLocked();
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

Status Volume::Stage(ProtectedFile& file) {
  // A large file may have been committed already when its buffered writes overflowed.
  if (file.generation() != 0) return Commit(file);
  COVE_ASSIGN_OR_RETURN(FileEntry entry, file.PrepareCommit());
  COVE_RETURN_IF_ERROR(file.FinishCommit());
  std::lock_guard lock(mutex_);
  std::string path = entry.path;
  fspf_.files[path] = std::move(entry);
  return Status::Ok();
}

}  // namespace cove::shield
