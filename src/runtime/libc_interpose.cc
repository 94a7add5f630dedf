// The file API of libc, interposed: each exported function asks ShieldedFiles first and
// otherwise makes the real call as a direct syscall (no dlsym, so it works before the
// runtime's constructor ran and never recurses). For an unprotected descriptor the extra cost
// is one atomic load. Exported names are listed in exports.map; nothing else is visible.
#include <dirent.h>
#include <fcntl.h>
#include <linux/stat.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <string>
#include <vector>

#include "runtime/direct_syscall.h"
#include "runtime/interpose_syscall.h"
#include "runtime/raw_syscall_env.h"
#include "runtime/runtime_log.h"
#include "runtime/shielded_files.h"

#define COVE_EXPORT COVE_EXPORT_IN_RANGE

// The exported functions carry libc's names, reserved ones included (__open_2, __close).
// NOLINTBEGIN(bugprone-reserved-identifier, readability-identifier-naming)

using cove::runtime::CancellationPoint;
using cove::runtime::KernelHere;
using cove::runtime::LibcResult;
using cove::runtime::ShieldedFiles;

namespace cove::runtime {

[[gnu::noinline]] COVE_IN_SYSCALL_RANGE long CancellableSyscall(long nr, long a0, long a1, long a2,
                                                                long a3, long a4, long a5) {
  int old_type = PTHREAD_CANCEL_DEFERRED;
  // NOLINTNEXTLINE(concurrency-thread-canceltype-asynchronous): only around the syscall, as glibc
  pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &old_type);
  long r = InRangeSyscall(nr, a0, a1, a2, a3, a4, a5);
  pthread_setcanceltype(old_type, &old_type);
  return r;
}

[[gnu::cold, gnu::noinline]] long FailWithErrno(long raw) {
  errno = static_cast<int>(-raw);
  return -1;
}

}  // namespace cove::runtime

namespace {

inline ShieldedFiles* Files() {
  return ShieldedFiles::Instance();
}

// The shield when `fd` is one of its protected descriptors, else nullptr. Inline, so that a
// call on any other descriptor costs two loads and no call into ShieldedFiles (its Try*
// functions would only find out the same and return false).
inline ShieldedFiles* FilesForFd(int fd) {
  ShieldedFiles* files = Files();
  return files != nullptr && files->IsProtectedFd(fd) ? files : nullptr;
}

// The shield unless `path` clearly lies outside every region (then nullptr: the caller makes
// the real call without entering ShieldedFiles). Relative paths and paths to normalize are
// resolved against the current directory on the stack first (FilesForPathSlow).
[[gnu::noinline]] ShieldedFiles* FilesForPathSlow(ShieldedFiles* files, int dirfd,
                                                  const char* path) {
  return files->ClearlyOutsideResolved(dirfd, path) ? nullptr : files;
}
inline ShieldedFiles* FilesForPath(const char* path, int dirfd = AT_FDCWD) {
  ShieldedFiles* files = Files();
  if (files == nullptr || files->ClearlyOutside(path)) return nullptr;
  return FilesForPathSlow(files, dirfd, path);
}

// The protected descriptor that "/dev/stdin", "/proc/self/fd/N" and the like name, for a stat
// that follows the link (the kernel would describe the descriptor's placeholder), or -1: one
// load and a bit test while no protected file is open.
inline int DescriptorNamedByLink(ShieldedFiles* files, const char* path, int flags) {
  return files != nullptr && ShieldedFiles::MayNameDescriptor(path) && files->AnyProtectedFd()
             ? files->ProtectedDescriptorOfLink(path, flags)
             : -1;
}

// Runs `shielded` (a call into ShieldedFiles, with the real syscall as its fallback) out of
// line, so that the pass-through path of the interposed function needs no stack frame and no
// saved registers.
template <typename Shielded>
[[gnu::noinline]] long ViaShield(Shielded shielded) {
  return shielded();
}

// DirectSyscall over InlineSyscall (raw_syscall.h): the real call of every interposed function.
template <typename... Args>
inline long Kernel(long nr, Args... args) {
  static_assert(sizeof...(Args) <= 6, "at most six syscall arguments");
  long a[6] = {(long)args...};
  return cove::runtime::InlineSyscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

// ViaShield for the calls whose ShieldedFiles function takes the syscall's own arguments
// (kTry(args..., &result), else syscall kNr(args...)): reached by a tail call with the
// arguments in registers, so the interposed function needs no stack frame at all.
template <auto kTry, long kNr, typename... Args>
[[gnu::noinline]] long ViaShieldTry(ShieldedFiles* files, Args... args) {
  long r;
  if ((files->*kTry)(args..., &r)) return LibcResult(r);
  return LibcResult(Kernel(kNr, args...));
}

inline bool NeedsMode(int flags) {
  return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

COVE_IN_SYSCALL_RANGE long OpenAt(int dirfd, const char* path, int flags, mode_t mode) {
  if (ShieldedFiles* files = FilesForPath(path, dirfd); files != nullptr) [[unlikely]] {
    return ViaShieldTry<&ShieldedFiles::TryOpen, SYS_openat>(files, dirfd, path, flags, mode);
  }
  if (ShieldedFiles::MayNameDescriptor(path)) [[unlikely]] {  // "/dev/stdout" and the like
    if (ShieldedFiles* files = Files(); files != nullptr) {
      return ViaShieldTry<&ShieldedFiles::TryOpen, SYS_openat>(files, dirfd, path, flags, mode);
    }
  }
  return LibcResult(CancellationPoint(SYS_openat, dirfd, path, flags, mode));
}

COVE_IN_SYSCALL_RANGE long StatAt(int dirfd, const char* path, struct stat* st, int flags) {
  if (ShieldedFiles* files = FilesForPath(path, dirfd); files != nullptr) [[unlikely]] {
    return ViaShieldTry<&ShieldedFiles::TryFstatat, SYS_newfstatat>(files, dirfd, path, st, flags);
  }
  if (ShieldedFiles::MayNameDescriptor(path)) [[unlikely]] {  // "/dev/stdin" and the like
    ShieldedFiles* files = Files();
    if (int named = DescriptorNamedByLink(files, path, flags); named >= 0) {
      return ViaShieldTry<&ShieldedFiles::TryFstat, SYS_fstat>(files, named, st);
    }
  }
  return LibcResult(KernelHere(SYS_newfstatat, dirfd, path, st, flags));
}

COVE_IN_SYSCALL_RANGE long Fstat(int fd, struct stat* st) {
  if (ShieldedFiles* files = FilesForFd(fd); files != nullptr) [[unlikely]] {
    return ViaShieldTry<&ShieldedFiles::TryFstat, SYS_fstat>(files, fd, st);
  }
  return LibcResult(KernelHere(SYS_fstat, fd, st));
}

// Copies through the interposed read/write, for sendfile/copy_file_range with a protected end.
long CopyThrough(int in_fd, off_t* in_off, int out_fd, off_t* out_off, size_t count);

}  // namespace

// ---- open ----
COVE_EXPORT int open(const char* path, int flags, ...) {
  mode_t mode = 0;
  if (NeedsMode(flags)) {
    va_list args;
    va_start(args, flags);
    mode = va_arg(args, mode_t);  // NOLINT(clang-analyzer-valist.Uninitialized): va_start above
    va_end(args);
  }
  return static_cast<int>(OpenAt(AT_FDCWD, path, flags, mode));
}
COVE_EXPORT int open64(const char* path, int flags, ...) {
  mode_t mode = 0;
  if (NeedsMode(flags)) {
    va_list args;
    va_start(args, flags);
    mode = va_arg(args, mode_t);  // NOLINT(clang-analyzer-valist.Uninitialized): va_start above
    va_end(args);
  }
  return static_cast<int>(OpenAt(AT_FDCWD, path, flags, mode));
}
COVE_EXPORT int openat(int dirfd, const char* path, int flags, ...) {
  mode_t mode = 0;
  if (NeedsMode(flags)) {
    va_list args;
    va_start(args, flags);
    mode = va_arg(args, mode_t);  // NOLINT(clang-analyzer-valist.Uninitialized): va_start above
    va_end(args);
  }
  return static_cast<int>(OpenAt(dirfd, path, flags, mode));
}
COVE_EXPORT int openat64(int dirfd, const char* path, int flags, ...) {
  mode_t mode = 0;
  if (NeedsMode(flags)) {
    va_list args;
    va_start(args, flags);
    mode = va_arg(args, mode_t);  // NOLINT(clang-analyzer-valist.Uninitialized): va_start above
    va_end(args);
  }
  return static_cast<int>(OpenAt(dirfd, path, flags, mode));
}
COVE_EXPORT int __open_2(const char* path, int flags) {
  return static_cast<int>(OpenAt(AT_FDCWD, path, flags, 0));
}
COVE_EXPORT int __open64_2(const char* path, int flags) {
  return static_cast<int>(OpenAt(AT_FDCWD, path, flags, 0));
}
COVE_EXPORT int __openat_2(int dirfd, const char* path, int flags) {
  return static_cast<int>(OpenAt(dirfd, path, flags, 0));
}
COVE_EXPORT int __openat64_2(int dirfd, const char* path, int flags) {
  return static_cast<int>(OpenAt(dirfd, path, flags, 0));
}
COVE_EXPORT int creat(const char* path, mode_t mode) {
  return static_cast<int>(OpenAt(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode));
}
COVE_EXPORT int creat64(const char* path, mode_t mode) {
  return static_cast<int>(OpenAt(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode));
}

// ---- close, dup ----
namespace {
// The program's close of one of the runtime's own descriptors (ShieldedFiles::
// TryCloseRuntimeFd), out of line: the usual close pays only the filter's bit test.
[[gnu::noinline]] long CloseIfNotRuntimeFd(int fd) {
  long r;
  if (ShieldedFiles* files = Files(); files != nullptr && files->TryCloseRuntimeFd(fd, &r)) {
    return LibcResult(r);
  }
  return LibcResult(Kernel(SYS_close, fd));
}
}  // namespace

COVE_EXPORT int close(int fd) {
  if (ShieldedFiles* files = FilesForFd(fd); files != nullptr) [[unlikely]] {
    return static_cast<int>(ViaShieldTry<&ShieldedFiles::TryClose, SYS_close>(files, fd));
  }
  if (cove::runtime::IsRuntimeDescriptor(fd)) [[unlikely]] {
    return static_cast<int>(CloseIfNotRuntimeFd(fd));
  }
  return static_cast<int>(LibcResult(KernelHere(SYS_close, fd)));
}
COVE_EXPORT int __close(int fd) {
  return close(fd);
}
COVE_EXPORT int close_range(unsigned first, unsigned last, int flags) {
  if (ShieldedFiles* files = Files(); files != nullptr) {
    return static_cast<int>(LibcResult(files->CloseRange(first, last, flags)));
  }
  return static_cast<int>(LibcResult(KernelHere(SYS_close_range, first, last, flags)));
}
COVE_EXPORT int dup(int fd) {
  long r;
  ShieldedFiles* files = Files();
  if (files != nullptr && files->TryDup(fd, -1, 0, &r)) return static_cast<int>(LibcResult(r));
  return static_cast<int>(LibcResult(KernelHere(SYS_dup, fd)));
}
COVE_EXPORT int dup2(int fd, int newfd) {
  long r;
  ShieldedFiles* files = Files();
  if (files != nullptr && files->TryDup(fd, newfd, 0, &r)) {
    return static_cast<int>(LibcResult(r));
  }
  return static_cast<int>(LibcResult(KernelHere(SYS_dup2, fd, newfd)));
}
COVE_EXPORT int __dup2(int fd, int newfd) {
  return dup2(fd, newfd);
}
COVE_EXPORT int dup3(int fd, int newfd, int flags) {
  long r;
  ShieldedFiles* files = Files();
  if (files != nullptr && files->TryDup(fd, newfd, flags, &r)) {
    return static_cast<int>(LibcResult(r));
  }
  return static_cast<int>(LibcResult(KernelHere(SYS_dup3, fd, newfd, flags)));
}

// ---- read, write ----
COVE_EXPORT ssize_t read(int fd, void* buf, size_t count) {
  if (ShieldedFiles* files = FilesForFd(fd); files != nullptr) [[unlikely]] {
    return ViaShieldTry<&ShieldedFiles::TryRead, SYS_read>(files, fd, buf, count);
  }
  return LibcResult(CancellationPoint(SYS_read, fd, buf, count));
}
COVE_EXPORT ssize_t __read(int fd, void* buf, size_t count) {
  return read(fd, buf, count);
}
COVE_EXPORT ssize_t __read_chk(int fd, void* buf, size_t count, size_t /*buflen*/) {
  return read(fd, buf, count);
}
COVE_EXPORT ssize_t write(int fd, const void* buf, size_t count) {
  if (ShieldedFiles* files = FilesForFd(fd); files != nullptr) [[unlikely]] {
    return ViaShieldTry<&ShieldedFiles::TryWrite, SYS_write>(files, fd, buf, count);
  }
  return LibcResult(CancellationPoint(SYS_write, fd, buf, count));
}
COVE_EXPORT ssize_t __write(int fd, const void* buf, size_t count) {
  return write(fd, buf, count);
}
COVE_EXPORT ssize_t pread(int fd, void* buf, size_t count, off_t offset) {
  if (ShieldedFiles* files = FilesForFd(fd); files != nullptr) [[unlikely]] {
    return ViaShieldTry<&ShieldedFiles::TryPread, SYS_pread64>(files, fd, buf, count, offset);
  }
  return LibcResult(CancellationPoint(SYS_pread64, fd, buf, count, offset));
}
COVE_EXPORT ssize_t pread64(int fd, void* buf, size_t count, off_t offset) {
  return pread(fd, buf, count, offset);
}
COVE_EXPORT ssize_t __pread64(int fd, void* buf, size_t count, off_t offset) {
  return pread(fd, buf, count, offset);
}
COVE_EXPORT ssize_t __pread_chk(int fd, void* buf, size_t count, off_t offset, size_t) {
  return pread(fd, buf, count, offset);
}
COVE_EXPORT ssize_t __pread64_chk(int fd, void* buf, size_t count, off_t offset, size_t) {
  return pread(fd, buf, count, offset);
}
COVE_EXPORT ssize_t pwrite(int fd, const void* buf, size_t count, off_t offset) {
  if (ShieldedFiles* files = FilesForFd(fd); files != nullptr) [[unlikely]] {
    return ViaShieldTry<&ShieldedFiles::TryPwrite, SYS_pwrite64>(files, fd, buf, count, offset);
  }
  return LibcResult(CancellationPoint(SYS_pwrite64, fd, buf, count, offset));
}
COVE_EXPORT ssize_t pwrite64(int fd, const void* buf, size_t count, off_t offset) {
  return pwrite(fd, buf, count, offset);
}
COVE_EXPORT ssize_t __pwrite64(int fd, const void* buf, size_t count, off_t offset) {
  return pwrite(fd, buf, count, offset);
}
COVE_EXPORT ssize_t readv(int fd, const struct iovec* iov, int iovcnt) {
  if (ShieldedFiles* files = FilesForFd(fd); files != nullptr) [[unlikely]] {
    return ViaShield([=] {
      long r;
      return files->TryReadv(fd, iov, iovcnt, -1, &r)
                 ? LibcResult(r)
                 : LibcResult(Kernel(SYS_readv, fd, iov, iovcnt));
    });
  }
  return LibcResult(CancellationPoint(SYS_readv, fd, iov, iovcnt));
}
COVE_EXPORT ssize_t writev(int fd, const struct iovec* iov, int iovcnt) {
  if (ShieldedFiles* files = FilesForFd(fd); files != nullptr) [[unlikely]] {
    return ViaShield([=] {
      long r;
      return files->TryWritev(fd, iov, iovcnt, -1, &r)
                 ? LibcResult(r)
                 : LibcResult(Kernel(SYS_writev, fd, iov, iovcnt));
    });
  }
  return LibcResult(CancellationPoint(SYS_writev, fd, iov, iovcnt));
}
COVE_EXPORT ssize_t preadv(int fd, const struct iovec* iov, int iovcnt, off_t offset) {
  long r;
  ShieldedFiles* files = FilesForFd(fd);
  if (files != nullptr && offset < 0) return LibcResult(-EINVAL);
  if (files != nullptr && files->TryReadv(fd, iov, iovcnt, offset, &r)) return LibcResult(r);
  return LibcResult(CancellationPoint(SYS_preadv, fd, iov, iovcnt, offset, 0));
}
COVE_EXPORT ssize_t preadv64(int fd, const struct iovec* iov, int iovcnt, off_t offset) {
  return preadv(fd, iov, iovcnt, offset);
}
COVE_EXPORT ssize_t pwritev(int fd, const struct iovec* iov, int iovcnt, off_t offset) {
  long r;
  ShieldedFiles* files = FilesForFd(fd);
  if (files != nullptr && offset < 0) return LibcResult(-EINVAL);
  if (files != nullptr && files->TryWritev(fd, iov, iovcnt, offset, &r)) return LibcResult(r);
  return LibcResult(CancellationPoint(SYS_pwritev, fd, iov, iovcnt, offset, 0));
}
COVE_EXPORT ssize_t pwritev64(int fd, const struct iovec* iov, int iovcnt, off_t offset) {
  return pwritev(fd, iov, iovcnt, offset);
}
COVE_EXPORT ssize_t preadv2(int fd, const struct iovec* iov, int iovcnt, off_t offset, int flags) {
  if (ShieldedFiles* files = FilesForFd(fd); files != nullptr) [[unlikely]] {
    return ViaShield([=] {
      long r;
      return files->TryReadv(fd, iov, iovcnt, offset, &r, flags)
                 ? LibcResult(r)
                 : LibcResult(Kernel(SYS_preadv2, fd, iov, iovcnt, offset, 0, flags));
    });
  }
  return LibcResult(CancellationPoint(SYS_preadv2, fd, iov, iovcnt, offset, 0, flags));
}
COVE_EXPORT ssize_t pwritev2(int fd, const struct iovec* iov, int iovcnt, off_t offset, int flags) {
  if (ShieldedFiles* files = FilesForFd(fd); files != nullptr) [[unlikely]] {
    return ViaShield([=] {
      long r;
      return files->TryWritev(fd, iov, iovcnt, offset, &r, flags)
                 ? LibcResult(r)
                 : LibcResult(Kernel(SYS_pwritev2, fd, iov, iovcnt, offset, 0, flags));
    });
  }
  return LibcResult(CancellationPoint(SYS_pwritev2, fd, iov, iovcnt, offset, 0, flags));
}
// The names that _FILE_OFFSET_BITS=64 programs (Python) call them by.
COVE_EXPORT ssize_t preadv64v2(int fd, const struct iovec* iov, int iovcnt, off_t offset,
                               int flags) {
  return preadv2(fd, iov, iovcnt, offset, flags);
}
COVE_EXPORT ssize_t pwritev64v2(int fd, const struct iovec* iov, int iovcnt, off_t offset,
                                int flags) {
  return pwritev2(fd, iov, iovcnt, offset, flags);
}
COVE_EXPORT off_t lseek(int fd, off_t offset, int whence) {
  if (ShieldedFiles* files = FilesForFd(fd); files != nullptr) [[unlikely]] {
    return ViaShieldTry<&ShieldedFiles::TryLseek, SYS_lseek>(files, fd, offset, whence);
  }
  return LibcResult(KernelHere(SYS_lseek, fd, offset, whence));
}
COVE_EXPORT off_t lseek64(int fd, off_t offset, int whence) {
  return lseek(fd, offset, whence);
}
COVE_EXPORT off_t __lseek(int fd, off_t offset, int whence) {
  return lseek(fd, offset, whence);
}

// ---- stat ---- (on x86-64, struct stat and struct stat64 are the kernel's struct stat)
static_assert(sizeof(struct stat) == sizeof(struct stat64));
COVE_EXPORT int stat(const char* path, struct stat* st) {
  return static_cast<int>(StatAt(AT_FDCWD, path, st, 0));
}
COVE_EXPORT int stat64(const char* path, struct stat64* st64) {
  auto* st = reinterpret_cast<struct stat*>(st64);
  return static_cast<int>(StatAt(AT_FDCWD, path, st, 0));
}
COVE_EXPORT int lstat(const char* path, struct stat* st) {
  return static_cast<int>(StatAt(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW));
}
COVE_EXPORT int lstat64(const char* path, struct stat64* st64) {
  auto* st = reinterpret_cast<struct stat*>(st64);
  return static_cast<int>(StatAt(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW));
}
COVE_EXPORT int fstatat(int dirfd, const char* path, struct stat* st, int flags) {
  return static_cast<int>(StatAt(dirfd, path, st, flags));
}
COVE_EXPORT int fstatat64(int dirfd, const char* path, struct stat64* st64, int flags) {
  auto* st = reinterpret_cast<struct stat*>(st64);
  return static_cast<int>(StatAt(dirfd, path, st, flags));
}
COVE_EXPORT int fstat(int fd, struct stat* st) {
  return static_cast<int>(Fstat(fd, st));
}
COVE_EXPORT int fstat64(int fd, struct stat64* st) {
  return static_cast<int>(Fstat(fd, reinterpret_cast<struct stat*>(st)));
}
COVE_EXPORT int __fstat64(int fd, struct stat* st) {
  return static_cast<int>(Fstat(fd, st));
}
// The pre-2.33 versioned entry points (struct version 1 is the kernel's struct stat).
COVE_EXPORT int __xstat(int, const char* path, struct stat* st) {
  return stat(path, st);
}
COVE_EXPORT int __xstat64(int, const char* path, struct stat* st) {
  return stat(path, st);
}
COVE_EXPORT int __lxstat(int, const char* path, struct stat* st) {
  return lstat(path, st);
}
COVE_EXPORT int __lxstat64(int, const char* path, struct stat* st) {
  return lstat(path, st);
}
COVE_EXPORT int __fxstat(int, int fd, struct stat* st) {
  return fstat(fd, st);
}
COVE_EXPORT int __fxstat64(int, int fd, struct stat* st) {
  return fstat(fd, st);
}
COVE_EXPORT int __fxstatat(int, int dirfd, const char* path, struct stat* st, int flags) {
  return fstatat(dirfd, path, st, flags);
}
COVE_EXPORT int __fxstatat64(int, int dirfd, const char* path, struct stat* st, int flags) {
  return fstatat(dirfd, path, st, flags);
}
COVE_EXPORT int statx(int dirfd, const char* path, int flags, unsigned mask, struct statx* stx) {
  long r;
  ShieldedFiles* files = FilesForPath(path, dirfd);
  if (files == nullptr && DescriptorNamedByLink(Files(), path, flags) >= 0) {
    files = Files();  // "/dev/stdin" and the like
  }
  if (files != nullptr && files->TryStatx(dirfd, path, flags, mask, stx, &r)) {
    return static_cast<int>(LibcResult(r));
  }
  return static_cast<int>(LibcResult(KernelHere(SYS_statx, dirfd, path, flags, mask, stx)));
}

// ---- size, durability ----
COVE_EXPORT int ftruncate(int fd, off_t length) {
  long r;
  ShieldedFiles* files = FilesForFd(fd);
  if (files != nullptr && files->TryFtruncate(fd, length, &r)) {
    return static_cast<int>(LibcResult(r));
  }
  return static_cast<int>(LibcResult(KernelHere(SYS_ftruncate, fd, length)));
}
COVE_EXPORT int ftruncate64(int fd, off_t length) {
  return ftruncate(fd, length);
}
COVE_EXPORT int truncate(const char* path, off_t length) {
  long r;
  ShieldedFiles* files = Files();
  if (files != nullptr && files->TryTruncate(path, length, &r)) {
    return static_cast<int>(LibcResult(r));
  }
  return static_cast<int>(LibcResult(KernelHere(SYS_truncate, path, length)));
}
COVE_EXPORT int truncate64(const char* path, off_t length) {
  return truncate(path, length);
}
COVE_EXPORT int fsync(int fd) {
  if (ShieldedFiles* files = FilesForFd(fd); files != nullptr) [[unlikely]] {
    return static_cast<int>(ViaShieldTry<&ShieldedFiles::TryFsync, SYS_fsync>(files, fd));
  }
  return static_cast<int>(LibcResult(CancellationPoint(SYS_fsync, fd)));
}
COVE_EXPORT int fdatasync(int fd) {
  if (ShieldedFiles* files = FilesForFd(fd); files != nullptr) [[unlikely]] {
    return static_cast<int>(ViaShieldTry<&ShieldedFiles::TryFsync, SYS_fdatasync>(files, fd));
  }
  return static_cast<int>(LibcResult(CancellationPoint(SYS_fdatasync, fd)));
}

// ---- fcntl ----
COVE_EXPORT int fcntl(int fd, int cmd, ...) {
  va_list args;
  va_start(args, cmd);
  long arg = va_arg(args, long);
  va_end(args);
  long r;
  ShieldedFiles* files = FilesForFd(fd);
  if (files != nullptr && files->TryFcntl(fd, cmd, arg, &r)) {
    return static_cast<int>(LibcResult(r));
  }
  if (cmd == F_SETLKW || cmd == F_OFD_SETLKW) {  // waits for the lock: a cancellation point
    return static_cast<int>(LibcResult(CancellationPoint(SYS_fcntl, fd, cmd, arg)));
  }
  return static_cast<int>(LibcResult(KernelHere(SYS_fcntl, fd, cmd, arg)));
}
COVE_EXPORT int fcntl64(int fd, int cmd, ...) {
  va_list args;
  va_start(args, cmd);
  long arg = va_arg(args, long);
  va_end(args);
  return fcntl(fd, cmd, arg);
}
COVE_EXPORT int __fcntl(int fd, int cmd, ...) {
  va_list args;
  va_start(args, cmd);
  long arg = va_arg(args, long);
  va_end(args);
  return fcntl(fd, cmd, arg);
}
COVE_EXPORT int flock(int fd, int operation) {
  ShieldedFiles* files = Files();
  if (files != nullptr && files->IsProtectedFd(fd)) {
    // The runtime's own cross-process writer lock uses flock on the host file; a program's
    // flock on a protected file is granted within this process only.
    cove::runtime::Log(cove::runtime::kLogDenied, "flock(%d, %d) on a protected file: emulated", fd,
                       operation);
    return 0;
  }
  return static_cast<int>(LibcResult(KernelHere(SYS_flock, fd, operation)));
}

// ---- namespace ----
COVE_EXPORT int unlink(const char* path) {
  long r;
  ShieldedFiles* files = FilesForPath(path);
  if (files != nullptr && files->TryUnlink(AT_FDCWD, path, 0, &r)) {
    return static_cast<int>(LibcResult(r));
  }
  return static_cast<int>(LibcResult(KernelHere(SYS_unlink, path)));
}
COVE_EXPORT int unlinkat(int dirfd, const char* path, int flags) {
  long r;
  ShieldedFiles* files = FilesForPath(path, dirfd);
  if (files != nullptr && files->TryUnlink(dirfd, path, flags, &r)) {
    return static_cast<int>(LibcResult(r));
  }
  return static_cast<int>(LibcResult(KernelHere(SYS_unlinkat, dirfd, path, flags)));
}
COVE_EXPORT int rmdir(const char* path) {
  long r;
  ShieldedFiles* files = FilesForPath(path);
  if (files != nullptr && files->TryUnlink(AT_FDCWD, path, AT_REMOVEDIR, &r)) {
    return static_cast<int>(LibcResult(r));
  }
  return static_cast<int>(LibcResult(KernelHere(SYS_rmdir, path)));
}
COVE_EXPORT int renameat2(int olddirfd, const char* oldpath, int newdirfd, const char* newpath,
                          unsigned flags) {
  long r;
  ShieldedFiles* files = Files();
  if (files != nullptr && files->TryRename(olddirfd, oldpath, newdirfd, newpath, flags, &r)) {
    return static_cast<int>(LibcResult(r));
  }
  return static_cast<int>(
      LibcResult(KernelHere(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath, flags)));
}
COVE_EXPORT int renameat(int olddirfd, const char* oldpath, int newdirfd, const char* newpath) {
  return renameat2(olddirfd, oldpath, newdirfd, newpath, 0);
}
COVE_EXPORT int rename(const char* oldpath, const char* newpath) {
  return renameat2(AT_FDCWD, oldpath, AT_FDCWD, newpath, 0);
}
COVE_EXPORT int mkdirat(int dirfd, const char* path, mode_t mode) {
  long r;
  ShieldedFiles* files = Files();
  if (files != nullptr && files->TryMkdir(dirfd, path, mode, &r)) {
    return static_cast<int>(LibcResult(r));
  }
  return static_cast<int>(LibcResult(KernelHere(SYS_mkdirat, dirfd, path, mode)));
}
COVE_EXPORT int mkdir(const char* path, mode_t mode) {
  return mkdirat(AT_FDCWD, path, mode);
}

COVE_EXPORT int faccessat(int dirfd, const char* path, int mode, int flags) {
  long r;
  ShieldedFiles* files = FilesForPath(path, dirfd);
  if (files != nullptr && files->TryAccess(dirfd, path, mode, flags, &r)) {
    return static_cast<int>(LibcResult(r));
  }
  if (ShieldedFiles::MayNameDescriptor(path) || (flags & AT_EMPTY_PATH) != 0) [[unlikely]] {
    if (files = Files(); files != nullptr && files->AnyProtectedFd() &&
                         files->TryHostMetadataByPath(ShieldedFiles::HostMetadata::kAccess, dirfd,
                                                      path, flags, mode, flags & AT_EACCESS, &r)) {
      return static_cast<int>(LibcResult(r));
    }
  }
  if (flags == 0) {
    return static_cast<int>(LibcResult(Kernel(SYS_faccessat, dirfd, path, mode)));
  }
  return static_cast<int>(LibcResult(KernelHere(SYS_faccessat2, dirfd, path, mode, flags)));
}
COVE_EXPORT int access(const char* path, int mode) {
  return faccessat(AT_FDCWD, path, mode, 0);
}

// ---- metadata through a protected descriptor: applied to its host file ----
COVE_EXPORT int fchmod(int fd, mode_t mode) {
  long r;
  ShieldedFiles* files = FilesForFd(fd);
  if (files != nullptr &&
      files->TryHostMetadata(ShieldedFiles::HostMetadata::kMode, fd, nullptr, 0, mode, 0, &r)) {
    return static_cast<int>(LibcResult(r));
  }
  return static_cast<int>(LibcResult(KernelHere(SYS_fchmod, fd, mode)));
}
COVE_EXPORT int fchown(int fd, uid_t owner, gid_t group) {
  long r;
  ShieldedFiles* files = FilesForFd(fd);
  if (files != nullptr && files->TryHostMetadata(ShieldedFiles::HostMetadata::kOwner, fd, nullptr,
                                                 0, owner, group, &r)) {
    return static_cast<int>(LibcResult(r));
  }
  return static_cast<int>(LibcResult(KernelHere(SYS_fchown, fd, owner, group)));
}
COVE_EXPORT int futimens(int fd, const struct timespec times[2]) {
  long r;
  ShieldedFiles* files = FilesForFd(fd);
  if (files != nullptr && files->TryHostMetadata(ShieldedFiles::HostMetadata::kTimes, fd, nullptr,
                                                 0, reinterpret_cast<long>(times), 0, &r)) {
    return static_cast<int>(LibcResult(r));
  }
  return static_cast<int>(LibcResult(KernelHere(SYS_utimensat, fd, nullptr, times, 0)));
}
COVE_EXPORT int isatty(int fd) {
  long r;
  ShieldedFiles* files = Files();
  if (files != nullptr && files->IsTty(fd, &r)) {
    errno = ENOTTY;
    return 0;
  }
  struct termios term;
  return Kernel(SYS_ioctl, fd, TCGETS, &term) == 0 ? 1 : (errno = ENOTTY, 0);
}

// ---- extended attributes, links ----
// A protected file has no extended attributes and takes none (ShieldedFiles::TryXattr); other
// paths and descriptors pass through. Interposed so that `ls -l` (libselinux and libacl read
// two attributes of every entry) and `cp -a` do not pay the syscall trap per file.
namespace {
COVE_IN_SYSCALL_RANGE long PathXattr(char op, long nr, const char* path, long a1, long a2 = 0,
                                     long a3 = 0, long a4 = 0) {
  if (ShieldedFiles* files = FilesForPath(path); files != nullptr) [[unlikely]] {
    return ViaShield([=] {
      long r;
      return files->TryXattr(op, -1, path, &r) ? LibcResult(r)
                                               : LibcResult(Kernel(nr, path, a1, a2, a3, a4));
    });
  }
  return LibcResult(KernelHere(nr, path, a1, a2, a3, a4));
}
COVE_IN_SYSCALL_RANGE long FdXattr(char op, long nr, int fd, long a1, long a2 = 0, long a3 = 0,
                                   long a4 = 0) {
  if (ShieldedFiles* files = FilesForFd(fd); files != nullptr) [[unlikely]] {
    return ViaShield([=] {
      long r;
      return files->TryXattr(op, fd, nullptr, &r) ? LibcResult(r)
                                                  : LibcResult(Kernel(nr, fd, a1, a2, a3, a4));
    });
  }
  return LibcResult(KernelHere(nr, fd, a1, a2, a3, a4));
}
}  // namespace

COVE_EXPORT ssize_t getxattr(const char* path, const char* name, void* value, size_t size) {
  return PathXattr('g', SYS_getxattr, path, (long)name, (long)value, (long)size);
}
COVE_EXPORT ssize_t lgetxattr(const char* path, const char* name, void* value, size_t size) {
  return PathXattr('g', SYS_lgetxattr, path, (long)name, (long)value, (long)size);
}
COVE_EXPORT ssize_t fgetxattr(int fd, const char* name, void* value, size_t size) {
  return FdXattr('g', SYS_fgetxattr, fd, (long)name, (long)value, (long)size);
}
COVE_EXPORT ssize_t listxattr(const char* path, char* list, size_t size) {
  return PathXattr('l', SYS_listxattr, path, (long)list, (long)size);
}
COVE_EXPORT ssize_t llistxattr(const char* path, char* list, size_t size) {
  return PathXattr('l', SYS_llistxattr, path, (long)list, (long)size);
}
COVE_EXPORT ssize_t flistxattr(int fd, char* list, size_t size) {
  return FdXattr('l', SYS_flistxattr, fd, (long)list, (long)size);
}
COVE_EXPORT int setxattr(const char* path, const char* name, const void* value, size_t size,
                         int flags) {
  return static_cast<int>(
      PathXattr('s', SYS_setxattr, path, (long)name, (long)value, (long)size, flags));
}
COVE_EXPORT int lsetxattr(const char* path, const char* name, const void* value, size_t size,
                          int flags) {
  return static_cast<int>(
      PathXattr('s', SYS_lsetxattr, path, (long)name, (long)value, (long)size, flags));
}
COVE_EXPORT int fsetxattr(int fd, const char* name, const void* value, size_t size, int flags) {
  return static_cast<int>(
      FdXattr('s', SYS_fsetxattr, fd, (long)name, (long)value, (long)size, flags));
}
COVE_EXPORT int removexattr(const char* path, const char* name) {
  return static_cast<int>(PathXattr('r', SYS_removexattr, path, (long)name));
}
COVE_EXPORT int lremovexattr(const char* path, const char* name) {
  return static_cast<int>(PathXattr('r', SYS_lremovexattr, path, (long)name));
}
COVE_EXPORT int fremovexattr(int fd, const char* name) {
  return static_cast<int>(FdXattr('r', SYS_fremovexattr, fd, (long)name));
}
// readlink is not the shield's business (symbolic links in regions are not followed, see
// docs/runtime.md), but for "/proc/self/fd/N" naming a protected descriptor: passed through,
// only to spare `ls -l` the trap per link.
COVE_EXPORT ssize_t readlinkat(int dirfd, const char* path, char* buf, size_t size) {
  if (ShieldedFiles::MayNameDescriptor(path)) [[unlikely]] {
    long r;
    if (ShieldedFiles* files = Files();
        files != nullptr && files->TryReadlinkOfDescriptor(path, buf, size, &r)) {
      return LibcResult(r);
    }
  }
  return LibcResult(KernelHere(SYS_readlinkat, dirfd, path, buf, size));
}
COVE_EXPORT ssize_t readlink(const char* path, char* buf, size_t size) {
  return readlinkat(AT_FDCWD, path, buf, size);
}

// ---- mmap ----
COVE_EXPORT void* mmap(void* addr, size_t length, int prot, int flags, int fd, off_t offset) {
  long r;
  ShieldedFiles* files = Files();
  if (files == nullptr || !files->TryMmap(addr, length, prot, flags, fd, offset, &r)) {
    r = Kernel(SYS_mmap, addr, length, prot, flags, fd, offset);
  }
  if (r < 0 && r > -4096) {
    errno = static_cast<int>(-r);
    return MAP_FAILED;
  }
  return reinterpret_cast<void*>(r);  // NOLINT(performance-no-int-to-ptr): the kernel's address
}
COVE_EXPORT void* mmap64(void* addr, size_t length, int prot, int flags, int fd, off_t offset) {
  return mmap(addr, length, prot, flags, fd, offset);
}

// ---- copies ----
namespace {
long CopyThrough(int in_fd, off_t* in_off, int out_fd, off_t* out_off, size_t count) {
  std::vector<char> buffer(std::min<size_t>(count, 1 << 20));
  size_t done = 0;
  while (done < count) {
    size_t want = std::min(buffer.size(), count - done);
    ssize_t n =
        in_off ? pread(in_fd, buffer.data(), want, *in_off) : read(in_fd, buffer.data(), want);
    if (n < 0) return done > 0 ? static_cast<long>(done) : -1;
    if (n == 0) break;
    ssize_t w = out_off ? pwrite(out_fd, buffer.data(), static_cast<size_t>(n), *out_off)
                        : write(out_fd, buffer.data(), static_cast<size_t>(n));
    if (w < 0) return done > 0 ? static_cast<long>(done) : -1;
    if (in_off) *in_off += w;
    if (out_off) *out_off += w;
    done += static_cast<size_t>(w);
    if (w < n) break;
  }
  return static_cast<long>(done);
}
}  // namespace

COVE_EXPORT ssize_t sendfile(int out_fd, int in_fd, off_t* offset, size_t count) {
  ShieldedFiles* files = Files();
  if (files != nullptr && (files->IsProtectedFd(in_fd) || files->IsProtectedFd(out_fd))) {
    return CopyThrough(in_fd, offset, out_fd, nullptr, count);
  }
  return LibcResult(KernelHere(SYS_sendfile, out_fd, in_fd, offset, count));
}
COVE_EXPORT ssize_t sendfile64(int out_fd, int in_fd, off_t* offset, size_t count) {
  return sendfile(out_fd, in_fd, offset, count);
}
COVE_EXPORT ssize_t copy_file_range(int in_fd, off_t* in_off, int out_fd, off_t* out_off,
                                    size_t count, unsigned flags) {
  ShieldedFiles* files = Files();
  if (files != nullptr && (files->IsProtectedFd(in_fd) || files->IsProtectedFd(out_fd))) {
    return CopyThrough(in_fd, in_off, out_fd, out_off, count);
  }
  return LibcResult(KernelHere(SYS_copy_file_range, in_fd, in_off, out_fd, out_off, count, flags));
}
// NOLINTEND(bugprone-reserved-identifier, readability-identifier-naming)
