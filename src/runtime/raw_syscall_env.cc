// RawSyscallEnv: Env over direct syscalls (see raw_syscall_env.h).
#include "runtime/raw_syscall_env.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

#include "runtime/direct_syscall.h"

namespace cove::runtime {
namespace {

class RawSyscallEnv final : public Env {
 public:
  Result<UniqueFd> Open(const std::string& path, int flags, mode_t mode) override {
    long fd = DirectSyscall(SYS_openat, AT_FDCWD, path.c_str(), flags | O_CLOEXEC, mode);
    if (fd < 0) return IoError("open " + path, static_cast<int>(-fd));
    return UniqueFd(static_cast<int>(fd));
  }

  Result<size_t> ReadAt(int fd, std::span<uint8_t> buf, uint64_t offset,
                        const std::string& path) override {
    size_t done = 0;
    while (done < buf.size()) {
      long n = DirectSyscall(SYS_pread64, fd, buf.data() + done, buf.size() - done, offset + done);
      if (n == -EINTR) continue;
      if (n < 0) return IoError("read " + path, static_cast<int>(-n));
      if (n == 0) break;
      done += static_cast<size_t>(n);
    }
    return done;
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
      long n = DirectSyscall(SYS_pwrite64, fd, buf.data() + done, buf.size() - done, offset + done);
      if (n == -EINTR) continue;
      if (n < 0) return IoError("write " + path, static_cast<int>(-n));
      done += static_cast<size_t>(n);
    }
    return Status::Ok();
  }

  Result<uint64_t> FileSize(int fd, const std::string& path) override {
    struct stat st {};
    long r = DirectSyscall(SYS_fstat, fd, &st);
    if (r < 0) return IoError("stat " + path, static_cast<int>(-r));
    return static_cast<uint64_t>(st.st_size);
  }

  Status Truncate(int fd, uint64_t size, const std::string& path) override {
    long r = DirectSyscall(SYS_ftruncate, fd, size);
    if (r < 0) return IoError("truncate " + path, static_cast<int>(-r));
    return Status::Ok();
  }

  Status Sync(int fd, const std::string& path) override {
    long r = DirectSyscall(SYS_fdatasync, fd);
    if (r < 0) return IoError("fsync " + path, static_cast<int>(-r));
    return Status::Ok();
  }

  Status Rename(const std::string& from, const std::string& to) override {
    long r = DirectSyscall(SYS_rename, from.c_str(), to.c_str());
    if (r < 0) return IoError("rename " + from + " -> " + to, static_cast<int>(-r));
    return Status::Ok();
  }

  Status Unlink(const std::string& path) override {
    long r = DirectSyscall(SYS_unlink, path.c_str());
    if (r < 0 && r != -ENOENT) return IoError("unlink " + path, static_cast<int>(-r));
    return Status::Ok();
  }

  bool Exists(const std::string& path) override {
    return DirectSyscall(SYS_faccessat, AT_FDCWD, path.c_str(), F_OK, 0) == 0;
  }

  Status SyncParentDir(const std::string& path) override {
    auto slash = path.find_last_of('/');
    std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
    long fd = DirectSyscall(SYS_openat, AT_FDCWD, dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return IoError("open directory " + dir, static_cast<int>(-fd));
    UniqueFd guard(static_cast<int>(fd));
    long r = DirectSyscall(SYS_fsync, fd);
    if (r < 0) return IoError("fsync directory " + dir, static_cast<int>(-r));
    return Status::Ok();
  }
};

}  // namespace

long ToLibcResult(long raw) {
  if (raw < 0 && raw > -4096) {
    errno = static_cast<int>(-raw);
    return -1;
  }
  return raw;
}

Env& RawSyscallEnvInstance() {
  static RawSyscallEnv env;
  return env;
}

}  // namespace cove::runtime
