// Env: every OS call the shield makes goes through this interface (LevelDB's Env), so that the
// shield can be tested on temp dirs and the runtime can plug in an implementation that issues
// raw syscalls and therefore never re-enters its own interposed libc functions.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/unique_fd.h"

namespace cove {

class Env {
 public:
  virtual ~Env() = default;
  // The process-wide default, backed by libc.
  static Env& Default();

  virtual Result<UniqueFd> Open(const std::string& path, int flags, mode_t mode = 0600) = 0;
  // Reads exactly buf.size() bytes at `offset` (short read => kDataLoss naming `path`).
  virtual Status ReadExactly(int fd, std::span<uint8_t> buf, uint64_t offset,
                             const std::string& path) = 0;
  // Reads up to buf.size() bytes at `offset`; returns how many (0 at end of file).
  virtual Result<size_t> ReadAt(int fd, std::span<uint8_t> buf, uint64_t offset,
                                const std::string& path) = 0;
  // One pread (retried on EINTR): may return fewer bytes than asked before the end of file.
  virtual Result<size_t> ReadOnce(int fd, std::span<uint8_t> buf, uint64_t offset,
                                  const std::string& path) = 0;
  virtual Status WriteAt(int fd, std::span<const uint8_t> buf, uint64_t offset,
                         const std::string& path) = 0;
  virtual Result<uint64_t> FileSize(int fd, const std::string& path) = 0;
  virtual Status Truncate(int fd, uint64_t size, const std::string& path) = 0;
  virtual Status Sync(int fd, const std::string& path) = 0;
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  virtual Status Unlink(const std::string& path) = 0;
  virtual bool Exists(const std::string& path) = 0;
  // fsyncs the directory holding `path`, so that a rename or create in it is durable.
  virtual Status SyncParentDir(const std::string& path) = 0;
  // syncfs(2) once per file system holding one of the directories `dirs`: one flush for many
  // files written without fsync (staged files). A directory that no longer exists is skipped
  // (the files written in it went with it).
  virtual Status SyncFilesystems(const std::set<std::string>& dirs) = 0;
  // An flock on `path` (created if missing), exclusive or `shared`, held until the descriptor
  // is closed. `wait` false: kFailedPrecondition at once when another open file description
  // holds a conflicting one.
  virtual Result<UniqueFd> LockFile(const std::string& path, bool wait, bool shared = false) = 0;
};

// Issues system call `nr` and returns the raw kernel result (>= 0, or -errno).
using RawSyscallFn = long (*)(long nr, long a0, long a1, long a2, long a3, long a4, long a5);
// A RawSyscallFn over libc's syscall(), its -1/errno convention turned into -errno.
long LibcSyscall(long nr, long a0, long a1, long a2, long a3, long a4, long a5);

// An Env whose every OS call goes through `syscall_fn`. Env::Default() is one over libc's
// syscall(); the runtime makes one over its trampoline, so that the shield's I/O neither
// re-enters the interposed libc functions nor trips the syscall trap.
// Every descriptor it opens goes through `move_descriptor` when one is given, which returns
// the descriptor to use instead (the runtime's moves it high: its descriptors live inside
// someone else's program, which may dup2 onto any number it believes free, as bash's
// `exec 5>>f` does).
using DescriptorMover = long (*)(long fd);
std::unique_ptr<Env> MakeSyscallEnv(RawSyscallFn syscall_fn,
                                    DescriptorMover move_descriptor = nullptr);

// The directory holding `path`: "." for a bare name, "/" for a name in the root.
std::string ParentDirectory(const std::string& path);

// Reads a whole (small) file, e.g. an fspf.
Result<std::vector<uint8_t>> ReadWholeFile(Env& env, const std::string& path);
// Fills `head` with the first bytes of `path`: false when it cannot be read or is shorter.
bool ReadFileHead(Env& env, const std::string& path, std::span<uint8_t> head);
// Replaces `path` atomically and durably: write temp, fsync, rename, fsync directory.
Status WriteFileAtomically(Env& env, const std::string& path, std::span<const uint8_t> data);

}  // namespace cove
