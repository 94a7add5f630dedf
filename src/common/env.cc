// PosixEnv: the libc-backed Env, plus whole-file helpers built on any Env.
#include "common/env.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace cove {
namespace {

class PosixEnv final : public Env {
 public:
  Result<UniqueFd> Open(const std::string& path, int flags, mode_t mode) override {
    int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    if (fd < 0) return IoError("open " + path);
    return UniqueFd(fd);
  }

  Result<size_t> ReadAt(int fd, std::span<uint8_t> buf, uint64_t offset,
                        const std::string& path) override {
    size_t done = 0;
    while (done < buf.size()) {
      ssize_t n =
          ::pread(fd, buf.data() + done, buf.size() - done, static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return IoError("read " + path);
      }
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
      ssize_t n =
          ::pwrite(fd, buf.data() + done, buf.size() - done, static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return IoError("write " + path);
      }
      done += static_cast<size_t>(n);
    }
    return Status::Ok();
  }

  Result<uint64_t> FileSize(int fd, const std::string& path) override {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return IoError("stat " + path);
    return static_cast<uint64_t>(st.st_size);
  }

  Status Truncate(int fd, uint64_t size, const std::string& path) override {
    if (::ftruncate(fd, static_cast<off_t>(size)) != 0) return IoError("truncate " + path);
    return Status::Ok();
  }

  Status Sync(int fd, const std::string& path) override {
    if (::fdatasync(fd) != 0) return IoError("fsync " + path);
    return Status::Ok();
  }

  Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return IoError("rename " + from + " -> " + to);
    return Status::Ok();
  }

  Status Unlink(const std::string& path) override {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return IoError("unlink " + path);
    return Status::Ok();
  }

  bool Exists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }

  Status SyncParentDir(const std::string& path) override {
    auto slash = path.find_last_of('/');
    std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return IoError("open directory " + dir);
    UniqueFd guard(fd);
    if (::fsync(fd) != 0) return IoError("fsync directory " + dir);
    return Status::Ok();
  }
};

}  // namespace

Env& Env::Default() {
  static PosixEnv env;
  return env;
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
