// ShieldedFiles: file operations on protected descriptors and paths (see shielded_files.h).
#include "runtime/shielded_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/stat.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include "common/hex.h"
#include "runtime/commit_flusher.h"
#include "runtime/direct_syscall.h"
#include "runtime/raw_syscall_env.h"
#include "runtime/runtime_log.h"
#include "shield/journal.h"

// glibc's stdio list lock (libio, exported; not in its headers), under glibc's names.
// NOLINTBEGIN(bugprone-reserved-identifier, readability-identifier-naming)
extern "C" void _IO_list_lock();
extern "C" void _IO_list_unlock();
extern "C" void _IO_list_resetlock();
// NOLINTEND(bugprone-reserved-identifier, readability-identifier-naming)

namespace cove::runtime {

std::atomic<ShieldedFiles*> ShieldedFiles::instance_{nullptr};

namespace {

using shield::RegionKind;

// Writes of one call are staged in slices of this size through the ProtectedFile.
constexpr uint64_t kMaxFileSize = uint64_t{1} << 50;

long RawOpen(const std::string& path, int flags, mode_t mode = 0) {
  return DirectSyscall(SYS_openat, AT_FDCWD, path.c_str(), flags, mode);
}

void FixStatSize(struct stat* st, uint64_t size) {
  st->st_size = static_cast<off_t>(size);
  st->st_blocks = static_cast<blkcnt_t>((size + 511) / 512);
}

bool IsStrictExempt(const std::string& path) {
  return shield::PathIsUnder(path, "/proc") || shield::PathIsUnder(path, "/dev") ||
         shield::PathIsUnder(path, "/sys");
}

// Set while TryOpen will try again an open that another process's lock refuses: only the last
// try logs the refusal.
thread_local bool t_busy_retry_pending = false;

// Logs that another process's lock refused `call` on `path` for `cause`, unless TryOpen is
// going to try again.
void LogBusy(const char* call, const std::string& path, const char* cause) {
  if (!t_busy_retry_pending) Log(kLogError, "%s %s: %s", call, path.c_str(), cause);
}
constexpr const char* kBeingWritten = "the file is being written by another process (EBUSY)";
constexpr const char* kOpenElsewhere =
    "another process has the file open (EBUSY): one writer at a time";
constexpr const char* kCreatedAtTheSameTime = "another process created it at the same time (EBUSY)";
constexpr const char* kNotSavedYet =
    "another process created it and has not recorded it in the fspf yet (EBUSY)";

// Whether another process holds the exclusive lock of host file `host`: a new file it staged
// and has not saved yet keeps that lock until the fspf records the file.
bool LockedByAnotherProcess(const std::string& host) {
  long fd = RawOpen(host, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return false;
  bool locked = DirectSyscall(SYS_flock, fd, LOCK_SH | LOCK_NB) == -EWOULDBLOCK;
  DirectSyscall(SYS_close, fd);
  return locked;
}

// Runs try_once(final_try) until it returns true, pausing 1, 2, 4 ... 20 ms between tries, for
// as long as another process's background commit may take (CommitFlusher::BusyWaitMs; once
// when the flusher is off): for a file whose lock another process holds.
template <typename TryOnce>
void RetryWhileBusy(TryOnce try_once) {
  using Clock = std::chrono::steady_clock;
  constexpr int kMaxStepMs = 20;
  const int wait_ms = CommitFlusher::Enabled() ? CommitFlusher::BusyWaitMs() : 0;
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(wait_ms);
  for (int step_ms = 1;; step_ms = std::min(2 * step_ms, kMaxStepMs)) {
    // (A signal cuts a pause short: the deadline, not the pauses, bounds the wait.)
    bool final_try = Clock::now() + std::chrono::milliseconds(step_ms) > deadline;
    if (try_once(final_try) || final_try) return;
    timespec pause{0, step_ms * 1000000L};
    DirectSyscall(SYS_nanosleep, &pause, nullptr);
  }
}

}  // namespace

ShieldedFiles::ShieldedFiles(const RuntimeConfig& config, std::unique_ptr<shield::Volume> volume,
                             bool strict)
    : volume_(std::move(volume)), strict_(strict), owner_pid_(DirectSyscall(SYS_getpid)) {
  std::vector<std::string> significant;
  for (const auto& region : volume_->fspf().regions) {
    if (region.kind != shield::RegionKind::kNotProtected || !region.kernel_path.empty()) {
      significant.push_back(region.path);
    }
  }
  significant_regions_ = RegionPrefixFilter(std::move(significant));
  unsaved_batch_by_fds_ = UnsavedBatchByDescriptorLimit();
  config_.log_level = config.log_level;
  config_.fspf_path = config.fspf_path;
  config_.tag_file = config.tag_file;
  ReserveSpareDescriptors();
  placeholder_fd_ = MoveAboveRuntimeFloor(OpenPlaceholder());
  struct stat st {};
  if (placeholder_fd_ >= 0 && (placeholder_fd_ < RuntimeDescriptorFloor() ||
                               DirectSyscall(SYS_fstat, placeholder_fd_, &st) != 0)) {
    CloseDescriptor(static_cast<int>(placeholder_fd_));  // below the floor: by path then
    placeholder_fd_ = -1;
  }
  placeholder_dev_ = st.st_dev;
  placeholder_ino_ = st.st_ino;
}

long ShieldedFiles::OpenPlaceholder() {
  // An O_PATH descriptor of a socket of its own, reached through its /proc link (the one way
  // to an O_PATH descriptor of an inode without a name): no directory (fchdir and relative *at
  // calls fail with ENOTDIR, as on a file), no file to open again through /proc/self/fd/N
  // (ENXIO), nothing of anyone's to change (chmod or chown through the link reach this socket).
  int pair[2];
  if (DirectSyscall(SYS_socketpair, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return -1;
  char link[40];
  snprintf(link, sizeof(link), "/proc/self/fd/%d", pair[0]);
  long placeholder = DirectSyscall(SYS_openat, AT_FDCWD, link, O_PATH | O_CLOEXEC);
  DirectSyscall(SYS_close, pair[0]);
  DirectSyscall(SYS_close, pair[1]);
  return placeholder;
}

long ShieldedFiles::MoveHostDescriptorUp(long fd, ProgramSlot* slot) const {
  if (slot == nullptr || placeholder_fd_ < 0 || slot->fd >= 0) return MoveAboveRuntimeFloor(fd);
  return MoveAboveRuntimeFloorLeaving(fd, static_cast<int>(placeholder_fd_), slot->cloexec_flag,
                                      &slot->fd);
}

long ShieldedFiles::NewProgramDescriptor(ProgramSlot& slot, const std::string& host, int flags) {
  if (slot.fd >= 0) return std::exchange(slot.fd, -1);
  if (placeholder_fd_ < 0) return RawOpen(host, O_PATH | (flags & (O_CLOEXEC | O_NOFOLLOW)));
  return DirectSyscall(SYS_fcntl, placeholder_fd_,
                       (flags & O_CLOEXEC) != 0 ? F_DUPFD_CLOEXEC : F_DUPFD, 0);
}

bool ShieldedFiles::IsPlaceholder(int fd) const {
  struct stat st {};
  return placeholder_fd_ >= 0 && DirectSyscall(SYS_fstat, fd, &st) == 0 &&
         st.st_dev == placeholder_dev_ && st.st_ino == placeholder_ino_;
}

template <typename Call>
long ShieldedFiles::OnHostFile(ProtectedNode& node, Call&& call) const {
  // Through the lock's descriptor, held while the call runs: the file this process has open,
  // also once it was renamed over or removed (its path then names another file, or none).
  std::lock_guard node_lock(node.mutex);
  if (!node.file) return -EBADF;  // closed by another thread meanwhile: no path to follow
  if (node.lock_fd.valid()) return call(node.lock_fd.get(), nullptr);
  std::string host = volume_->HostPathFor(node.path);
  return call(AT_FDCWD, host.c_str());
}

void ShieldedFiles::NameHostFile(int fd, const OpenFileDescription& desc) const {
  if (!IsPlaceholder(fd)) return;  // names its host file already, or is no longer ours
  long named = OnHostFile(*desc.node, [](int host_fd, const char* path) {
    char link[40];
    if (path == nullptr) {
      snprintf(link, sizeof(link), "/proc/self/fd/%d", host_fd);
      path = link;
    }
    return RawOpen(path, O_PATH | O_CLOEXEC);
  });
  if (named < 0) {
    Log(kLogWarning, "fd %d (%s): no O_PATH descriptor of its host file: %s", fd,
        desc.node->path.c_str(), strerror(static_cast<int>(-named)));
    return;
  }
  long fd_flags = DirectSyscall(SYS_fcntl, fd, F_GETFD);
  // (Checked again just before: another thread may have closed and reused the number since.)
  if (IsPlaceholder(fd)) {
    DirectSyscall(SYS_dup3, named, fd, fd_flags >= 0 && (fd_flags & FD_CLOEXEC) ? O_CLOEXEC : 0);
  }
  DirectSyscall(SYS_close, named);
}

void ShieldedFiles::NameHostFileOf(int fd) {
  ShieldScope scope;
  if (auto desc = table_.Get(fd)) NameHostFile(fd, *desc);
}

ShieldedFiles::~ShieldedFiles() {
  Status status = SaveUnsaved();
  if (!status.ok()) Fail("commit of staged files", status);
}

Status ReadFspfTagOnDisk(const std::string& path, shield::FspfTag* tag) {
  // With the spares: a program that filled its descriptor table must not have its commit
  // skip this check (and save over another process's newer fspf).
  long fd = OpenWithSpares(path.c_str(), O_RDONLY);
  if (fd < 0) return IoError("read the tag of " + path, static_cast<int>(-fd));
  UniqueFd guard(static_cast<int>(fd));
  long end = DirectSyscall(SYS_lseek, fd, 0, SEEK_END);
  if (end < 0 || !ReadFspfTagAt(static_cast<int>(fd), static_cast<uint64_t>(end), tag)) {
    return DataLoss(path + ": too short or unreadable to hold an fspf tag");
  }
  return Status::Ok();
}

bool ReadFspfTagAt(int fd, uint64_t size, shield::FspfTag* tag) {
  if (size < tag->size()) return false;
  return DirectSyscall(SYS_pread64, fd, tag->data(), tag->size(), size - tag->size()) ==
         static_cast<long>(tag->size());
}

bool IsPublishedTag(const std::string& tag_file, const shield::FspfTag& tag) {
  if (tag_file.empty()) return false;
  auto text = ReadWholeFile(RawSyscallEnvInstance(), tag_file);
  if (!text.ok()) return false;
  for (const auto& published : ParseTagFile(std::string(text->begin(), text->end()))) {
    if (published == tag) return true;
  }
  return false;
}

std::vector<shield::FspfTag> ParseTagFile(const std::string& text) {
  std::vector<shield::FspfTag> tags;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    std::string line = text.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    start = nl == std::string::npos ? text.size() : nl + 1;
    auto bytes = HexDecode(line, "tag file");
    if (bytes.ok() && bytes->size() == sizeof(shield::FspfTag)) {
      shield::FspfTag tag{};
      std::memcpy(tag.data(), bytes->data(), tag.size());
      tags.push_back(tag);
    }
  }
  return tags;
}

bool ShieldedFiles::FspfUnchangedLocked() {
  if (!fspf_watch_fd_.valid()) return false;
  struct stat st {};
  bool ours = DirectSyscall(SYS_fstat, fspf_watch_fd_.get(), &st) == 0 &&
              st.st_dev == fspf_watch_dev_ && st.st_ino == fspf_watch_ino_;
  if (!ours) {
    // The program closed the number (closefrom, dup2 over it) and may be using it for a file
    // of its own: forget it without closing.
    ForgetRuntimeDescriptor(fspf_watch_fd_.Release());
    return false;
  }
  return st.st_nlink > 0;
}

void ShieldedFiles::RefreshIfChangedLocked() {
  if (config_.tag_file.empty() || !volume_->sealed() || FspfUnchangedLocked()) return;
  // Reload reads the fspf again by its path: a third process's commit may replace it between
  // the two reads (make -j, xargs -P), which is a newer version to take, not a rollback.
  constexpr int kAttempts = 4;
  for (int attempt = 1;; ++attempt) {
    long fd = OpenWithSpares(config_.fspf_path.c_str(), O_RDONLY);
    if (fd < 0) return;
    UniqueFd watch(static_cast<int>(fd));
    struct stat st {};
    shield::FspfTag on_disk{};
    if (DirectSyscall(SYS_fstat, fd, &st) != 0 ||
        !ReadFspfTagAt(static_cast<int>(fd), static_cast<uint64_t>(st.st_size), &on_disk)) {
      return;
    }
    if (on_disk == volume_->tag()) {  // the version this process knows: watch it from now on
      fspf_watch_fd_ = std::move(watch);
      fspf_watch_dev_ = st.st_dev;
      fspf_watch_ino_ = st.st_ino;
      return;
    }
    if (!IsPublishedTag(config_.tag_file, on_disk)) return;  // not a commit of this session
    Status reloaded = volume_->Reload(on_disk);
    if (reloaded.ok()) {
      Log(kLogInfo, "fspf reloaded: another process committed (tag %s)",
          HexEncode(on_disk).c_str());
      return;
    }
    struct stat now {};
    bool replaced =
        DirectSyscall(SYS_newfstatat, AT_FDCWD, config_.fspf_path.c_str(), &now, 0) == 0 &&
        (now.st_ino != st.st_ino || now.st_dev != st.st_dev);
    if (!replaced || attempt == kAttempts) {
      Log(kLogError, "fspf reload: %s", reloaded.ToString().c_str());
      return;
    }
  }
}

long ShieldedFiles::Fail(const char* call, const Status& status) const {
  int err = status.ToErrno();
  int level = status.code() == StatusCode::kIntegrityError || status.code() == StatusCode::kDataLoss
                  ? kLogFatal
                  : kLogError;
  Log(level, "%s: %s (%s)", call, status.ToString().c_str(), strerror(err));
  return -err;
}

bool ShieldedFiles::Resolve(int dirfd, const char* path, std::string* out) const {
  if (path == nullptr) return false;
  std::string joined;
  if (path[0] == '/') {
    joined = path;
  } else {
    char base[PATH_MAX];
    long n;
    if (dirfd == AT_FDCWD) {
      n = DirectSyscall(SYS_getcwd, base, sizeof(base));
      if (n <= 0) return false;
      n = static_cast<long>(strlen(base));
    } else {
      char link[40];
      snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
      n = DirectSyscall(SYS_readlink, link, base, sizeof(base) - 1);
      if (n <= 0 || base[0] != '/') return false;
    }
    joined.assign(base, static_cast<size_t>(n));
    if (path[0] != '\0') joined += "/" + std::string(path);
  }
  auto normalized = shield::NormalizeAbsolutePath(joined);
  if (!normalized.ok()) return false;
  *out = std::move(normalized).value();
  return true;
}

bool ShieldedFiles::ClearlyOutsideResolved(int dirfd, const char* path) const {
  if (strict_active_ || path == nullptr || path[0] == '\0') return false;
  if (path[0] != '/' && dirfd != AT_FDCWD) return false;
  char buffer[PATH_MAX];
  size_t used = 0;
  if (path[0] != '/') {
    if (DirectSyscall(SYS_getcwd, buffer, sizeof(buffer)) <= 0 || buffer[0] != '/') return false;
    used = strlen(buffer);
    buffer[used++] = '/';
  }
  size_t length = strlen(path);
  if (used + length >= sizeof(buffer)) return false;
  std::memcpy(buffer + used, path, length + 1);
  // Outside, and not another spelling of "/dev/stdout" and the like while a protected
  // descriptor is open ("../dev/stdin", "/dev/./stdout", "stdout" from /dev): TryOpen reopens.
  auto outside = [&] {
    return significant_regions_.ClearlyOutside(buffer) &&
           !(table_.AnyProtected() && DescriptorOfLink(buffer) >= 0);
  };
  // Usually the joined path is already normal (getcwd's is): decided without normalizing.
  if (outside()) return true;
  buffer[shield::NormalizeAbsolutePathInPlace(buffer, used + length)] = '\0';
  return outside();
}

ShieldedFiles::Where ShieldedFiles::Classify(const std::string& path) const {
  // Regions never change while the program runs, so reading them needs no lock.
  const shield::Region* region = volume_->fspf().RegionFor(path);
  if (region == nullptr) return Where::kOutside;
  return region->kind == RegionKind::kNotProtected ? Where::kUnprotectedRegion
                                                   : Where::kProtectedRegion;
}

std::string ShieldedFiles::WritableFileHostDirectory() const {
  for (const auto& [fd, desc] : table_.Snapshot()) {
    if ((desc->flags & O_ACCMODE) == O_RDONLY) continue;
    std::lock_guard node_lock(desc->node->mutex);
    if (desc->node->file) return ParentDirectory(desc->node->file->host_path());
  }
  return "";
}

bool ShieldedFiles::NamesProtectedFile(int dirfd, const char* path) {
  if (ClearlyOutside(path)) return false;
  ShieldScope scope;
  std::string abs;
  uint64_t size = 0;
  return Resolve(dirfd, path, &abs) && Classify(abs) == Where::kProtectedRegion &&
         ProtectedSize(abs, &size);
}

bool ShieldedFiles::IsProtectedPath(const std::string& abs_path) const {
  return Classify(abs_path) == Where::kProtectedRegion;
}

bool ShieldedFiles::DenyIfStrict(const char* call, const std::string& path, long* result) const {
  if (!strict_active_ || IsStrictExempt(path)) return false;
  Log(kLogDenied, "%s %s: outside every protected region in strict mode (EACCES)", call,
      path.c_str());
  *result = -EACCES;
  return true;
}

bool ShieldedFiles::RemoveCrashLeftoverLocked(const std::string& path, const std::string& host) {
  auto recorded = [&] { return nodes_.count(path) != 0 || volume_->FindFile(path) != nullptr; };
  if (recorded()) return false;
  // Only the newest fspf may say "never committed": another process may have committed (or
  // renamed a file to) this path since this one loaded it (git's pack-objects child writes the
  // packs its parent then looks for).
  RefreshIfChangedLocked();
  if (recorded()) return false;
  // Only a host file reached through no symbolic link: through a link to a directory, `path`
  // is another name of a recorded file (`cat dirlink/f` removed d/f). Without openat2 (before
  // Linux 5.6), nothing is removed.
  struct open_how how {};
  how.flags = O_RDWR | O_CLOEXEC;
  how.resolve = RESOLVE_NO_SYMLINKS;
  long fd = DirectSyscall(SYS_openat2, AT_FDCWD, host.c_str(), &how, sizeof(how));
  if (fd < 0) return false;
  UniqueFd guard(static_cast<int>(fd));
  char magic[8] = {};
  struct stat st {};
  if (DirectSyscall(SYS_fstat, fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      DirectSyscall(SYS_pread64, fd, magic, sizeof(magic), 0) != sizeof(magic) ||
      std::memcmp(magic, "COVEPF01", sizeof(magic)) != 0 ||
      DirectSyscall(SYS_flock, fd, LOCK_EX | LOCK_NB) != 0) {
    return false;
  }
  // Its creator may have saved it and let go of its lock since the look above.
  RefreshIfChangedLocked();
  if (recorded()) return false;
  DirectSyscall(SYS_unlinkat, AT_FDCWD, host.c_str(), 0);
  DirectSyscall(SYS_unlinkat, AT_FDCWD, shield::JournalPath(host).c_str(), 0);
  Log(kLogWarning, "%s: removed a never-committed protected file (its creator crashed)",
      path.c_str());
  return true;
}

bool ShieldedFiles::ProtectedSize(const std::string& path, uint64_t* size) {
  std::lock_guard lock(mutex_);
  RefreshIfChangedLocked();  // the size another process committed, not the one loaded at start
  if (auto it = nodes_.find(path); it != nodes_.end()) {
    std::lock_guard node_lock(it->second->mutex);
    if (it->second->file) {
      *size = it->second->file->size();
      return true;
    }
  }
  const shield::FileEntry* entry = volume_->FindFile(path);
  if (entry == nullptr) return false;
  *size = entry->size;
  return true;
}

std::shared_ptr<ProtectedNode> ShieldedFiles::CreateNewNodeLocked(const std::string& path,
                                                                  mode_t mode, long* error,
                                                                  ProgramSlot* slot) {
  auto node = std::make_shared<ProtectedNode>();
  node->path = path;
  std::string host = volume_->HostPathFor(path);
  // O_EXCL: nobody else can have the new host file open yet; lock it before anything else.
  // The program's mode (and umask) apply to the host file, as to a plain one: a script created
  // with 0755 stays executable. The runtime itself needs read and write access to it.
  long fd = MoveHostDescriptorUp(
      RawOpen(host, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, (mode & 07777) | 0600), slot);
  if (fd < 0) {
    *error =
        fd == -EEXIST ? -EEXIST : Fail("create", IoError("create " + host, static_cast<int>(-fd)));
    return nullptr;
  }
  node->lock_fd.Reset(static_cast<int>(fd));
  if (DirectSyscall(SYS_flock, fd, LOCK_EX | LOCK_NB) != 0) {
    // Another process creating the same path took the new host file's lock first: it is that
    // process's file now.
    LogBusy("create", path, kCreatedAtTheSameTime);
    *error = -EBUSY;
    return nullptr;
  }
  auto file = volume_->CreateFile(path, std::nullopt, shield::kDefaultChunkSize, node->lock_fd);
  if (!file.ok()) {
    *error = Fail("create", file.status());
    DirectSyscall(SYS_unlinkat, AT_FDCWD, host.c_str(), 0);  // nobody can know it yet
    return nullptr;
  }
  node->file = std::move(file).value();
  node->write_locked = true;
  nodes_[path] = node;
  return node;
}

std::shared_ptr<ProtectedNode> ShieldedFiles::OpenNodeLocked(const std::string& path, bool create,
                                                             long* error, int adopt_lock_fd,
                                                             bool for_truncation,
                                                             bool* host_writable,
                                                             ProgramSlot* slot) {
  auto node = std::make_shared<ProtectedNode>();
  node->path = path;
  std::string host = volume_->HostPathFor(path);
  // The host file carries the cross-process lock: shared for readers, exclusive for a writer,
  // and taken BEFORE a create truncates a host file another process may be writing.
  // How open_host opened the lock descriptor: O_RDWR, O_RDONLY, or -1 when it did not (the
  // descriptor was adopted across an exec, or kept for a file this process staged, or none).
  long opened_access = -1;
  long read_write_error = 0;  // -errno of that O_RDWR open, when it failed
  auto open_host = [&] {
    if (node->lock_fd.valid()) return;
    long fd = MoveHostDescriptorUp(RawOpen(host, O_RDWR | O_CLOEXEC), slot);
    long access = O_RDWR;
    if (fd < 0) {
      read_write_error = fd;
      fd = MoveHostDescriptorUp(RawOpen(host, O_RDONLY | O_CLOEXEC), slot);
      access = O_RDONLY;
    }
    if (fd < 0) return;
    node->lock_fd.Reset(static_cast<int>(fd));
    opened_access = access;
  };
  auto lock_host = [&](int operation) {
    open_host();
    if (!node->lock_fd.valid()) return true;  // nothing to lock yet
    return DirectSyscall(SYS_flock, node->lock_fd.get(), operation | LOCK_NB) != -EWOULDBLOCK;
  };
  SharedFd staged_lock;  // this process staged the file: it already holds the exclusive lock
  bool took_staged_lock = false;
  {
    std::lock_guard lock(unsaved_mutex_);
    if (auto it = unsaved_locks_.find(path); it != unsaved_locks_.end()) {
      staged_lock = std::move(it->second);
      unsaved_locks_.erase(it);
    }
  }
  if (adopt_lock_fd >= 0) {
    node->lock_fd.Reset(adopt_lock_fd);
    NoteRuntimeDescriptor(adopt_lock_fd);
    DirectSyscall(SYS_fcntl, adopt_lock_fd, F_SETFD, FD_CLOEXEC);
  } else {
    bool locked = false;
    if (staged_lock.valid()) {
      // Still held unless something released it (an exec that failed after its save): taken
      // again, so that a staged file is never written unlocked.
      node->lock_fd = std::move(staged_lock);
      locked = DirectSyscall(SYS_flock, node->lock_fd.get(), LOCK_EX | LOCK_NB) == 0;
      node->write_locked = locked;
      took_staged_lock = locked;
    } else {
      if (for_truncation) {
        // A file the program may not write (mode 0444, another owner's) is refused as the
        // kernel would, before its lock is taken (which would keep others out meanwhile).
        open_host();
        if (read_write_error == -EACCES) {
          *error = -EACCES;
          return nullptr;
        }
      }
      bool exclusive = create || for_truncation;
      locked = lock_host(exclusive ? LOCK_EX : LOCK_SH);
      node->write_locked = locked && for_truncation && node->lock_fd.valid();
    }
    if (!locked) {
      LogBusy("open", path, for_truncation ? kOpenElsewhere : kBeingWritten);
      *error = -EBUSY;
      return nullptr;
    }
  }
  if (host_writable != nullptr) *host_writable = opened_access == O_RDWR;
  // An existing file is read and written through the lock's own descriptor: no second open by
  // path, and it is the very file that was locked. A lock descriptor that could only be opened
  // read-only (a host file this process may not write, a read-only file system) makes a
  // read-only file: a second open for writing failed, and so did every open of a file on a
  // read-only mount (EROFS).
  SharedFd host_fd;
  bool read_only = false;
  if (node->lock_fd.valid()) {
    long access = opened_access;
    if (access < 0) {  // adopted across an exec, or staged by this process: ask
      long flags = DirectSyscall(SYS_fcntl, node->lock_fd.get(), F_GETFL);
      access = flags < 0 ? -1 : flags & O_ACCMODE;
    }
    if (access == O_RDWR || (!create && access == O_RDONLY)) {
      host_fd = node->lock_fd;
      read_only = access == O_RDONLY;
    }
  }
  // A create over an existing host file (one the fspf does not record) empties it through the
  // lock's descriptor, which the new file then shares, as CreateNewNodeLocked's does; else the
  // file opens it by path (with O_TRUNC) and holds a second descriptor.
  if (create && host_fd.valid() && DirectSyscall(SYS_ftruncate, host_fd.get(), 0) != 0) {
    host_fd = {};
  }
  // (A staged rewrite of the path is saved first, in OpenFile.)
  Result<std::unique_ptr<shield::ProtectedFile>> file =
      create
          ? volume_->CreateFile(path, std::nullopt, shield::kDefaultChunkSize, std::move(host_fd))
          : volume_->OpenFile(path, !read_only, std::move(host_fd),
                              for_truncation ? shield::OpenFor::kReplacing : shield::OpenFor::kUse);
  if (!file.ok() && !create && !read_only && file.status().ToErrno() == EACCES) {
    file = volume_->OpenFile(path, false);  // a read-only host file
  }
  // The save of a staged rewrite of this path (in OpenFile) saved the other staged files too.
  if (took_staged_lock) ReleaseSavedLocks();
  if (!file.ok()) {
    *error = Fail(create ? "create" : "open", file.status());
    if (node->write_locked && volume_->IsUnsaved(path)) {
      // Still staged (its save failed): the lock stays held for it.
      std::lock_guard lock(unsaved_mutex_);
      unsaved_locks_[path] = std::move(node->lock_fd);
    }
    return nullptr;
  }
  node->file = std::move(file).value();
  if (create && !lock_host(LOCK_EX)) {  // the host file did not exist before
    LogBusy("create", path, kCreatedAtTheSameTime);
    *error = -EBUSY;
    return nullptr;
  }
  node->write_locked = node->write_locked || create;
  nodes_[path] = node;
  return node;
}

bool ShieldedFiles::RebaseAppendsLocked(ProtectedNode& node) {
  shield::ProtectedFile& mine = *node.file;
  // Only O_APPEND writes: a write at an offset past the end (a hole) or through a descriptor
  // whose offset another process moved has its place, which a move would change.
  if (!node.only_append_writes || !mine.OnlyBufferedAppends()) return false;
  uint64_t from = mine.committed_size();
  SecretBytes appended = SecretBytes::ForOverwrite(static_cast<size_t>(mine.size() - from));
  auto read = mine.Read(from, appended.mutable_span());
  if (!read.ok() || *read != appended.size()) return false;
  auto newer = volume_->OpenLatestFile(node.path, true);
  if (!newer.ok()) {
    Fail("take in another process's commit", newer.status());
    return false;
  }
  (*newer)->set_other_writers(node.other_writers.load(std::memory_order_relaxed));
  if (Status written = (*newer)->Write((*newer)->size(), appended.span()); !written.ok()) {
    Fail("append onto another process's commit", written);
    return false;
  }
  Log(kLogInfo,
      "%s: another process sharing it committed generation %llu first: this one's %zu "
      "appended bytes follow it",
      node.path.c_str(), static_cast<unsigned long long>((*newer)->generation()), appended.size());
  node.file = std::move(newer).value();
  return true;
}

bool ShieldedFiles::ReopenLatestLocked(ProtectedNode& node) {
  auto reopened = volume_->OpenLatestFile(node.path, true);
  if (!reopened.ok() && reopened.status().ToErrno() == EACCES) {
    reopened = volume_->OpenLatestFile(node.path, false);
  }
  if (!reopened.ok()) {
    Fail("reopen after another process's commit", reopened.status());
    return false;
  }
  node.file = std::move(reopened).value();
  node.file->set_other_writers(node.other_writers.load(std::memory_order_relaxed));
  node.only_append_writes = true;
  Log(kLogDebug, "%s: reopened at generation %llu (committed by another process)",
      node.path.c_str(), static_cast<unsigned long long>(node.file->generation()));
  return true;
}

bool ShieldedFiles::TookInCommitAfterRefreshLocked(ProtectedNode& node, const Status& failed) {
  if (failed.code() != StatusCode::kIntegrityError ||
      !node.other_writers.load(std::memory_order_relaxed) || node.file->dirty()) {
    return false;
  }
  uint64_t generation = node.file->generation();
  return ReopenLatestLocked(node) && node.file->generation() != generation;
}

long ShieldedFiles::EnsureWriterLocked(ProtectedNode& node) {
  if (node.conflicted) {
    // Its writes could land on the other process's committed chunks (appends are sealed to
    // disk at write time).
    Log(kLogError,
        "write %s: refused (EIO): another process sharing it committed over this "
        "one's uncommitted writes",
        node.path.c_str());
    return -EIO;
  }
  if (!node.write_locked && node.lock_fd.valid()) {
    long r = DirectSyscall(SYS_flock, node.lock_fd.get(), LOCK_EX | LOCK_NB);
    if (r == -EWOULDBLOCK) {
      LogBusy("write", node.path, kOpenElsewhere);
      return -EBUSY;
    }
    node.write_locked = true;
  }
  node.parents_writes = false;  // what this process commits from now on includes its writes
  return 0;
}

bool ShieldedFiles::NeedsCommit(const ProtectedNode& node) {
  return !node.unlinked && !node.parents_writes && node.file &&
         (node.file->dirty() || node.file->generation() == 0);
}

Status ShieldedFiles::CommitNodeLocked(ProtectedNode& node) {
  if (!NeedsCommit(node)) return Status::Ok();
  if (node.conflicted) {
    return FailedPrecondition(node.path +
                              ": not committed: another process sharing its descriptor "
                              "committed it first (concurrent writes through a shared offset)");
  }
  Status status = volume_->Commit(*node.file);
  // Refused because another process sharing the file committed first (Volume::Commit took its
  // fspf in): appends move onto its version and are committed again. Bounded: each round
  // needs yet another commit of the other process in between.
  for (int round = 0; status.code() == StatusCode::kConflict; ++round) {
    if (round == kMaxRebaseRounds || !RebaseAppendsLocked(node)) {
      node.conflicted = true;  // see EnsureWriterLocked
      break;
    }
    status = volume_->Commit(*node.file);
  }
  if (status.ok()) {
    node.only_append_writes = true;
    Log(kLogDebug, "committed %s", node.path.c_str());
    ReleaseSavedLocks();  // the fspf just written records the staged files too
  }
  return status;
}

bool ShieldedFiles::StagesOnLastClose(const ProtectedNode& node) {
  if (node.unlinked || node.parents_writes || !node.file || !node.lock_fd.valid() ||
      !node.write_locked) {
    return false;
  }
  if (node.file->generation() == 0) return true;
  // A rewrite of a small file that only this process writes (a file shared across a fork
  // commits under the commit lock, see Volume::Commit), while the flusher saves it within its
  // delay (without it, COVE_COMMIT_DELAY_MS=0, a close commits as documented).
  return CommitFlusher::Enabled() && node.file->dirty() && !node.conflicted &&
         !node.other_writers.load(std::memory_order_relaxed) && !node.file->other_writers() &&
         node.file->size() <= kMaxStagedRewriteBytes &&
         node.file->committed_size() <= kMaxStagedRewriteBytes;
}

Status ShieldedFiles::CommitOnLastCloseLocked(ProtectedNode& node) {
  if (!StagesOnLastClose(node)) return CommitNodeLocked(node);
  // Rewriting the whole fspf at every close made creating or rewriting N files cost O(N^2);
  // close does not promise durability (fsync does), so such files are saved in batches.
  if (node.file->generation() == 0) {
    COVE_RETURN_IF_ERROR(volume_->Stage(*node.file));
  } else {
    COVE_RETURN_IF_ERROR(volume_->StageRewrite(node.file));
  }
  Log(kLogDebug, "staged %s (recorded at the next fspf write)", node.path.c_str());
  CommitFlusher::NotePending();
  // (Its lock is kept until the save by ReleaseRef, the only caller, as any unsaved file's.)
  // (unsaved_count counts staged rewrites too: each holds one descriptor, the lock's, which
  // its file shares.)
  if (volume_->unsaved_count() >= UnsavedBatchLimit() ||
      volume_->staged_rewrite_bytes() > kMaxStagedRewriteMemory) {
    RefreshIfChangedLocked();  // the fspf write must include other processes' commits
    return SaveUnsaved();
  }
  return Status::Ok();
}

size_t ShieldedFiles::UnsavedBatchByDescriptorLimit() {
  struct rlimit limit {};
  if (DirectSyscall(SYS_prlimit64, 0, RLIMIT_NOFILE, nullptr, &limit) == 0 &&
      limit.rlim_cur != RLIM_INFINITY) {
    return static_cast<size_t>(limit.rlim_cur / 8);
  }
  return kMaxUnsavedBatch;
}

long ShieldedFiles::HighestDescriptorToReserve() {
  return RuntimeDescriptorFloor() +
         static_cast<long>(std::min(UnsavedBatchByDescriptorLimit(), kMaxUnsavedBatch)) +
         kDescriptorsBesideStaged;
}

size_t ShieldedFiles::UnsavedBatchLimit() const {
  // Each staged file holds its lock descriptor until the save: the descriptor limit comes
  // last, so that a low RLIMIT_NOFILE (ulimit -n 64) never runs the program out of them.
  size_t by_size = volume_->file_count() / 2;
  return std::min(unsaved_batch_by_fds_,
                  std::max(kMinUnsavedBatch, std::min(by_size, kMaxUnsavedBatch)));
}

Status ShieldedFiles::SaveUnsaved() {
  Status status = volume_->SaveIfUnsaved();
  if (status.ok()) {
    ReleaseSavedLocks();
    return status;
  }
  // Say which files: their closes returned long ago.
  constexpr size_t kMaxNamed = 5;
  std::set<std::string> paths = volume_->unsaved_paths();
  std::string named;
  size_t count = 0;
  for (const std::string& path : paths) {
    if (count++ == kMaxNamed) break;
    named += (named.empty() ? "" : ", ") + path;
  }
  if (paths.size() > kMaxNamed)
    named += " and " + std::to_string(paths.size() - kMaxNamed) + " more";
  return status.WithContext("files closed but not recorded yet: " + named);
}

Status ShieldedFiles::CommitOpenNodes(const char* when) {
  Status first;
  std::lock_guard lock(mutex_);
  RefreshIfChangedLocked();
  for (auto& [path, node] : nodes_) {
    std::lock_guard node_lock(node->mutex);
    Status status = CommitNodeLocked(*node);
    if (!status.ok()) {
      Fail(when, status);
      if (first.ok()) first = status;
    }
  }
  return first;
}

Status ShieldedFiles::CommitBeforeExec() {
  ShieldScope scope;
  Status first = CommitOpenNodes("commit before exec");
  Status saved = volume_->SaveIfUnsaved();
  if (!saved.ok()) {
    Fail("commit before exec", saved);
    return first.ok() ? saved : first;
  }
  {
    // Unlocked explicitly (a forked child may share their descriptions) and closed: if the
    // exec fails, the process goes on without them, as after any save.
    std::lock_guard lock(unsaved_mutex_);
    std::set<std::string> unsaved = volume_->unsaved_paths();
    for (auto& [path, lock_fd] : unsaved_locks_) {
      if (!unsaved.contains(path)) DirectSyscall(SYS_flock, lock_fd.get(), LOCK_UN);
    }
  }
  ReleaseSavedLocks();
  return first;
}

void ShieldedFiles::ReleaseSavedLocks() {
  for (const std::string& warning : volume_->TakeWarnings()) {
    Log(kLogWarning, "%s", warning.c_str());
  }
  for (const std::string& path : volume_->TakeLostRewrites()) {
    Say("%s: writes lost: another process removed, replaced or rewrote it before this one's "
        "staged rewrite was saved",
        path.c_str());
    lost_writes_.store(true, std::memory_order_relaxed);
  }
  std::lock_guard lock(unsaved_mutex_);
  if (unsaved_locks_.empty()) return;
  // Under unsaved_mutex_: a file another thread stages now adds its lock after its path is
  // unsaved, so it is kept.
  std::set<std::string> unsaved = volume_->unsaved_paths();
  std::erase_if(unsaved_locks_,
                [&](const auto& lock_of) { return !unsaved.contains(lock_of.first); });
}

void ShieldedFiles::AddRef(const std::shared_ptr<ProtectedNode>& node) {
  std::lock_guard lock(mutex_);
  ++node->fd_refs;
}

void ShieldedFiles::ReleaseImplicitly(const std::shared_ptr<ProtectedNode>& node, const char* how) {
  std::string path = node->path;
  Status status = ReleaseRef(node);
  if (status.ok()) return;
  // No call returns this error to the program (a shell restores its stdout with dup2 after a
  // builtin's `>> file`): said whatever SCONE_LOG is, and the process ends with status 74.
  Say("%s: writes lost: the commit when the last descriptor went (%s) failed: %s", path.c_str(),
      how, status.ToString().c_str());
  lost_writes_.store(true, std::memory_order_relaxed);
}

Status ShieldedFiles::ReleaseRef(const std::shared_ptr<ProtectedNode>& node) {
  std::lock_guard lock(mutex_);
  if (--node->fd_refs > 0) return Status::Ok();
  std::lock_guard node_lock(node->mutex);
  // Only a close that commits writes the fspf, and must first take in other processes'
  // commits; the last close of a file only read, or of a new file (staged), does not.
  if (NeedsCommit(*node) && !StagesOnLastClose(*node)) RefreshIfChangedLocked();
  Status status = CommitOnLastCloseLocked(*node);
  if (auto it = nodes_.find(node->path); it != nodes_.end() && it->second == node) {
    nodes_.erase(it);
  }
  node->file.reset();
  if (node->lock_fd.valid() && !node->unlinked) {
    // A file staged by this close, or staged before and opened again (OpenNodeLocked took its
    // lock back): the lock stays held until its batch's save. Released, another process would
    // take an unrecorded host file for a crash's leftover and remove it. (Asked under
    // unsaved_mutex_, as ReleaseSavedLocks does, so that a save in between is seen.)
    std::lock_guard unsaved_lock(unsaved_mutex_);
    if (volume_->IsUnsaved(node->path)) {
      unsaved_locks_.try_emplace(node->path, std::move(node->lock_fd));
    }
  }
  node->lock_fd.Reset();
  ReserveSpareDescriptors();  // any given back when the table was full (a cheap test if not)
  return status;
}

long ShieldedFiles::InstallNew(long host_fd, std::shared_ptr<OpenFileDescription> desc) {
  bool ok = false;
  auto node = desc->node;
  auto previous = table_.Install(static_cast<int>(host_fd), std::move(desc), &ok);
  if (!ok) {
    CloseDescriptor(host_fd);
    Log(kLogError, "open %s: descriptor %ld is beyond the runtime's table (EMFILE)",
        node->path.c_str(), host_fd);
    return -EMFILE;
  }
  ++node->fd_refs;  // mutex_ held by the caller
  if (previous) Log(kLogWarning, "descriptor %ld was still marked protected", host_fd);
  return host_fd;
}

namespace {

// What an entry of a protected host directory whose name ends with the journal suffix is.
enum class JournalNamed {
  kJournal,     // one (shield::IsJournalHead), or one a crash cut short
  kOther,       // a file of the program's own (a protected file's host file), a directory...
  kUnreadable,  // a regular file this process may not read (another user's journal), or gone
};

// What entry `name` of directory `dirfd` is, from its first bytes (`type`: its d_type), and
// for a journal the id of its file when it names one. Only regular files are opened (never a
// device or FIFO a program named so), without following a link.
struct JournalProbe {
  JournalNamed kind = JournalNamed::kUnreadable;
  std::optional<shield::FileId> file_id;
};
JournalProbe ProbeJournalNamed(int dirfd, const char* name, unsigned char type) {
  if (type == DT_UNKNOWN) {
    struct stat st {};
    if (DirectSyscall(SYS_newfstatat, dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return {};
    type = S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
  }
  if (type != DT_REG) return {JournalNamed::kOther};
  long fd = DirectSyscall(SYS_openat, dirfd, name,
                          O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return {};
  UniqueFd guard(static_cast<int>(fd));
  std::array<uint8_t, shield::kJournalHeadSize> head{};
  long n = DirectSyscall(SYS_pread64, fd, head.data(), head.size(), 0);
  if (n < 0) return {};
  auto read = std::span(head).first(static_cast<size_t>(n));
  if (!shield::IsJournalHead(read)) return {JournalNamed::kOther};
  return {JournalNamed::kJournal, shield::JournalFileIdOfHead(read)};
}

// The record layouts of getdents64 (struct dirent64) and of the old getdents (the kernel's
// struct linux_dirent, which glibc does not declare: its d_type is the last byte of a record).
struct LinuxDirent {
  unsigned long d_ino;
  unsigned long d_off;
  unsigned short d_reclen;
  char d_name[1];
};
static_assert(offsetof(LinuxDirent, d_reclen) == offsetof(struct dirent64, d_reclen));

}  // namespace

bool ShieldedFiles::TryGetdents(long nr, int fd, void* buffer, size_t size, long* result) {
  const bool old = nr == SYS_getdents;
  const size_t name_offset =
      old ? offsetof(LinuxDirent, d_name) : offsetof(struct dirent64, d_name);
  auto* bytes = static_cast<char*>(buffer);
  auto length_at = [&](long at) {
    unsigned short length = 0;
    std::memcpy(&length, bytes + at + offsetof(struct dirent64, d_reclen), sizeof(length));
    return static_cast<long>(length);
  };
  auto name_at = [&](long at) { return bytes + at + name_offset; };
  auto type_at = [&](long at) {
    return static_cast<unsigned char>(old ? bytes[at + length_at(at) - 1]
                                          : bytes[at + offsetof(struct dirent64, d_type)]);
  };
  for (;;) {
    long n = DirectSyscall(nr, fd, buffer, size);
    *result = n;
    if (n <= 0) return true;
    bool journals = false;
    for (long at = 0; at < n && !journals; at += length_at(at)) {
      journals = shield::IsJournalName(name_at(at));
    }
    if (!journals || !InProtectedHostDirectory(fd)) return true;
    long kept = 0;
    for (long at = 0; at < n;) {
      long length = length_at(at);
      // A name with the suffix is left out unless its first bytes say it is no journal (a
      // protected file the program named so); an unreadable one, as before.
      if (!shield::IsJournalName(name_at(at)) ||
          ProbeJournalNamed(fd, name_at(at), type_at(at)).kind == JournalNamed::kOther) {
        if (kept != at) std::memmove(bytes + kept, bytes + at, static_cast<size_t>(length));
        kept += length;
      }
      at += length;
    }
    *result = kept;
    if (kept > 0) return true;
    // Every entry of this batch was a journal: read on (0 would end the listing).
  }
}

bool ShieldedFiles::InProtectedHostDirectory(int fd) const {
  char link[32];
  char target[PATH_MAX];
  snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
  long length = DirectSyscall(SYS_readlinkat, AT_FDCWD, link, target, sizeof(target) - 1);
  if (length <= 0) return false;
  std::string_view dir(target, static_cast<size_t>(length));
  for (const shield::Region& region : volume_->fspf().regions) {
    if (region.kind == RegionKind::kNotProtected) continue;
    std::string_view root = region.kernel_path.empty() ? region.path : region.kernel_path;
    if (shield::PathIsUnder(dir, root)) return true;
  }
  return false;
}

namespace {

// Consumes a decimal number at the start of `p` as /proc spells one (no leading zero, at most 9
// digits): the number, or -1 when `p` does not start with one.
long ConsumeProcNumber(std::string_view& p) {
  size_t digits = 0;
  while (digits < p.size() && p[digits] >= '0' && p[digits] <= '9') ++digits;
  if (digits == 0 || digits > 9 || (digits > 1 && p[0] == '0')) return -1;
  long number = 0;
  for (char c : p.substr(0, digits)) number = number * 10 + (c - '0');
  p.remove_prefix(digits);
  return number;
}

bool ConsumePrefix(std::string_view& p, std::string_view prefix) {
  if (!p.starts_with(prefix)) return false;
  p.remove_prefix(prefix.size());
  return true;
}

// The descriptor "fd/N" names (the whole of `p`), or -1.
int DescriptorOfFdEntry(std::string_view p) {
  if (!ConsumePrefix(p, "fd/")) return -1;
  long fd = ConsumeProcNumber(p);
  return p.empty() ? static_cast<int>(fd) : -1;
}

}  // namespace

int ShieldedFiles::DescriptorOfLink(const char* path) {
  if (!MayNameDescriptor(path)) return -1;
  std::string_view p(path);
  if (p == "/dev/stdin") return 0;
  if (p == "/dev/stdout") return 1;
  if (p == "/dev/stderr") return 2;
  if (ConsumePrefix(p, "/dev/")) return DescriptorOfFdEntry(p);
  if (!ConsumePrefix(p, "/proc/")) return -1;
  if (ConsumePrefix(p, "thread-self/")) return DescriptorOfFdEntry(p);
  long pid = 0;  // 0: "self"
  if (!ConsumePrefix(p, "self/")) {
    pid = ConsumeProcNumber(p);
    if (pid <= 0 || !ConsumePrefix(p, "/")) return -1;
  }
  long tid = 0;  // 0: no "task/TID/"
  if (ConsumePrefix(p, "task/")) {
    tid = ConsumeProcNumber(p);
    if (tid <= 0 || !ConsumePrefix(p, "/")) return -1;
  }
  int fd = DescriptorOfFdEntry(p);
  if (fd < 0 || (pid == 0 && tid == 0)) return fd;
  // This process's own pid, asked now (a forked child has another), and one of its threads
  // (tgkill's signal 0 only checks): any other process's descriptor is not ours, and another
  // process's thread is ENOENT natively. Only a path of that shape costs these syscalls.
  long own = DirectSyscall(SYS_getpid);
  if (pid != 0 && pid != own) return -1;
  if (tid != 0 && DirectSyscall(SYS_tgkill, own, tid, 0) != 0) return -1;
  return fd;
}

bool ShieldedFiles::TryReadlinkOfDescriptor(const char* path, char* buffer, size_t size,
                                            long* result) {
  // "/dev/stdin" and the others are symbolic links of their own, to "/proc/self/fd/N".
  if (!table_.AnyProtected() || path == nullptr || strncmp(path, "/dev/std", 8) == 0) {
    return false;
  }
  auto desc = table_.Get(DescriptorOfLink(path));
  if (!desc) return false;
  ShieldScope scope;
  if (size == 0) {
    *result = -EINVAL;
    return true;
  }
  std::lock_guard node_lock(desc->node->mutex);  // a rename may move it
  // As the kernel names a file removed or renamed over.
  std::string name = desc->node->path + (desc->node->unlinked ? " (deleted)" : "");
  size_t length = std::min(name.size(), size);  // readlink(2) truncates, without a NUL
  std::copy_n(name.data(), length, buffer);
  *result = static_cast<long>(length);
  return true;
}

int ShieldedFiles::ProtectedDescriptorOfLink(const char* path, int flags) const {
  if ((flags & AT_SYMLINK_NOFOLLOW) != 0 || !table_.AnyProtected()) return -1;
  int named = DescriptorOfLink(path);
  return named >= 0 && table_.IsProtected(named) ? named : -1;
}

bool ShieldedFiles::TryReopenThroughLink(const char* path, int flags, mode_t mode, long* result) {
  int named = DescriptorOfLink(path);
  auto desc = named >= 0 ? table_.Get(named) : nullptr;
  if (!desc) return false;
  std::string reopened;  // a protected path: not clearly outside
  {
    std::lock_guard node_lock(desc->node->mutex);  // a rename may move it
    reopened = desc->node->path;
  }
  Log(kLogDebug, "open %s: reopens %s (descriptor %d)", path, reopened.c_str(), named);
  return TryOpen(AT_FDCWD, reopened.c_str(), flags, mode, result);
}

bool ShieldedFiles::TryOpen(int dirfd, const char* path, int flags, mode_t mode, long* result) {
  if (ClearlyOutside(path)) return TryReopenThroughLink(path, flags, mode, result);
  ShieldScope scope;
  std::string abs;
  if (!Resolve(dirfd, path, &abs)) return false;
  Where where = Classify(abs);
  // Another spelling of a descriptor link, or strict mode (where nothing is clearly outside).
  if (where != Where::kProtectedRegion && table_.AnyProtected() &&
      TryReopenThroughLink(abs.c_str(), flags, mode, result)) {
    return true;
  }
  if (where == Where::kOutside) return DenyIfStrict("open", abs, result);
  std::string host = volume_->HostPathFor(abs);
  if (where == Where::kUnprotectedRegion || (flags & O_PATH) != 0) {
    if (host == abs) return false;
    *result = RawOpen(host, flags, mode);
    return true;
  }
  if (size_t n = strlen(path); n > 1 && path[n - 1] == '/') {
    // "file/" (normalized away above) names a directory: the kernel's answers for a file.
    struct stat st {};
    long found = DirectSyscall(SYS_newfstatat, AT_FDCWD, host.c_str(), &st, 0);
    if (found != 0 || !S_ISDIR(st.st_mode)) {
      *result = found == 0 ? -ENOTDIR : (flags & O_CREAT) != 0 ? -EISDIR : found;
      return true;
    }
  }
  if (InBorrowedMemory()) {
    struct stat st {};
    if (DirectSyscall(SYS_newfstatat, AT_FDCWD, host.c_str(), &st, 0) == 0 && S_ISDIR(st.st_mode)) {
      *result = RawOpen(host, flags, mode);  // directories are not protected
    } else {
      Log(kLogError,
          "open %s in a child that shares its parent's memory (vfork, posix_spawn file action): "
          "not supported, open it in the parent and pass the descriptor (EPERM)",
          abs.c_str());
      *result = -EPERM;
    }
    return true;
  }
  // An open refused because another process holds the file's lock (it writes the file, or its
  // rewrite waits for the next fspf save, see StagesOnLastClose) is tried again for as long as
  // that process's background commit may take, so that a file handed over right after its
  // close opens once saved instead of failing; the refusal is logged by the last try only.
  RetryWhileBusy([&](bool final_try) {
    t_busy_retry_pending = !final_try;
    OpenProtected(abs, host, flags, mode, result);
    t_busy_retry_pending = false;
    return *result != -EBUSY;
  });
  return true;
}

long ShieldedFiles::WaitForOtherWriters(const char* call, const std::string& path,
                                        const std::string& host, UniqueFd* held) {
  {
    std::lock_guard lock(mutex_);  // (unsaved_mutex_ inside it, as everywhere; fork holds it)
    if (nodes_.count(path) != 0) return 0;  // open here: the lock is this process's
    std::lock_guard unsaved_lock(unsaved_mutex_);
    if (unsaved_locks_.count(path) != 0) return 0;  // staged here
  }
  bool locked = false;
  RetryWhileBusy([&](bool /*final_try*/) {
    // A descriptor only while trying (a fork by another thread in a pause would give the
    // child a share of the lock); O_NONBLOCK: a FIFO's open would wait for a writer.
    long fd = RawOpen(host, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
    struct stat st {};
    if (fd < 0 || DirectSyscall(SYS_fstat, fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      if (fd >= 0) CloseDescriptor(fd);
      locked = true;  // nothing to lock: the call itself reports a missing file
      return true;
    }
    held->Reset(static_cast<int>(fd));
    locked = DirectSyscall(SYS_flock, fd, LOCK_SH | LOCK_NB) == 0;
    if (!locked) held->Reset();
    return locked;
  });
  if (locked) return 0;
  Log(kLogError, "%s %s: %s", call, path.c_str(), kBeingWritten);
  return -EBUSY;
}

void ShieldedFiles::OpenProtected(const std::string& abs, const std::string& host, int flags,
                                  mode_t mode, long* result) {
  // The number a host open below leaves for the program's descriptor: closed on the way out
  // unless the program gets it.
  ProgramSlot slot{flags & O_CLOEXEC};
  struct SlotCloser {
    ProgramSlot& slot;
    ~SlotCloser() {
      if (slot.fd >= 0) DirectSyscall(SYS_close, slot.fd);
    }
  } slot_closer{slot};
  std::lock_guard lock(mutex_);
  RefreshIfChangedLocked();
  std::shared_ptr<ProtectedNode> node;
  if (auto it = nodes_.find(abs); it != nodes_.end()) node = it->second;
  bool recorded = node != nullptr || volume_->FindFile(abs) != nullptr;
  bool writable = (flags & O_ACCMODE) != O_RDONLY;
  bool created = false;
  // (O_TMPFILE includes the O_DIRECTORY bit: testing that bit covers both.)
  if (!recorded && (flags & O_CREAT) != 0 && (flags & O_DIRECTORY) == 0) {
    // The usual create: no host file yet. Creating it exclusively is the existence check, and
    // its descriptor serves the lock and the file; an existing host file (EEXIST) takes the
    // general path below (a crash leftover, a directory...).
    long error = 0;
    node = CreateNewNodeLocked(abs, mode, &error, &slot);
    if (node) {
      created = true;
    } else if (error != -EEXIST) {
      *result = error;
      return;
    }
  }
  if (created) {
    // A new, empty file: nothing to look up, truncate or refuse.
  } else if (!recorded) {
    struct stat st {};
    long exists = DirectSyscall(SYS_newfstatat, AT_FDCWD, host.c_str(), &st, AT_SYMLINK_NOFOLLOW);
    if (exists == 0 && S_ISLNK(st.st_mode)) {
      // The runtime matches files by the path the program names: through the link, the kernel
      // would read or write the target's host file (another protected file's, or one outside
      // the region) as this path's. Links to directories are followed (they are not protected).
      exists = DirectSyscall(SYS_newfstatat, AT_FDCWD, host.c_str(), &st, 0);
      if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL)) {
        *result = -EEXIST;  // the link exists, as the kernel says
        return;
      }
      if (exists != 0 || !S_ISDIR(st.st_mode)) {
        Log(kLogDenied,
            "open %s: a symbolic link in a protected region is not followed (ELOOP): name the "
            "file by its target's path",
            abs.c_str());
        *result = -ELOOP;
        return;
      }
    }
    if (exists == 0 && S_ISREG(st.st_mode) && RemoveCrashLeftoverLocked(abs, host)) {
      exists = -ENOENT;
    }
    if (exists == 0 && S_ISDIR(st.st_mode)) {  // directories are not protected, only files
      *result = RawOpen(host, flags, mode);
      return;
    }
    if ((flags & O_CREAT) == 0) {
      if (exists == 0 && LockedByAnotherProcess(host)) {
        // Staged by its creator (a pool's parent wrote it just before handing it to a worker):
        // TryOpen tries again while that process's background save may take.
        LogBusy("open", abs, kNotSavedYet);
        *result = -EBUSY;
      } else if (exists == 0) {
        Log(kLogDenied, "open %s: a host file that the fspf does not record (EACCES)", abs.c_str());
        *result = -EACCES;
      } else {
        *result = -ENOENT;
      }
      return;
    }
    if ((flags & O_DIRECTORY) != 0) {  // O_TMPFILE too (it includes O_DIRECTORY)
      Log(kLogDenied, "open %s: O_DIRECTORY/O_TMPFILE creation in a protected region (EINVAL)",
          abs.c_str());
      *result = -EINVAL;
      return;
    }
    node = OpenNodeLocked(abs, true, result, -1, false, nullptr, &slot);
    if (!node) return;
  } else {
    if ((flags & O_CREAT) && (flags & O_EXCL)) {
      *result = -EEXIST;
      return;
    }
    if (flags & O_DIRECTORY) {
      *result = -ENOTDIR;
      return;
    }
    bool host_writable = false;  // the host file was just opened for writing here
    bool truncates = writable && (flags & O_TRUNC) != 0;
    if (!node) {
      node = OpenNodeLocked(abs, false, result, -1, truncates, &host_writable, &slot);
      if (!node && *result == -ENOENT && writable && (flags & O_CREAT) && (flags & O_TRUNC)) {
        // The host file was deleted outside cove, and the program discards the content anyway:
        // it gets a new, empty file, which replaces the stale entry at its first commit.
        Log(kLogWarning,
            "open %s: host file missing (deleted outside cove?): created anew (O_TRUNC)",
            abs.c_str());
        volume_->ForgetFileInMemory(abs);
        *result = 0;
        node = CreateNewNodeLocked(abs, mode, result, &slot);
        host_writable = true;  // created here, read-write
      }
      if (!node) return;
    }
    // The host file's permission bits are the file's: one the program may not write (mode
    // 444, another owner's, on a read-only mount) is refused as the kernel would, before any
    // write is accepted that no commit could store.
    if (writable && !host_writable) {
      long denied = DirectSyscall(SYS_faccessat, AT_FDCWD, host.c_str(), W_OK);
      if (denied == -EACCES || denied == -EROFS) {
        if (node->fd_refs == 0) nodes_.erase(abs);
        *result = denied;
        return;
      }
    }
    if (truncates) {
      std::lock_guard node_lock(node->mutex);
      *result = 0;
      long locked = EnsureWriterLocked(*node);
      if (locked < 0) {
        *result = locked;
      } else {
        node->only_append_writes = false;
        if (Status s = node->file->Truncate(0); !s.ok()) *result = Fail("open(O_TRUNC)", s);
      }
      if (*result < 0) {
        if (node->fd_refs == 0) nodes_.erase(abs);
        return;
      }
    }
  }
  long fd = NewProgramDescriptor(slot, host, flags);
  if (fd < 0) {
    if (node->fd_refs == 0) nodes_.erase(abs);
    *result = fd;
    return;
  }
  auto desc = std::make_shared<OpenFileDescription>();
  desc->node = node;
  desc->flags = flags & (O_ACCMODE | O_APPEND | O_NONBLOCK | O_SYNC | O_DSYNC);
  *result = InstallNew(fd, std::move(desc));
  if (*result >= 0) {
    Log(kLogDebug, "open %s -> fd %ld (flags 0%o)", abs.c_str(), *result, flags);
  } else if (node->fd_refs == 0) {
    nodes_.erase(abs);
  }
}

bool ShieldedFiles::TryOpenat2(int dirfd, const char* path, const struct open_how* how, size_t size,
                               long* result) {
  // A struct the kernel would refuse (EFAULT, EINVAL, E2BIG beyond a page) is left to it to
  // refuse, and is not read here.
  constexpr size_t kMaxOpenHowSize = 4096;
  if (how == nullptr || size < sizeof(struct open_how) || size > kMaxOpenHowSize ||
      ClearlyOutside(path)) {
    return false;
  }
  for (size_t i = sizeof(struct open_how); i < size; ++i) {
    if (reinterpret_cast<const uint8_t*>(how)[i] != 0) return false;
  }
  int flags = static_cast<int>(how->flags);
  if (how->flags != static_cast<uint64_t>(static_cast<unsigned>(flags))) return false;
  if (how->resolve == 0) return TryOpen(dirfd, path, flags, static_cast<mode_t>(how->mode), result);
  ShieldScope scope;
  std::string abs;
  if (!Resolve(dirfd, path, &abs)) return false;
  Where where = Classify(abs);
  if (where == Where::kOutside) return DenyIfStrict("openat2", abs, result);
  if (where == Where::kUnprotectedRegion && volume_->HostPathFor(abs) == abs) return false;
  // RESOLVE_BENEATH, _NO_SYMLINKS... restrict how the kernel walks the program's path, which
  // the runtime maps to its own host path: it cannot honor them, so it does not pretend to.
  Log(kLogDenied,
      "openat2 %s with RESOLVE_* flags 0x%llx: not supported on files the runtime serves "
      "(ENOSYS; openat is)",
      abs.c_str(), static_cast<unsigned long long>(how->resolve));
  *result = -ENOSYS;
  return true;
}

bool ShieldedFiles::TryLink(int olddirfd, const char* oldpath, int newdirfd, const char* newpath,
                            int flags, long* result) {
  bool old_outside = oldpath != nullptr && oldpath[0] != '\0' && ClearlyOutside(oldpath);
  if (old_outside && ClearlyOutside(newpath)) return false;
  ShieldScope scope;
  std::string from;
  std::string to;
  if (!Resolve(olddirfd, oldpath, &from) || !Resolve(newdirfd, newpath, &to)) return false;
  Where from_where = Classify(from);
  Where to_where = Classify(to);
  if (from_where == Where::kProtectedRegion || to_where == Where::kProtectedRegion) {
    // A second name for a protected file would be a host file that the fspf does not record
    // (and two names of one file could not both stay fresh). EPERM is what link(2) answers on
    // file systems without hard links; programs then copy or rename (git does).
    Log(kLogDenied, "link %s -> %s: hard links in a protected region are not supported (EPERM)",
        from.c_str(), to.c_str());
    *result = -EPERM;
    return true;
  }
  if (from_where == Where::kOutside && to_where == Where::kOutside) {
    return DenyIfStrict("link", from, result);
  }
  std::string from_host = volume_->HostPathFor(from);
  std::string to_host = volume_->HostPathFor(to);
  if (from_host == from && to_host == to) return false;
  *result = DirectSyscall(SYS_linkat, AT_FDCWD, from_host.c_str(), AT_FDCWD, to_host.c_str(),
                          flags & ~AT_EMPTY_PATH);
  return true;
}

bool ShieldedFiles::InBorrowedMemory() const {
  // Such a child exists only after this process made one (ExpectChildOnOurMemory, from the
  // syscall trap), so processes that never did skip the getpid.
  return ChildOnOurMemoryPossible() &&
         DirectSyscall(SYS_getpid) != owner_pid_.load(std::memory_order_relaxed);
}

bool ShieldedFiles::TryCloseRuntimeFd(int fd, long* result) {
  if (!IsRuntimeDescriptor(fd)) return false;
  if (InBorrowedMemory()) {
    *result = 0;
    return true;
  }
  Log(kLogDenied, "close(%d): a descriptor of the runtime's own, left open (EBADF)", fd);
  *result = -EBADF;
  return true;
}

long ShieldedFiles::CloseRange(unsigned first, unsigned last, unsigned flags) {
  // The kernel's own checks first, so that nothing is forgotten when it would refuse.
  if ((flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC)) != 0 || first > last) return -EINVAL;
  if ((flags & CLOSE_RANGE_CLOEXEC) != 0) return DirectSyscall(SYS_close_range, first, last, flags);
  if ((flags & CLOSE_RANGE_UNSHARE) != 0) {
    // Done once here, also when the range holds nothing but the runtime's descriptors.
    long unshared = DirectSyscall(SYS_unshare, CLONE_FILES);
    if (unshared < 0) return unshared;
    flags &= ~CLOSE_RANGE_UNSHARE;
  }
  ForgetRange(first, last);
  unsigned from = first;  // the runtime's descriptors (below 2^20) are skipped
  for (int fd; from <= last && (fd = NextRuntimeDescriptor(from, last)) >= 0;
       from = static_cast<unsigned>(fd) + 1) {
    if (static_cast<unsigned>(fd) > from) {
      long r = DirectSyscall(SYS_close_range, from, static_cast<unsigned>(fd) - 1, flags);
      if (r < 0) return r;
    }
  }
  return from > last ? 0 : DirectSyscall(SYS_close_range, from, last, flags);
}

namespace {
constexpr size_t kOffsetPageBytes = 4096;
constexpr int kCellsPerPage = kOffsetPageBytes / sizeof(uint64_t);
}  // namespace

void ShieldedFiles::ShareOffsetsWithChild() {
  if (!table_.AnyProtected()) return;
  ShieldScope scope;
  std::lock_guard lock(mutex_);
  ShareOffsetsLocked();
}

void ShieldedFiles::LockForFork() {
  ShieldScope scope;
  // glibc's stdio list lock first (recursive; fork takes it again after the prepare
  // handlers): fflush(NULL) holds it while it writes protected streams, which take the locks
  // below, so a fork beside it hung.
  _IO_list_lock();
  mutex_.lock();  // released by UnlockAfterFork, in the parent and in the child
  ShareOffsetsLocked();
  // Every file's lock after the table's, as everywhere; a thread in a write or a commit
  // finishes it first. Two files' locks are only ever held together under the table's lock,
  // which this thread holds, so their order among themselves does not matter.
  locked_for_fork_.clear();
  for (const auto& [path, node] : nodes_) locked_for_fork_.push_back(node);
  for (const auto& [fd, desc] : table_.Snapshot()) locked_for_fork_.push_back(desc->node);
  std::sort(locked_for_fork_.begin(), locked_for_fork_.end());
  locked_for_fork_.erase(std::unique(locked_for_fork_.begin(), locked_for_fork_.end()),
                         locked_for_fork_.end());
  for (const auto& node : locked_for_fork_) node->mutex.lock();
}

void ShieldedFiles::UnlockAfterFork() {
  UnlockFilesAfterFork();
  _IO_list_unlock();
}

void ShieldedFiles::UnlockAfterForkInChild() {
  for (const auto& node : locked_for_fork_) {
    if (NeedsCommit(*node)) node->parents_writes = true;
  }
  UnlockFilesAfterFork();
  _IO_list_resetlock();  // as glibc's fork does in the child
}

void ShieldedFiles::UnlockFilesAfterFork() {
  for (const auto& node : locked_for_fork_) node->mutex.unlock();
  locked_for_fork_.clear();
  mutex_.unlock();
}

void ShieldedFiles::MarkOtherWritersLocked(ProtectedNode& node) {
  node.other_writers.store(true, std::memory_order_relaxed);
  if (node.file) node.file->set_other_writers(true);
}

void ShieldedFiles::ShareOffsetsLocked() {
  for (const auto& [fd, desc] : table_.Snapshot()) {
    {
      // A forked child keeps every descriptor, O_CLOEXEC or not.
      std::lock_guard node_lock(desc->node->mutex);
      MarkOtherWritersLocked(*desc->node);
    }
    // Only what an exec'd program can inherit (no FD_CLOEXEC: a shell's redirections): a
    // shared offset makes every read and write first look for the other process's commits.
    long fd_flags = DirectSyscall(SYS_fcntl, fd, F_GETFD);
    if (fd_flags < 0 || (fd_flags & FD_CLOEXEC) != 0) continue;
    std::lock_guard desc_lock(desc->mutex);
    if (desc->shared_offset != nullptr) continue;
    if (offset_pages_.empty() || offset_pages_.back().used == kCellsPerPage) {
      long memfd = MoveAboveRuntimeFloor(
          DirectSyscall(SYS_memfd_create, "cove-offsets", MFD_CLOEXEC | MFD_ALLOW_SEALING));
      if (memfd < 0 || DirectSyscall(SYS_ftruncate, memfd, kOffsetPageBytes) != 0) {
        if (memfd >= 0) CloseDescriptor(memfd);
        Log(kLogWarning, "shared offsets: no memfd (%s): offsets are not shared with children",
            strerror(memfd < 0 ? static_cast<int>(-memfd) : EIO));
        return;
      }
      // Its size is fixed: a program that inherits it cannot be made to map past its end.
      DirectSyscall(SYS_fcntl, memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
      long mapped = DirectSyscall(SYS_mmap, nullptr, kOffsetPageBytes, PROT_READ | PROT_WRITE,
                                  MAP_SHARED, memfd, 0);
      if (RawSyscallFailed(mapped)) {
        CloseDescriptor(memfd);
        return;
      }
      offset_pages_.push_back(
          {static_cast<int>(memfd), reinterpret_cast<std::atomic<uint64_t>*>(mapped), 0});
    }
    OffsetPage& page = offset_pages_.back();
    int index = page.used++;
    page.cells[index].store(desc->own_offset, std::memory_order_release);
    desc->shared_offset = &page.cells[index];
    desc->shared_memfd = page.memfd;
    desc->shared_index = index;
  }
}

std::atomic<uint64_t>* ShieldedFiles::InheritedCellLocked(int memfd, int index) {
  if (memfd < 0 || index < 0 || index >= kCellsPerPage) return nullptr;
  for (const OffsetPage& page : offset_pages_) {
    if (page.memfd == memfd) return &page.cells[index];
  }
  // Only a sealed memfd of one page: anything else named here is left alone.
  struct stat st {};
  long seals = DirectSyscall(SYS_fcntl, memfd, F_GET_SEALS);
  if (seals < 0 || (seals & (F_SEAL_SHRINK | F_SEAL_GROW)) != (F_SEAL_SHRINK | F_SEAL_GROW) ||
      DirectSyscall(SYS_fstat, memfd, &st) != 0 ||
      st.st_size != static_cast<off_t>(kOffsetPageBytes)) {
    Log(kLogWarning, "inherited offset page %d is not one: offsets not shared", memfd);
    return nullptr;
  }
  long mapped = DirectSyscall(SYS_mmap, nullptr, kOffsetPageBytes, PROT_READ | PROT_WRITE,
                              MAP_SHARED, memfd, 0);
  if (RawSyscallFailed(mapped)) return nullptr;
  DirectSyscall(SYS_fcntl, memfd, F_SETFD, FD_CLOEXEC);
  NoteRuntimeDescriptor(memfd);
  auto* cells = reinterpret_cast<std::atomic<uint64_t>*>(mapped);
  offset_pages_.insert(offset_pages_.begin(), {memfd, cells, kCellsPerPage});
  return &cells[index];
}

void ShieldedFiles::RefreshShared(OpenFileDescription& desc) {
  if (desc.shared_offset == nullptr && !desc.lent_to_child.load(std::memory_order_relaxed) &&
      !desc.node->other_writers.load(std::memory_order_relaxed)) {
    return;
  }
  std::lock_guard lock(mutex_);
  RefreshIfChangedLocked();
  std::lock_guard desc_lock(desc.mutex);
  ProtectedNode& node = *desc.node;
  std::lock_guard node_lock(node.mutex);
  std::optional<uint64_t> recorded = volume_->RecordedGeneration(node.path);
  if (!node.file || !recorded || *recorded == node.file->generation()) return;
  if (node.file->dirty() && !node.parents_writes) {  // (the parent's writes: its to commit)
    uint64_t mine_ended = node.file->size();
    if (!node.conflicted && RebaseAppendsLocked(node)) {
      // A descriptor left at the end of this one's appends stays at their (new) end.
      if (desc.offset() == mine_ended) desc.set_offset(node.file->size());
      return;
    }
    if (!node.conflicted) {
      Log(kLogError,
          "%s: another process sharing this descriptor committed it while this one has "
          "uncommitted writes: they conflict, this one's will not be committed",
          node.path.c_str());
    }
    node.conflicted = true;
    return;
  }
  // Another process sharing the description (a child, the parent) committed the file: read on
  // from its version.
  uint64_t old_size = node.file->size();
  if (!ReopenLatestLocked(node)) return;
  // A descriptor lent to a child through a spawn's dup2 keeps its own offset (it was opened
  // with O_CLOEXEC, so it has no shared one): at the end of the file before, it is at the end
  // after, as the child's writes through the same open file description would have left it.
  if (desc.shared_offset == nullptr && desc.own_offset == old_size) {
    desc.own_offset = node.file->size();
  }
}

void ShieldedFiles::AfterFork() {
  owner_pid_.store(DirectSyscall(SYS_getpid), std::memory_order_relaxed);
  AdoptSpareDescriptorsAfterFork();
}

bool ShieldedFiles::TryClose(int fd, long* result) {
  if (table_.IsProtected(fd) && InBorrowedMemory()) {
    *result = CloseDescriptor(fd);
    return true;
  }
  auto desc = table_.Remove(fd);
  if (!desc) return false;
  ShieldScope scope;
  long closed = CloseDescriptor(fd);
  Status status = ReleaseRef(desc->node);
  *result = status.ok() ? closed : Fail("close", status);
  return true;
}

long ShieldedFiles::ReadLocked(OpenFileDescription& desc, void* buf, size_t count,
                               uint64_t offset) {
  if ((desc.flags & O_ACCMODE) == O_WRONLY) return -EBADF;
  ProtectedNode& node = *desc.node;
  std::lock_guard node_lock(node.mutex);
  if (!node.file) return -EBADF;
  auto n = node.file->Read(offset, {static_cast<uint8_t*>(buf), count});
  if (!n.ok() && TookInCommitAfterRefreshLocked(node, n.status())) {
    n = node.file->Read(offset, {static_cast<uint8_t*>(buf), count});
  }
  if (!n.ok()) return Fail("read", n.status());
  return static_cast<long>(*n);
}

long ShieldedFiles::WriteLocked(OpenFileDescription& desc, const void* buf, size_t count,
                                uint64_t offset) {
  if ((desc.flags & O_ACCMODE) == O_RDONLY) return -EBADF;
  ProtectedNode& node = *desc.node;
  std::lock_guard node_lock(node.mutex);
  if (!node.file) return -EBADF;
  if (long locked = EnsureWriterLocked(node); locked < 0) return locked;
  if (offset + count > kMaxFileSize) return -EFBIG;
  if (!node.file->dirty()) node.only_append_writes = true;  // a new run of writes
  bool append = (desc.flags & O_APPEND) != 0 && offset == node.file->size();
  if (!append) node.only_append_writes = false;
  std::span<const uint8_t> data{static_cast<const uint8_t*>(buf), count};
  Status status = node.file->Write(offset, data);
  if (!status.ok() && TookInCommitAfterRefreshLocked(node, status)) {
    if (append) offset = node.file->size();
    status = node.file->Write(offset, data);
  }
  if (!status.ok()) return Fail("write", status);
  CommitFlusher::NotePending();
  // A file other processes may write does not commit from within Write (see
  // ProtectedFile::set_other_writers): its buffered writes are committed here, where a commit
  // refused for another process's is retried on top of it.
  if (node.file->OverDirtyBudget()) {
    if (Status s = CommitNodeLocked(node); !s.ok()) return Fail("write", s);
  }
  if (desc.flags & (O_SYNC | O_DSYNC)) {
    if (Status s = CommitNodeLocked(node); !s.ok()) return Fail("write(O_SYNC)", s);
  }
  return static_cast<long>(count);
}

bool ShieldedFiles::TryRead(int fd, void* buf, size_t count, long* result) {
  auto desc = table_.Get(fd);
  if (!desc) return false;
  ShieldScope scope;
  RefreshShared(*desc);
  std::lock_guard lock(desc->mutex);
  uint64_t offset = desc->offset();
  *result = ReadLocked(*desc, buf, count, offset);
  if (*result > 0) desc->set_offset(offset + static_cast<uint64_t>(*result));
  return true;
}

bool ShieldedFiles::TryWrite(int fd, const void* buf, size_t count, long* result) {
  auto desc = table_.Get(fd);
  if (!desc) return false;
  ShieldScope scope;
  RefreshShared(*desc);
  std::lock_guard lock(desc->mutex);
  uint64_t offset = desc->offset();
  if (desc->flags & O_APPEND) {
    std::lock_guard node_lock(desc->node->mutex);
    if (desc->node->file) offset = desc->node->file->size();
  }
  *result = WriteLocked(*desc, buf, count, offset);
  if (*result >= 0) desc->set_offset(offset + static_cast<uint64_t>(*result));
  return true;
}

bool ShieldedFiles::TryPread(int fd, void* buf, size_t count, off_t offset, long* result) {
  auto desc = table_.Get(fd);
  if (!desc) return false;
  ShieldScope scope;
  RefreshShared(*desc);
  *result = offset < 0 ? -EINVAL : ReadLocked(*desc, buf, count, static_cast<uint64_t>(offset));
  return true;
}

bool ShieldedFiles::TryPwrite(int fd, const void* buf, size_t count, off_t offset, long* result) {
  auto desc = table_.Get(fd);
  if (!desc) return false;
  ShieldScope scope;
  RefreshShared(*desc);
  *result = offset < 0 ? -EINVAL : WriteLocked(*desc, buf, count, static_cast<uint64_t>(offset));
  return true;
}

namespace {
// readv/writev semantics over one transfer function: the buffers in order from `pos` (advanced
// by what was transferred), stopping at an error or a short transfer; the total, or the error
// when nothing was transferred.
template <typename Transfer>
long TransferIovecs(const struct iovec* iov, int iovcnt, uint64_t& pos, Transfer transfer) {
  long total = 0;
  for (int i = 0; i < iovcnt; ++i) {
    if (iov[i].iov_len == 0) continue;
    long n = transfer(iov[i].iov_base, iov[i].iov_len, pos);
    if (n < 0) {
      if (total == 0) total = n;
      break;
    }
    total += n;
    pos += static_cast<uint64_t>(n);
    if (static_cast<size_t>(n) < iov[i].iov_len) break;
  }
  return total;
}
}  // namespace

bool ShieldedFiles::TryReadv(int fd, const struct iovec* iov, int iovcnt, off_t offset,
                             long* result, int rwf) {
  return TryVectorIo(fd, iov, iovcnt, offset, /*write=*/false, rwf, result);
}

bool ShieldedFiles::TryWritev(int fd, const struct iovec* iov, int iovcnt, off_t offset,
                              long* result, int rwf) {
  return TryVectorIo(fd, iov, iovcnt, offset, /*write=*/true, rwf, result);
}

bool ShieldedFiles::TryVectorIo(int fd, const struct iovec* iov, int iovcnt, off_t offset,
                                bool write, int rwf, long* result) {
  auto desc = table_.Get(fd);
  if (!desc) return false;
  ShieldScope scope;
  constexpr int kKnownRwf = RWF_HIPRI | RWF_DSYNC | RWF_SYNC | RWF_NOWAIT | RWF_APPEND;
  if (iovcnt < 0 || iovcnt > IOV_MAX) {
    *result = -EINVAL;
    return true;
  }
  if ((rwf & ~kKnownRwf) != 0) {
    *result = -EOPNOTSUPP;
    return true;
  }
  RefreshShared(*desc);
  std::unique_lock lock(desc->mutex);
  uint64_t pos = offset < 0 ? desc->offset() : static_cast<uint64_t>(offset);
  bool append = write && ((offset < 0 && (desc->flags & O_APPEND)) || (rwf & RWF_APPEND));
  if (append) {
    std::lock_guard node_lock(desc->node->mutex);
    if (desc->node->file) pos = desc->node->file->size();
  }
  long total = TransferIovecs(iov, iovcnt, pos, [&](void* base, size_t length, uint64_t at) {
    return write ? WriteLocked(*desc, base, length, at) : ReadLocked(*desc, base, length, at);
  });
  if (offset < 0 && total > 0) desc->set_offset(pos);
  lock.unlock();
  if (write && total > 0 && (rwf & (RWF_DSYNC | RWF_SYNC)) != 0) {
    long synced = 0;
    TryFsync(fd, &synced);
    if (synced < 0) total = synced;
  }
  *result = total;
  return true;
}

bool ShieldedFiles::TryLseek(int fd, off_t offset, int whence, long* result) {
  auto desc = table_.Get(fd);
  if (!desc) return false;
  ShieldScope scope;
  RefreshShared(*desc);
  std::lock_guard lock(desc->mutex);
  uint64_t size = 0;
  {
    std::lock_guard node_lock(desc->node->mutex);
    if (!desc->node->file) {
      *result = -EBADF;
      return true;
    }
    size = desc->node->file->size();
  }
  long long base;
  switch (whence) {
    case SEEK_SET:
      base = 0;
      break;
    case SEEK_CUR:
      base = static_cast<long long>(desc->offset());
      break;
    case SEEK_END:
      base = static_cast<long long>(size);
      break;
    case SEEK_DATA:  // protected files have no holes: data everywhere before the end
      *result = static_cast<uint64_t>(offset) < size ? offset : -ENXIO;
      if (*result >= 0) desc->set_offset(static_cast<uint64_t>(offset));
      return true;
    case SEEK_HOLE:
      if (offset < 0 || static_cast<uint64_t>(offset) >= size) {
        *result = -ENXIO;
      } else {
        desc->set_offset(size);
        *result = static_cast<long>(size);
      }
      return true;
    default:
      *result = -EINVAL;
      return true;
  }
  long long target = base + offset;
  if (target < 0) {
    *result = -EINVAL;
    return true;
  }
  desc->set_offset(static_cast<uint64_t>(target));
  *result = static_cast<long>(target);
  return true;
}

bool ShieldedFiles::TryFstat(int fd, struct stat* st, long* result) {
  auto desc = table_.Get(fd);
  if (!desc) return false;
  ShieldScope scope;
  RefreshShared(*desc);
  // The host file's (the program's descriptor is a placeholder), with the plaintext size.
  *result = OnHostFile(*desc->node, [&](int fd, const char* host) {
    long r = host == nullptr ? DirectSyscall(SYS_fstat, fd, st)
                             : DirectSyscall(SYS_newfstatat, fd, host, st, 0);
    if (r == 0) FixStatSize(st, desc->node->file->size());  // (under the node's lock)
    return r;
  });
  return true;
}

bool ShieldedFiles::TryFstatat(int dirfd, const char* path, struct stat* st, int flags,
                               long* result) {
  if (int named = ProtectedDescriptorOfLink(path, flags); named >= 0) {
    return TryFstat(named, st, result);
  }
  if (ClearlyOutside(path)) return false;
  ShieldScope scope;
  if ((flags & AT_EMPTY_PATH) && path != nullptr && path[0] == '\0') {
    return TryFstat(dirfd, st, result);
  }
  std::string abs;
  if (!Resolve(dirfd, path, &abs)) return false;
  Where where = Classify(abs);
  if (where == Where::kOutside) return DenyIfStrict("stat", abs, result);
  std::string host = volume_->HostPathFor(abs);
  if (where == Where::kUnprotectedRegion && host == abs) return false;
  *result = DirectSyscall(SYS_newfstatat, AT_FDCWD, host.c_str(), st, flags);
  uint64_t size = 0;
  if (*result == 0 && S_ISREG(st->st_mode) && where == Where::kProtectedRegion) {
    if (ProtectedSize(abs, &size)) {
      FixStatSize(st, size);
    } else {
      std::lock_guard lock(mutex_);
      if (RemoveCrashLeftoverLocked(abs, host)) *result = -ENOENT;
    }
  }
  return true;
}

bool ShieldedFiles::TryStatx(int dirfd, const char* path, int flags, unsigned mask,
                             struct statx* stx, long* result) {
  if (int named = ProtectedDescriptorOfLink(path, flags); named >= 0) {
    return TryStatx(named, "", flags | AT_EMPTY_PATH, mask, stx, result);
  }
  if (ClearlyOutside(path)) return false;
  ShieldScope scope;
  auto fix = [stx](uint64_t size) {
    stx->stx_size = size;
    stx->stx_blocks = (size + 511) / 512;
  };
  if ((flags & AT_EMPTY_PATH) && path != nullptr && path[0] == '\0') {
    auto desc = table_.Get(dirfd);
    if (!desc) return false;
    *result = OnHostFile(*desc->node, [&](int fd, const char* host) {  // as TryFstat
      long r = DirectSyscall(SYS_statx, fd, host == nullptr ? "" : host,
                             host == nullptr ? flags : flags & ~AT_EMPTY_PATH, mask, stx);
      if (r == 0) fix(desc->node->file->size());
      return r;
    });
    return true;
  }
  std::string abs;
  if (!Resolve(dirfd, path, &abs)) return false;
  Where where = Classify(abs);
  if (where == Where::kOutside) return DenyIfStrict("statx", abs, result);
  std::string host = volume_->HostPathFor(abs);
  if (where == Where::kUnprotectedRegion && host == abs) return false;
  *result = DirectSyscall(SYS_statx, AT_FDCWD, host.c_str(), flags, mask, stx);
  uint64_t size = 0;
  if (*result == 0 && S_ISREG(stx->stx_mode) && where == Where::kProtectedRegion) {
    if (ProtectedSize(abs, &size)) {
      fix(size);
    } else {
      std::lock_guard lock(mutex_);
      if (RemoveCrashLeftoverLocked(abs, host)) *result = -ENOENT;
    }
  }
  return true;
}

bool ShieldedFiles::TryFtruncate(int fd, off_t length, long* result) {
  auto desc = table_.Get(fd);
  if (!desc) return false;
  ShieldScope scope;
  if (length < 0) {
    *result = -EINVAL;
    return true;
  }
  if ((desc->flags & O_ACCMODE) == O_RDONLY) {
    *result = -EINVAL;  // as the kernel: not open for writing
    return true;
  }
  std::lock_guard node_lock(desc->node->mutex);
  if (!desc->node->file) {
    *result = -EBADF;
  } else if (long locked = EnsureWriterLocked(*desc->node); locked < 0) {
    *result = locked;
  } else {
    desc->node->only_append_writes = false;
    Status s = desc->node->file->Truncate(static_cast<uint64_t>(length));
    *result = s.ok() ? 0 : Fail("ftruncate", s);
    if (s.ok()) CommitFlusher::NotePending();
  }
  return true;
}

bool ShieldedFiles::TryTruncate(const char* path, off_t length, long* result) {
  ShieldScope scope;
  std::string abs;
  if (!Resolve(AT_FDCWD, path, &abs) || Classify(abs) != Where::kProtectedRegion) {
    if (!abs.empty() && Classify(abs) == Where::kOutside) {
      return DenyIfStrict("truncate", abs, result);
    }
    return false;
  }
  long fd = 0;
  TryOpen(AT_FDCWD, abs.c_str(), O_WRONLY | O_CLOEXEC, 0, &fd);
  if (fd < 0) {
    *result = fd;
    return true;
  }
  TryFtruncate(static_cast<int>(fd), length, result);
  long closed = 0;
  TryClose(static_cast<int>(fd), &closed);
  if (*result == 0) *result = closed;
  return true;
}

bool ShieldedFiles::TryFsync(int fd, long* result) {
  auto desc = table_.Get(fd);
  if (!desc) return false;
  ShieldScope scope;
  std::lock_guard lock(mutex_);
  RefreshIfChangedLocked();
  std::lock_guard node_lock(desc->node->mutex);
  Status status = CommitNodeLocked(*desc->node);
  *result = status.ok() ? 0 : Fail("fsync", status);
  return true;
}

bool ShieldedFiles::TryXattr(char op, int fd, const char* path, long* result) {
  std::string name;
  if (fd >= 0) {
    auto desc = table_.Get(fd);
    if (!desc) return false;
    name = desc->node->path;
  } else {
    if (ClearlyOutside(path)) return false;
    ShieldScope scope;
    uint64_t size = 0;
    if (!Resolve(AT_FDCWD, path, &name) || Classify(name) != Where::kProtectedRegion ||
        !ProtectedSize(name, &size)) {
      return false;  // not a protected file: directories and the rest keep the host's
    }
  }
  switch (op) {
    case 'l':
      *result = 0;  // an empty list
      break;
    case 'g':
      *result = -ENODATA;
      break;
    default:
      Log(kLogDenied, "%s: extended attributes of protected files are not supported (ENOTSUP)",
          name.c_str());
      *result = -ENOTSUP;
  }
  return true;
}

bool ShieldedFiles::TryFixedAnswer(int fd, const char* call, long answer, long* result) {
  if (!table_.IsProtected(fd)) return false;
  Log(kLogDebug, "%s on protected fd %d: %s", call, fd,
      answer == 0 ? "done as a no-op" : strerror(static_cast<int>(-answer)));
  *result = answer;
  return true;
}

bool ShieldedFiles::TryDup(int oldfd, int newfd, int flags, long* result) {
  ShieldScope scope;
  if (newfd != oldfd && IsRuntimeDescriptor(newfd)) [[unlikely]] {
    Log(kLogDenied, "%s onto descriptor %d: the runtime holds a file of its own there (EBUSY)",
        flags != 0 ? "dup3" : "dup2", newfd);
    *result = -EBUSY;
    return true;
  }
  bool old_protected = table_.IsProtected(oldfd);
  if (!old_protected && !table_.IsProtected(newfd)) return false;
  // A child on our memory (a spawn's dup2 onto its stdout, Python's dup before one): the copy
  // must name the host file, by which the child's exec finds it (UnlistedAliasesInChild).
  // This child's descriptor table is its own: nobody else uses the number meanwhile.
  if (old_protected && InBorrowedMemory()) NameHostFileOf(oldfd);
  if (newfd < 0) {
    *result = DirectSyscall(SYS_dup, oldfd);
  } else if (newfd == oldfd) {
    *result = flags != 0 ? -EINVAL : newfd;  // dup2(fd, fd) is a no-op, dup3 refuses it
    if (flags == 0 && DirectSyscall(SYS_fcntl, oldfd, F_GETFD) < 0) *result = -EBADF;
    return true;
  } else {
    *result = DirectSyscall(SYS_dup3, oldfd, newfd, flags);
  }
  if (*result < 0) return true;
  if (InBorrowedMemory()) {
    // The parent's description is lent to this child (a spawn's dup2 onto its stdout): the
    // parent takes in the child's commits before it uses the descriptor again.
    if (auto lent = table_.Get(oldfd); lent) lent->lent_to_child.store(true);
    return true;
  }
  auto desc = table_.Get(oldfd);
  std::shared_ptr<OpenFileDescription> replaced;
  if (desc) {
    bool ok = false;
    std::lock_guard lock(mutex_);
    replaced = table_.Install(static_cast<int>(*result), desc, &ok);
    if (ok) {
      ++desc->node->fd_refs;
    } else {
      CloseDescriptor(*result);
      *result = -EMFILE;
    }
  } else {
    replaced = table_.Remove(static_cast<int>(*result));
  }
  if (replaced) ReleaseImplicitly(replaced->node, "dup2 over its descriptor");
  return true;
}

bool ShieldedFiles::TryFcntlDupfd(int fd, int min_fd, bool cloexec, long* result) {
  auto desc = table_.Get(fd);
  if (!desc) return false;
  ShieldScope scope;
  if (InBorrowedMemory()) NameHostFile(fd, *desc);  // as TryDup's
  *result = DirectSyscall(SYS_fcntl, fd, cloexec ? F_DUPFD_CLOEXEC : F_DUPFD, min_fd);
  if (*result < 0 || InBorrowedMemory()) return true;
  bool ok = false;
  std::lock_guard lock(mutex_);
  table_.Install(static_cast<int>(*result), desc, &ok);
  if (ok) {
    ++desc->node->fd_refs;
  } else {
    CloseDescriptor(*result);
    *result = -EMFILE;
  }
  return true;
}

bool ShieldedFiles::TryFcntl(int fd, int cmd, long arg, long* result) {
  auto desc = table_.Get(fd);
  if (!desc) return false;
  ShieldScope scope;
  switch (cmd) {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC:
      return TryFcntlDupfd(fd, static_cast<int>(arg), cmd == F_DUPFD_CLOEXEC, result);
    case F_GETFL: {
      std::lock_guard lock(desc->mutex);
      *result = desc->flags | O_LARGEFILE;
      return true;
    }
    case F_SETFL: {
      std::lock_guard lock(desc->mutex);
      constexpr int kSettable = O_APPEND | O_NONBLOCK;
      desc->flags = (desc->flags & ~kSettable) | (static_cast<int>(arg) & kSettable);
      *result = 0;
      return true;
    }
    case F_GETLK:
    case F_SETLK:
    case F_SETLKW:
    case F_OFD_GETLK:
    case F_OFD_SETLK:
    case F_OFD_SETLKW: {
      // Record locks go to the host file itself, so they work between processes as usual.
      int lock_fd = -1;
      {
        std::lock_guard node_lock(desc->node->mutex);
        lock_fd = desc->node->lock_fd.get();
      }
      *result = lock_fd < 0 ? -EBADF : DirectSyscall(SYS_fcntl, lock_fd, cmd, arg);
      return true;
    }
    default:  // F_GETFD/F_SETFD and others apply to the O_PATH descriptor
      *result = DirectSyscall(SYS_fcntl, fd, cmd, arg);
      if (*result < 0) {
        Log(kLogDenied, "fcntl(%d, cmd %d) on protected fd: %s", fd, cmd,
            strerror(static_cast<int>(-*result)));
      }
      return true;
  }
}

bool ShieldedFiles::TryUnlink(int dirfd, const char* path, int flags, long* result) {
  if (ClearlyOutside(path)) return false;
  ShieldScope scope;
  std::string abs;
  if (!Resolve(dirfd, path, &abs)) return false;
  Where where = Classify(abs);
  if (where == Where::kOutside) return DenyIfStrict("unlink", abs, result);
  std::string host = volume_->HostPathFor(abs);
  if (where == Where::kUnprotectedRegion) {
    if (host == abs) return false;
    *result = DirectSyscall(SYS_unlinkat, AT_FDCWD, host.c_str(), flags);
    return true;
  }
  if (flags & AT_REMOVEDIR) {
    // As the program spelled it when that is the host path; a directory holding only orphan
    // journals (which listings leave out) is emptied of them and removed.
    auto remove_directory = [&] {
      return host == abs ? DirectSyscall(SYS_unlinkat, dirfd, path, flags)
                         : DirectSyscall(SYS_unlinkat, AT_FDCWD, host.c_str(), flags);
    };
    *result = remove_directory();
    if (*result == -ENOTEMPTY && RemoveOrphanJournals(abs, host)) *result = remove_directory();
    return true;
  }
  UniqueFd held;  // no other process starts writing the file while it is removed
  if (long busy = WaitForOtherWriters("unlink", abs, host, &held); busy < 0) {
    *result = busy;
    return true;
  }
  std::lock_guard lock(mutex_);
  RefreshIfChangedLocked();  // the fspf write below must keep other processes' commits
  std::shared_ptr<ProtectedNode> node;
  if (auto it = nodes_.find(abs); it != nodes_.end()) {
    node = it->second;
    nodes_.erase(it);
    std::lock_guard node_lock(node->mutex);
    node->unlinked = true;  // still readable and writable through its descriptors
    if (node->file) node->file->set_committer(nullptr);
  }
  if (volume_->FindFile(abs) != nullptr) {
    Status status = volume_->RemoveFile(abs);
    *result = status.ok() ? 0 : Fail("unlink", status);
    if (status.ok()) ReleaseSavedLocks();  // the fspf just written records the staged files
  } else {
    *result = DirectSyscall(SYS_unlinkat, AT_FDCWD, host.c_str(), 0);
    DirectSyscall(SYS_unlinkat, AT_FDCWD, shield::JournalPath(host).c_str(), 0);
    if (node && *result == -ENOENT) *result = 0;
  }
  if (*result == 0) Log(kLogDebug, "unlinked %s", abs.c_str());
  return true;
}

bool ShieldedFiles::RemoveOrphanJournals(const std::string& dir, const std::string& host_dir) {
  // Only a directory reached through no symbolic link: its entries are then the host files of
  // `dir`'s paths (as in RemoveCrashLeftoverLocked).
  struct open_how how {};
  how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_NO_SYMLINKS;
  long opened = DirectSyscall(SYS_openat2, AT_FDCWD, host_dir.c_str(), &how, sizeof(how));
  if (opened < 0) return false;
  UniqueFd dir_fd(static_cast<int>(opened));
  // Anything but journals keeps the directory not empty whatever is removed: then nothing is.
  std::vector<std::pair<std::string, std::optional<shield::FileId>>> journals;
  std::vector<char> buffer(4096);
  for (;;) {
    long n = DirectSyscall(SYS_getdents64, dir_fd.get(), buffer.data(), buffer.size());
    if (n < 0) return false;
    if (n == 0) break;
    for (long at = 0; at < n;) {
      const auto* entry = reinterpret_cast<const struct dirent64*>(buffer.data() + at);
      at += entry->d_reclen;
      std::string_view name(entry->d_name);
      if (name == "." || name == "..") continue;
      if (!shield::IsJournalName(entry->d_name)) return false;
      JournalProbe probe = ProbeJournalNamed(dir_fd.get(), entry->d_name, entry->d_type);
      if (probe.kind != JournalNamed::kJournal) return false;
      journals.emplace_back(name, probe.file_id);
    }
  }
  if (journals.empty()) return false;
  std::lock_guard lock(mutex_);
  RefreshIfChangedLocked();  // files other processes recorded below `dir` since
  if (volume_->HasFilesUnder(dir)) return false;
  for (const auto& [path, node] : nodes_) {
    if (shield::PathIsUnder(path, dir)) return false;
  }
  for (const auto& [name, file_id] : journals) {
    if (file_id && volume_->FindFileById(*file_id) != nullptr) return false;
  }
  bool removed = false;
  for (const auto& [name, file_id] : journals) {
    if (DirectSyscall(SYS_unlinkat, dir_fd.get(), name.c_str(), 0) != 0) continue;
    Log(kLogWarning, "rmdir %s: removed %s, a redo journal of no file the fspf records",
        dir.c_str(), name.c_str());
    removed = true;
  }
  return removed;
}

bool ShieldedFiles::TryRename(int olddirfd, const char* oldpath, int newdirfd, const char* newpath,
                              unsigned flags, long* result) {
  ShieldScope scope;
  std::string from, to;
  if (!Resolve(olddirfd, oldpath, &from) || !Resolve(newdirfd, newpath, &to)) return false;
  Where from_where = Classify(from), to_where = Classify(to);
  for (const auto& region : volume_->fspf().regions) {
    if (region.kind != RegionKind::kNotProtected && shield::PathIsUnder(region.path, from)) {
      Log(kLogDenied, "rename %s: would move the protected region %s (EBUSY)", from.c_str(),
          region.path.c_str());
      *result = -EBUSY;
      return true;
    }
  }
  if (from_where == Where::kOutside && DenyIfStrict("rename", from, result)) return true;
  if (to_where == Where::kOutside && DenyIfStrict("rename", to, result)) return true;
  std::string from_host = volume_->HostPathFor(from), to_host = volume_->HostPathFor(to);
  if (from_where != Where::kProtectedRegion && to_where != Where::kProtectedRegion) {
    if (from_host == from && to_host == to) return false;
    *result =
        DirectSyscall(SYS_renameat2, AT_FDCWD, from_host.c_str(), AT_FDCWD, to_host.c_str(), flags);
    return true;
  }
  // No other process starts writing either file while it is moved or replaced.
  UniqueFd held_from;
  UniqueFd held_to;
  if (to_where == Where::kProtectedRegion) {
    long busy = from_where == Where::kProtectedRegion
                    ? WaitForOtherWriters("rename", from, from_host, &held_from)
                    : 0;
    if (busy == 0) busy = WaitForOtherWriters("rename", to, to_host, &held_to);
    if (busy < 0) {
      *result = busy;
      return true;
    }
  }
  std::lock_guard lock(mutex_);
  RefreshIfChangedLocked();  // the fspf write below must keep other processes' commits
  std::shared_ptr<ProtectedNode> node;
  if (auto it = nodes_.find(from); it != nodes_.end()) node = it->second;
  bool is_file = node != nullptr || volume_->FindFile(from) != nullptr;
  if (!is_file) {
    // A directory (or an unrecorded host file): it may move only if no protected file is
    // below it, since the fspf names files by path.
    bool has_files = volume_->HasFilesUnder(from);
    for (const auto& [path, open] : nodes_) {
      if (shield::PathIsUnder(path, from)) has_files = true;
    }
    if (has_files || from_where != to_where) {
      Log(kLogDenied, "rename %s -> %s: moving protected files in bulk is not supported (EXDEV)",
          from.c_str(), to.c_str());
      *result = -EXDEV;
    } else {
      *result = DirectSyscall(SYS_renameat2, AT_FDCWD, from_host.c_str(), AT_FDCWD, to_host.c_str(),
                              flags);
    }
    return true;
  }
  if (to_where != Where::kProtectedRegion || (flags & RENAME_EXCHANGE)) {
    Log(kLogDenied, "rename %s -> %s: leaves its region or exchanges (EXDEV)", from.c_str(),
        to.c_str());
    *result = -EXDEV;
    return true;
  }
  // What the kernel would refuse is refused before the fspf records anything: a directory at
  // the target (mv's first try, renameat2(f, dir, RENAME_NOREPLACE), must fail for it to fall
  // back to dir/f), and any target under RENAME_NOREPLACE.
  struct stat target {};
  bool host_target =
      DirectSyscall(SYS_newfstatat, AT_FDCWD, to_host.c_str(), &target, AT_SYMLINK_NOFOLLOW) == 0;
  bool target_exists = host_target || nodes_.count(to) != 0 || volume_->FindFile(to) != nullptr;
  if ((flags & RENAME_NOREPLACE) && target_exists) {
    *result = -EEXIST;
    return true;
  }
  if (host_target && S_ISDIR(target.st_mode)) {
    *result = -EISDIR;
    return true;
  }
  if (node) {
    std::lock_guard node_lock(node->mutex);
    if (Status s = CommitNodeLocked(*node); !s.ok()) {
      *result = Fail("rename", s);
      return true;
    }
  }
  std::shared_ptr<ProtectedNode> replaced;
  if (auto it = nodes_.find(to); it != nodes_.end()) replaced = it->second;
  Status status = volume_->RenameFile(from, to);
  if (!status.ok()) {
    *result = Fail("rename", status);
    return true;
  }
  // The fspf it wrote records the staged files too: their locks go now. (A staged `from` kept
  // its creation lock under its old name, held on the file that is now `to`: reopening `to`
  // failed with EBUSY, the write-then-rename pattern of git, Python's os.replace...)
  ReleaseSavedLocks();
  if (replaced) {
    std::lock_guard node_lock(replaced->mutex);
    replaced->unlinked = true;
    if (replaced->file) replaced->file->set_committer(nullptr);
    nodes_.erase(to);
  }
  if (node) {
    std::lock_guard node_lock(node->mutex);
    if (node->file) node->file->Relocate(to, to_host);
    node->path = to;
    nodes_.erase(from);
    nodes_[to] = node;
  }
  Log(kLogDebug, "renamed %s -> %s", from.c_str(), to.c_str());
  *result = 0;
  return true;
}

bool ShieldedFiles::TryMkdir(int dirfd, const char* path, mode_t mode, long* result) {
  if (ClearlyOutside(path)) return false;
  ShieldScope scope;
  std::string abs;
  if (!Resolve(dirfd, path, &abs)) return false;
  Where where = Classify(abs);
  if (where == Where::kOutside) return DenyIfStrict("mkdir", abs, result);
  if (where == Where::kProtectedRegion && shield::IsJournalName(abs)) {
    // As for files (shield::Volume): it would stand where the journal of the file named without
    // the suffix goes, and every commit of that file would fail.
    Log(kLogDenied, "mkdir %s: names ending in %s are reserved in protected regions (EINVAL)",
        abs.c_str(), std::string(shield::kJournalSuffix).c_str());
    *result = -EINVAL;
    return true;
  }
  std::string host = volume_->HostPathFor(abs);
  if (host == abs) return false;
  *result = DirectSyscall(SYS_mkdirat, AT_FDCWD, host.c_str(), mode);
  return true;
}

bool ShieldedFiles::TryAccess(int dirfd, const char* path, int mode, int flags, long* result) {
  if (ClearlyOutside(path)) return false;
  ShieldScope scope;
  std::string abs;
  if (!Resolve(dirfd, path, &abs)) return false;
  Where where = Classify(abs);
  if (where == Where::kOutside) return DenyIfStrict("access", abs, result);
  std::string host = volume_->HostPathFor(abs);
  if (where == Where::kProtectedRegion) {
    std::lock_guard lock(mutex_);
    RemoveCrashLeftoverLocked(abs, host);
  } else if (host == abs) {
    return false;
  }
  *result = DirectSyscall(SYS_faccessat2, AT_FDCWD, host.c_str(), mode, flags);
  if (*result == -ENOSYS && flags == 0) {
    *result = DirectSyscall(SYS_faccessat, AT_FDCWD, host.c_str(), mode);
  }
  return true;
}

bool ShieldedFiles::TryPathCall(int dirfd, const char* path, const char* call, std::string* host,
                                long* result) {
  if (ClearlyOutside(path)) return false;
  ShieldScope scope;
  std::string abs;
  if (!Resolve(dirfd, path, &abs)) return false;
  if (Classify(abs) == Where::kOutside) return DenyIfStrict(call, abs, result);
  *host = volume_->HostPathFor(abs);
  if (*host == abs) return false;
  *result = 0;
  return true;
}

bool ShieldedFiles::TryMmap(void* addr, size_t length, int prot, int flags, int fd, off_t offset,
                            long* result) {
  ShieldScope scope;
  if (flags & MAP_ANONYMOUS) return false;
  auto desc = table_.Get(fd);
  if (!desc) return false;
  int type = flags & MAP_TYPE;  // MAP_PRIVATE (2) shares a bit with MAP_SHARED_VALIDATE (3)
  bool shared_writable =
      (type == MAP_SHARED || type == MAP_SHARED_VALIDATE) && (prot & PROT_WRITE) != 0;
  // SQLite's WAL index (*-shm) is volatile: SQLite rebuilds it from the (protected) WAL when
  // the first connection opens the database. It gets memory shared within this process (and
  // its fork children) but never written back: no plaintext reaches the host file.
  bool volatile_index = shared_writable && desc->node->path.size() > 4 &&
                        desc->node->path.compare(desc->node->path.size() - 4, 4, "-shm") == 0;
  if (shared_writable && !volatile_index) {
    Log(kLogDenied,
        "mmap %s: shared writable mappings of protected files are not supported (ENODEV)",
        desc->node->path.c_str());
    *result = -ENODEV;
    return true;
  }
  if ((desc->flags & O_ACCMODE) == O_WRONLY || offset < 0 || (offset & 4095) != 0) {
    *result = (desc->flags & O_ACCMODE) == O_WRONLY ? -EACCES : -EINVAL;
    return true;
  }
  int anon_flags =
      (flags & ~MAP_TYPE) | MAP_ANONYMOUS | (volatile_index ? MAP_SHARED : MAP_PRIVATE);
  long mapped = DirectSyscall(SYS_mmap, addr, length, PROT_READ | PROT_WRITE, anon_flags, -1, 0);
  if (mapped < 0 && mapped > -4096) {
    *result = mapped;
    return true;
  }
  long n =
      ReadLocked(*desc, reinterpret_cast<void*>(mapped), length, static_cast<uint64_t>(offset));
  if (n < 0) {
    DirectSyscall(SYS_munmap, mapped, length);
    *result = n;
    return true;
  }
  if (prot != (PROT_READ | PROT_WRITE)) DirectSyscall(SYS_mprotect, mapped, length, prot);
  Log(kLogDebug, "mmap %s: %zu bytes copied (private snapshot)", desc->node->path.c_str(), length);
  *result = mapped;
  return true;
}

int ShieldedFiles::ProtectedDescriptorNamed(int dirfd, const char* path, int flags) const {
  if (!table_.AnyProtected()) return -1;
  if (path == nullptr) return table_.IsProtected(dirfd) ? dirfd : -1;
  if (path[0] == '\0')
    return (flags & AT_EMPTY_PATH) != 0 && table_.IsProtected(dirfd) ? dirfd : -1;
  return ProtectedDescriptorOfLink(path, flags);
}

bool ShieldedFiles::TryHostMetadata(HostMetadata what, int dirfd, const char* path, int flags,
                                    long a, long b, long* result) {
  int named = ProtectedDescriptorNamed(dirfd, path, flags);
  auto desc = named >= 0 ? table_.Get(named) : nullptr;
  if (!desc) return false;
  ShieldScope scope;
  *result = OnHostFile(*desc->node, [&](int fd, const char* host) -> long {
    int empty = host == nullptr ? AT_EMPTY_PATH : 0;  // the lock's descriptor itself
    const char* at = host == nullptr ? "" : host;
    switch (what) {
      case HostMetadata::kMode:
        return host == nullptr ? DirectSyscall(SYS_fchmod, fd, a)
                               : DirectSyscall(SYS_fchmodat, fd, at, a);
      case HostMetadata::kOwner:
        return DirectSyscall(SYS_fchownat, fd, at, a, b, empty);
      case HostMetadata::kTimes:
        return DirectSyscall(SYS_utimensat, fd, host, a, 0);
      case HostMetadata::kAccess:
        return DirectSyscall(SYS_faccessat2, fd, at, a, empty | static_cast<int>(b));
      case HostMetadata::kFileSystem:
        return host == nullptr ? DirectSyscall(SYS_fstatfs, fd, a)
                               : DirectSyscall(SYS_statfs, at, a);
    }
    return -EINVAL;
  });
  return true;
}

bool ShieldedFiles::IsTty(int fd, long* result) {
  ShieldScope scope;
  if (!table_.IsProtected(fd)) return false;
  *result = -ENOTTY;
  return true;
}

void ShieldedFiles::ForgetRange(unsigned first, unsigned last) {
  if (!table_.AnyProtected() || InBorrowedMemory()) return;
  ShieldScope scope;
  for (const auto& [fd, desc] : table_.Snapshot()) {
    if (static_cast<unsigned>(fd) >= first && static_cast<unsigned>(fd) <= last) {
      if (auto removed = table_.Remove(fd)) ReleaseImplicitly(removed->node, "close_range");
    }
  }
}

long ShieldedFiles::DecryptToMemfd(const std::string& path) {
  ShieldScope scope;
  if (Classify(path) != Where::kProtectedRegion) return 0;
  long fd = 0;
  if (!TryOpen(AT_FDCWD, path.c_str(), O_RDONLY | O_CLOEXEC, 0, &fd)) return 0;
  if (fd < 0) return fd;
  long memfd = DirectSyscall(SYS_memfd_create, "cove-dlopen", MFD_CLOEXEC);
  std::vector<uint8_t> buffer(1 << 20);
  long n = 0;
  while (memfd >= 0) {
    TryRead(static_cast<int>(fd), buffer.data(), buffer.size(), &n);
    if (n <= 0) break;
    long w = DirectSyscall(SYS_write, memfd, buffer.data(), n);
    if (w != n) {
      n = w < 0 ? w : -EIO;
      break;
    }
  }
  long closed = 0;
  TryClose(static_cast<int>(fd), &closed);
  if (memfd < 0) return memfd;
  if (n < 0) {
    CloseDescriptor(memfd);
    return n;
  }
  return memfd;
}

std::string ShieldedFiles::DescribeInheritable() {
  std::string out;
  auto describe = [&](int fd, const std::shared_ptr<OpenFileDescription>& desc) {
    long fd_flags = DirectSyscall(SYS_fcntl, fd, F_GETFD);
    if (fd_flags < 0 || (fd_flags & FD_CLOEXEC)) return;
    NameHostFile(fd, *desc);  // the new program's runtime checks it (AdoptInherited)
    uint64_t offset;
    {
      std::lock_guard lock(desc->mutex);
      offset = desc->offset();
    }
    // The page of a shared offset goes along too: the new program keeps sharing it.
    if (desc->shared_memfd >= 0) DirectSyscall(SYS_fcntl, desc->shared_memfd, F_SETFD, 0);
    int lock_fd = -1;
    {
      std::lock_guard lock(desc->node->mutex);
      lock_fd = desc->node->lock_fd.get();
    }
    // The lock descriptor goes along: the new program shares this one's flock on the file.
    if (lock_fd >= 0) DirectSyscall(SYS_fcntl, lock_fd, F_SETFD, 0);
    if (!out.empty()) out += '\x1e';
    out += std::to_string(fd) + " " + std::to_string(offset) + " " + std::to_string(desc->flags) +
           " " + std::to_string(lock_fd) + " " + std::to_string(desc->shared_memfd) + " " +
           std::to_string(desc->shared_index) + " " + desc->node->path;
  };
  auto snapshot = table_.Snapshot();
  for (const auto& [fd, desc] : snapshot) describe(fd, desc);
  if (!snapshot.empty() && InBorrowedMemory()) {
    for (int fd : UnlistedAliasesInChild(snapshot)) {
      for (const auto& [listed, desc] : snapshot) {
        if (SameHostFile(fd, *desc)) {
          describe(fd, desc);
          break;
        }
      }
    }
  }
  return out;
}

namespace {
// Whether `fd` is an O_PATH descriptor of the file at `host` (whose stat goes to *host_stat).
bool IsPlaceholderOf(int fd, const std::string& host, struct stat* host_stat) {
  struct stat by_fd {};
  return DirectSyscall(SYS_fstat, fd, &by_fd) == 0 &&
         DirectSyscall(SYS_newfstatat, AT_FDCWD, host.c_str(), host_stat, 0) == 0 &&
         by_fd.st_dev == host_stat->st_dev && by_fd.st_ino == host_stat->st_ino &&
         (DirectSyscall(SYS_fcntl, fd, F_GETFL) & O_PATH) != 0;
}
}  // namespace

bool ShieldedFiles::SameHostFile(int fd, const OpenFileDescription& desc) const {
  struct stat host_stat {};
  return IsPlaceholderOf(fd, volume_->HostPathFor(desc.node->path), &host_stat);
}

std::vector<int> ShieldedFiles::UnlistedAliasesInChild(
    const std::vector<std::pair<int, std::shared_ptr<OpenFileDescription>>>& listed) const {
  // A child's dup2 of a protected descriptor (a spawn file action) made an O_PATH descriptor
  // the parent's table does not list: the child's open descriptors are read from /proc.
  std::vector<int> found;
  long dir =
      DirectSyscall(SYS_openat, AT_FDCWD, "/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return found;
  alignas(8) char buffer[4096];
  long n;
  while ((n = DirectSyscall(SYS_getdents64, dir, buffer, sizeof(buffer))) > 0) {
    for (long at = 0; at < n;) {
      const auto* entry = reinterpret_cast<const struct dirent64*>(buffer + at);
      at += entry->d_reclen;
      char* end = nullptr;
      long fd = strtol(entry->d_name, &end, 10);
      if (end == entry->d_name || *end != '\0' || fd == dir) continue;
      bool is_listed = false;
      for (const auto& item : listed) is_listed = is_listed || item.first == fd;
      long status_flags = DirectSyscall(SYS_fcntl, fd, F_GETFL);
      if (!is_listed && status_flags >= 0 && (status_flags & O_PATH) != 0) {
        found.push_back(static_cast<int>(fd));
      }
    }
  }
  CloseDescriptor(dir);
  return found;
}

void ShieldedFiles::AdoptInherited(const std::string& spec) {
  ShieldScope scope;
  size_t start = 0;
  while (start < spec.size()) {
    size_t end = spec.find('\x1e', start);
    std::string record =
        spec.substr(start, end == std::string::npos ? std::string::npos : end - start);
    start = end == std::string::npos ? spec.size() : end + 1;
    int fd = -1, flags = 0, lock_fd = -1, memfd = -1, cell = -1;
    unsigned long long offset = 0;
    int consumed = 0;
    if (sscanf(record.c_str(), "%d %llu %d %d %d %d %n", &fd, &offset, &flags, &lock_fd, &memfd,
               &cell, &consumed) != 6 ||
        consumed <= 0) {
      continue;
    }
    std::string path = record.substr(static_cast<size_t>(consumed));
    if (Classify(path) != Where::kProtectedRegion) continue;
    // The descriptor must be the O_PATH descriptor of that path's host file.
    struct stat by_path {};
    if (!IsPlaceholderOf(fd, volume_->HostPathFor(path), &by_path)) {
      Log(kLogWarning, "inherited fd %d does not match %s: left unprotected", fd, path.c_str());
      continue;
    }
    std::lock_guard lock(mutex_);
    std::shared_ptr<ProtectedNode> node;
    if (auto it = nodes_.find(path); it != nodes_.end()) node = it->second;
    long error = 0;
    struct stat by_lock {};
    bool lock_matches = lock_fd >= 0 && DirectSyscall(SYS_fstat, lock_fd, &by_lock) == 0 &&
                        by_lock.st_dev == by_path.st_dev && by_lock.st_ino == by_path.st_ino;
    if (!node) node = OpenNodeLocked(path, false, &error, lock_matches ? lock_fd : -1);
    if (!node) {
      Log(kLogError, "inherited fd %d (%s) cannot be reopened: %s", fd, path.c_str(),
          strerror(static_cast<int>(-error)));
      continue;
    }
    {
      std::lock_guard node_lock(node->mutex);
      MarkOtherWritersLocked(*node);  // the process that handed it over may write it too
    }
    auto desc = std::make_shared<OpenFileDescription>();
    desc->node = node;
    desc->own_offset = offset;
    desc->flags = flags;
    if (std::atomic<uint64_t>* shared = InheritedCellLocked(memfd, cell); shared != nullptr) {
      desc->shared_offset = shared;
      desc->shared_memfd = memfd;
      desc->shared_index = cell;
    }
    InstallNew(fd, std::move(desc));
    Log(kLogDebug, "inherited fd %d -> %s at offset %llu", fd, path.c_str(), offset);
  }
}

Status ShieldedFiles::CommitEverything(const char* when) {
  ShieldScope scope;
  Status first = CommitOpenNodes(when);
  if (Status status = SaveUnsaved(); !status.ok()) {
    Fail(when, status);
    if (first.ok()) first = status;
  }
  return first;
}

Status ShieldedFiles::CommitPending() {
  return CommitEverything("background commit");
}

Status ShieldedFiles::CommitAll() {
  return CommitEverything("commit at exit");
}

}  // namespace cove::runtime
