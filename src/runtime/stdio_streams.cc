// stdio and directory streams on protected regions. glibc's fopen/fdopen call the kernel directly
// (not through the interposed open/read/write), so a FILE* for a protected file is built with
// fopencookie over the runtime's own read/write/lseek/close. Unprotected paths go to the real libc
// functions.
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <cwchar>

#include "runtime/direct_syscall.h"
#include "runtime/next_symbol.h"
#include "runtime/runtime_log.h"
#include "runtime/shielded_files.h"
#include "runtime/syscall_trap.h"

#define COVE_EXPORT extern "C" __attribute__((visibility("default")))

using cove::runtime::DirectSyscall;
using cove::runtime::NextSymbol;
using cove::runtime::ShieldedFiles;

namespace {

// fopen's mode string as open(2) flags; -1 when malformed.
int ModeToFlags(const char* mode) {
  int flags;
  switch (mode[0]) {
    case 'r':
      flags = O_RDONLY;
      break;
    case 'w':
      flags = O_WRONLY | O_CREAT | O_TRUNC;
      break;
    case 'a':
      flags = O_WRONLY | O_CREAT | O_APPEND;
      break;
    default:
      return -1;
  }
  for (const char* m = mode + 1; *m != '\0' && *m != ','; ++m) {
    if (*m == '+') flags = (flags & ~O_ACCMODE) | O_RDWR;
    if (*m == 'x') flags |= O_EXCL;
    if (*m == 'e') flags |= O_CLOEXEC;
  }
  return flags;
}

ssize_t CookieRead(void* cookie, char* buf, size_t size) {
  int fd = static_cast<int>(reinterpret_cast<intptr_t>(cookie));
  long r;
  ShieldedFiles* files = ShieldedFiles::Instance();
  if (files == nullptr || !files->TryRead(fd, buf, size, &r)) r = -EBADF;
  if (r < 0) {
    errno = static_cast<int>(-r);
    return -1;
  }
  return r;
}

ssize_t CookieWrite(void* cookie, const char* buf, size_t size) {
  int fd = static_cast<int>(reinterpret_cast<intptr_t>(cookie));
  long r;
  ShieldedFiles* files = ShieldedFiles::Instance();
  if (files == nullptr || !files->TryWrite(fd, buf, size, &r)) r = -EBADF;
  if (r < 0) {
    errno = static_cast<int>(-r);
    return 0;  // fopencookie: 0 reports a write error
  }
  return r;
}

int CookieSeek(void* cookie, off64_t* offset, int whence) {
  int fd = static_cast<int>(reinterpret_cast<intptr_t>(cookie));
  long r;
  ShieldedFiles* files = ShieldedFiles::Instance();
  if (files == nullptr || !files->TryLseek(fd, *offset, whence, &r)) r = -EBADF;
  if (r < 0) {
    errno = static_cast<int>(-r);
    return -1;
  }
  *offset = r;
  return 0;
}

int CookieClose(void* cookie) {
  int fd = static_cast<int>(reinterpret_cast<intptr_t>(cookie));
  long r;
  ShieldedFiles* files = ShieldedFiles::Instance();
  if (files == nullptr || (!files->TryClose(fd, &r) && !files->TryCloseRuntimeFd(fd, &r))) {
    r = DirectSyscall(SYS_close, fd);
  }
  if (r < 0) {
    errno = static_cast<int>(-r);
    return -1;
  }
  return 0;
}

FILE* StreamForProtectedFd(int fd, const char* mode) {
  cookie_io_functions_t functions{CookieRead, CookieWrite, CookieSeek, CookieClose};
  FILE* stream = fopencookie(reinterpret_cast<void*>(static_cast<intptr_t>(fd)), mode, functions);
  // fileno() must name the protected descriptor (programs fstat it, e.g. sort). A cookie
  // stream's I/O goes through its cookie functions only, never through _fileno.
  if (stream != nullptr) stream->_fileno = fd;
  return stream;
}

FILE* OpenStream(const char* path, const char* mode, const char* real_name) {
  using FopenFn = FILE* (*)(const char*, const char*);
  ShieldedFiles* files = ShieldedFiles::Instance();
  int flags = mode != nullptr ? ModeToFlags(mode) : -1;
  long fd;
  if (files == nullptr || flags < 0 || !files->TryOpen(AT_FDCWD, path, flags, 0666, &fd)) {
    static FopenFn real = NextSymbol<FopenFn>(real_name);
    return real(path, mode);
  }
  if (fd < 0) {
    errno = static_cast<int>(-fd);
    return nullptr;
  }
  if (!files->IsProtectedFd(static_cast<int>(fd))) {  // a translated but unprotected path
    using FdopenFn = FILE* (*)(int, const char*);
    static FdopenFn real_fdopen = NextSymbol<FdopenFn>("fdopen");
    return real_fdopen(static_cast<int>(fd), mode);
  }
  FILE* stream = StreamForProtectedFd(static_cast<int>(fd), mode);
  if (stream == nullptr) {
    long closed;
    files->TryClose(static_cast<int>(fd), &closed);
  }
  return stream;
}

}  // namespace

COVE_EXPORT FILE* fopen(const char* path, const char* mode) {
  return OpenStream(path, mode, "fopen");
}
COVE_EXPORT FILE* fopen64(const char* path, const char* mode) {
  return OpenStream(path, mode, "fopen64");
}

COVE_EXPORT FILE* fdopen(int fd, const char* mode) {
  ShieldedFiles* files = ShieldedFiles::Instance();
  if (files != nullptr && files->IsProtectedFd(fd)) return StreamForProtectedFd(fd, mode);
  using FdopenFn = FILE* (*)(int, const char*);
  static FdopenFn real = NextSymbol<FdopenFn>("fdopen");
  return real(fd, mode);
}

namespace {
FILE* ReopenStream(const char* path, const char* mode, FILE* stream, const char* real_name) {
  ShieldedFiles* files = ShieldedFiles::Instance();
  std::string abs;
  if (files != nullptr && path != nullptr && files->Resolve(AT_FDCWD, path, &abs) &&
      files->IsProtectedPath(abs) && !cove::runtime::SyscallTrapInstalled()) {
    // The FILE* must stay the same object, which fopencookie cannot provide; with the syscall
    // trap, glibc's own freopen works instead: its internal open/read/write/dup3 syscalls on
    // the protected descriptor are trapped and served by the shield.
    cove::runtime::Log(cove::runtime::kLogDenied,
                       "freopen %s: not supported on protected files without the syscall trap "
                       "(ENOTSUP)",
                       abs.c_str());
    errno = ENOTSUP;
    return nullptr;
  }
  using FreopenFn = FILE* (*)(const char*, const char*, FILE*);
  FreopenFn real = NextSymbol<FreopenFn>(real_name);
  return real(path, mode, stream);
}
}  // namespace

COVE_EXPORT FILE* freopen(const char* path, const char* mode, FILE* stream) {
  return ReopenStream(path, mode, stream, "freopen");
}
COVE_EXPORT FILE* freopen64(const char* path, const char* mode, FILE* stream) {
  return ReopenStream(path, mode, stream, "freopen64");
}

// Wide-character input on a protected file's stream. glibc makes fopencookie's streams
// byte-oriented with no wide buffers: fwprintf and fputws fail cleanly with EOF, but fgetwc
// and fgetws use the wide buffers unchecked and crashed the program. On such a stream (byte-
// oriented, on a protected descriptor) they fail instead, with EBADF and a log line.
namespace {
bool RefusedWide(FILE* stream, const char* call) {
  ShieldedFiles* files = ShieldedFiles::Instance();
  if (stream == nullptr || files == nullptr || !files->IsProtectedFd(stream->_fileno) ||
      fwide(stream, 0) >= 0) {
    return false;
  }
  cove::runtime::Log(cove::runtime::kLogDenied,
                     "%s on a protected file's stream: wide-character stdio is not supported "
                     "(EBADF); read bytes (fgets, fread) and convert",
                     call);
  errno = EBADF;
  return true;
}
}  // namespace

// The wide getters of one stream argument, each refused as above or handed to libc's.
#define COVE_WIDE_GETTER(name)                               \
  COVE_EXPORT wint_t name(FILE* stream) {                    \
    static auto real = NextSymbol<wint_t (*)(FILE*)>(#name); \
    return RefusedWide(stream, #name) ? WEOF : real(stream); \
  }
COVE_WIDE_GETTER(fgetwc)
COVE_WIDE_GETTER(getwc)
COVE_WIDE_GETTER(fgetwc_unlocked)
COVE_WIDE_GETTER(getwc_unlocked)
#undef COVE_WIDE_GETTER
COVE_EXPORT wchar_t* fgetws(wchar_t* out, int size, FILE* stream) {
  static auto real = NextSymbol<wchar_t* (*)(wchar_t*, int, FILE*)>("fgetws");
  return RefusedWide(stream, "fgetws") ? nullptr : real(out, size, stream);
}
COVE_EXPORT wchar_t* fgetws_unlocked(wchar_t* out, int size, FILE* stream) {
  static auto real = NextSymbol<wchar_t* (*)(wchar_t*, int, FILE*)>("fgetws_unlocked");
  return RefusedWide(stream, "fgetws_unlocked") ? nullptr : real(out, size, stream);
}
COVE_EXPORT wint_t ungetwc(wint_t c, FILE* stream) {
  static auto real = NextSymbol<wint_t (*)(wint_t, FILE*)>("ungetwc");
  return RefusedWide(stream, "ungetwc") ? WEOF : real(c, stream);
}

// Directory streams: only region kernel-path translation and strict mode concern them
// (directories themselves are not protected).
COVE_EXPORT DIR* opendir(const char* path) {
  using OpendirFn = DIR* (*)(const char*);
  static OpendirFn real = NextSymbol<OpendirFn>("opendir");
  ShieldedFiles* files = ShieldedFiles::Instance();
  std::string host;
  long r = 0;
  if (files != nullptr && files->TryPathCall(AT_FDCWD, path, "opendir", &host, &r)) {
    if (r < 0) {
      errno = static_cast<int>(-r);
      return nullptr;
    }
    return real(host.c_str());
  }
  return real(path);
}
