// SyscallEnv: the Env over system calls (libc's syscall() by default, the runtime's trampoline
// in libcove-runtime.so), plus whole-file helpers built on any Env.
#include "common/env.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace cove {
namespace {

// Every call is one system call through `sys_`; errors come back as -errno.
class SyscallEnv final : public Env {
 public:
  SyscallEnv(RawSyscallFn sys, DescriptorMover move) : sys_(sys), move_(move) {}

  Result<UniqueFd> Open(const std::string& path, int flags, mode_t mode) override {
    long fd = Call(SYS_openat, AT_FDCWD, path.c_str(), flags | O_CLOEXEC, mode);
    if (fd < 0) return IoError("open " + path, static_cast<int>(-fd));
    return UniqueFd(static_cast<int>(Moved(fd)));
  }

  Result<size_t> ReadAt(int fd, std::span<uint8_t> buf, uint64_t offset,
                        const std::string& path) override {
    size_t done = 0;
    while (done < buf.size()) {
      COVE_ASSIGN_OR_RETURN(size_t n, ReadOnce(fd, buf.subspan(done), offset + done, path));
      if (n == 0) break;
      done += n;
    }
    return done;
  }

  Result<size_t> ReadOnce(int fd, std::span<uint8_t> buf, uint64_t offset,
                          const std::string& path) override {
    long n;
    do {
      n = Call(SYS_pread64, fd, buf.data(), buf.size(), offset);
    } while (n == -EINTR);
    if (n < 0) return IoError("read " + path, static_cast<int>(-n));
    return static_cast<size_t>(n);
  }

  Status ReadExactly(int fd, std::span<uint8_t> buf, uint64_t offset,
                     const std::string& path) override {
    COVE_ASSIGN_OR_RETURN(size_t n, ReadAt(fd, buf, offset, path));
    if (n != buf.size()) {
      return DataLoss(path + ": file is truncated (wanted " + std::to_string(buf.size()) +
                      " bytes at offset " + std::to_string(offset) + ", got " + std::to_string(n) +
                      ")");
    }
    return Status::Ok();
  }

  Status WriteAt(int fd, std::span<const uint8_t> buf, uint64_t offset,
                 const std::string& path) override {
    size_t done = 0;
    while (done < buf.size()) {
      long n = Call(SYS_pwrite64, fd, buf.data() + done, buf.size() - done, offset + done);
      if (n == -EINTR) continue;
      if (n < 0) return IoError("write " + path, static_cast<int>(-n));
      done += static_cast<size_t>(n);
    }
    return Status::Ok();
  }

  Result<uint64_t> FileSize(int fd, const std::string& path) override {
    struct stat st {};
    long r = Call(SYS_fstat, fd, &st);
    if (r < 0) return IoError("stat " + path, static_cast<int>(-r));
    return static_cast<uint64_t>(st.st_size);
  }

  Status Truncate(int fd, uint64_t size, const std::string& path) override {
    return Check(Call(SYS_ftruncate, fd, size), "truncate " + path);
  }

  Status Sync(int fd, const std::string& path) override {
    return Check(Call(SYS_fdatasync, fd), "fsync " + path);
  }

  Status Rename(const std::string& from, const std::string& to) override {
    return Check(Call(SYS_rename, from.c_str(), to.c_str()), "rename " + from + " -> " + to);
  }

  Result<UniqueFd> LockFile(const std::string& path, bool wait, bool shared) override {
    long fd = Call(SYS_openat, AT_FDCWD, path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return IoError("open " + path, static_cast<int>(-fd));
    fd = Moved(fd);
    UniqueFd guard(static_cast<int>(fd));
    int operation = (shared ? LOCK_SH : LOCK_EX) | (wait ? 0 : LOCK_NB);
    long locked;
    while ((locked = Call(SYS_flock, fd, operation)) == -EINTR) {
    }
    if (locked == -EWOULDBLOCK) return FailedPrecondition(path + ": locked by another process");
    COVE_RETURN_IF_ERROR(Check(locked, "lock " + path));
    return guard;
  }

  Status Unlink(const std::string& path) override {
    long r = Call(SYS_unlink, path.c_str());
    return r == -ENOENT ? Status::Ok() : Check(r, "unlink " + path);
  }

  bool Exists(const std::string& path) override {
    // stat, not access(2): faccessat switches to the real uid's credentials for its check,
    // which costs a credential copy per call (opening a protected file larger than 32 KiB
    // checks for a journal).
    struct stat st {};
    return Call(SYS_newfstatat, AT_FDCWD, path.c_str(), &st, 0) == 0;
  }

  Status SyncParentDir(const std::string& path) override {
    std::string dir = ParentDirectory(path);
    return SyncDirectory(dir, SYS_fsync, "fsync directory " + dir);
  }

  Status SyncFilesystems(const std::set<std::string>& dirs) override {
    std::set<dev_t> synced;
    for (const std::string& dir : dirs) {
      // One open per directory: its fstat tells the file system, and the same descriptor
      // flushes it if no earlier directory did.
      long fd = Call(SYS_openat, AT_FDCWD, dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
      if (fd == -ENOENT) continue;
      if (fd < 0) return IoError("open directory " + dir, static_cast<int>(-fd));
      UniqueFd guard(static_cast<int>(fd));
      struct stat st {};
      COVE_RETURN_IF_ERROR(Check(Call(SYS_fstat, fd, &st), "stat directory " + dir));
      if (!synced.insert(st.st_dev).second) continue;
      COVE_RETURN_IF_ERROR(Check(Call(SYS_syncfs, fd), "syncfs of the file system holding " + dir));
    }
    return Status::Ok();
  }

 private:
  template <typename... Args>
  long Call(long nr, Args... args) const {
    long a[6] = {(long)args...};  // NOLINT: syscall arguments are machine words
    return sys_(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
  }
  // `fd` (just opened) where the mover puts it, or itself.
  long Moved(long fd) const { return move_ != nullptr ? move_(fd) : fd; }
  static Status Check(long r, const std::string& what) {
    return r < 0 ? IoError(what, static_cast<int>(-r)) : Status::Ok();
  }
  // Opens directory `dir` and applies `sync_nr` (fsync or syncfs) to it.
  Status SyncDirectory(const std::string& dir, long sync_nr, const std::string& what) {
    long fd = Call(SYS_openat, AT_FDCWD, dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (fd < 0) return IoError("open directory " + dir, static_cast<int>(-fd));
    UniqueFd guard(static_cast<int>(fd));
    return Check(Call(sync_nr, fd), what);
  }

  RawSyscallFn sys_;
  DescriptorMover move_;
};

}  // namespace

long LibcSyscall(long nr, long a0, long a1, long a2, long a3, long a4, long a5) {
  long r = ::syscall(nr, a0, a1, a2, a3, a4, a5);
  return r == -1 ? -errno : r;
}

std::string ParentDirectory(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::unique_ptr<Env> MakeSyscallEnv(RawSyscallFn syscall_fn, DescriptorMover move_descriptor) {
  return std::make_unique<SyscallEnv>(syscall_fn, move_descriptor);
}

Env& Env::Default() {
  static const std::unique_ptr<Env> env = MakeSyscallEnv(&LibcSyscall);
  return *env;
}

bool ReadFileHead(Env& env, const std::string& path, std::span<uint8_t> head) {
  auto fd = env.Open(path, O_RDONLY);
  if (!fd.ok()) return false;
  auto got = env.ReadAt(fd->get(), head, 0, path);
  return got.ok() && *got == head.size();
}

Result<std::vector<uint8_t>> ReadWholeFile(Env& env, const std::string& path) {
  COVE_ASSIGN_OR_RETURN(UniqueFd fd, env.Open(path, O_RDONLY));
  COVE_ASSIGN_OR_RETURN(uint64_t size, env.FileSize(fd.get(), path));
  std::vector<uint8_t> data(size);
  COVE_RETURN_IF_ERROR(env.ReadExactly(fd.get(), data, 0, path));
  return data;
}

Status WriteFileAtomically(Env& env, const std::string& path, std::span<const uint8_t> data) {
  std::string temp = path + ".cove-tmp";
  {
    COVE_ASSIGN_OR_RETURN(UniqueFd fd, env.Open(temp, O_WRONLY | O_CREAT | O_TRUNC, 0600));
    COVE_RETURN_IF_ERROR(env.WriteAt(fd.get(), data, 0, temp));
    COVE_RETURN_IF_ERROR(env.Sync(fd.get(), temp));
  }
  COVE_RETURN_IF_ERROR(env.Rename(temp, path));
  return env.SyncParentDir(path);
}

}  // namespace cove
