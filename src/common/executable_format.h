// What the kernel would run for an exec of a file, judged from the file's first bytes: an ELF
// program with an interpreter (the dynamic loader, which honours LD_PRELOAD and so loads the
// cove runtime), a static one (which nothing can load the runtime into: it would run
// unshielded), one of another class or machine (the loader refuses a 64-bit runtime for it and
// runs it unshielded), or a `#!` script, whose interpreter is judged in turn. `cove run` and the
// runtime's exec refuse what would run unshielded. No allocation and no syscall here: the
// runtime calls it between vfork and exec, with its own raw reads.
#pragma once

#include <fcntl.h>
#include <sys/syscall.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/env.h"

namespace cove {

enum class ExecutableKind {
  kDynamic,     // ELF of this machine with a PT_INTERP, or the dynamic loader: the runtime is
                // preloaded
  kStatic,      // ELF of this machine without PT_INTERP (static, static-pie), not the loader
  kForeign,     // ELF of another class or machine (a 32-bit program on x86-64)
  kScript,      // "#!" followed by an interpreter path (in ExecutableInfo::interpreter)
  kSecure,      // dynamic, but run in secure-execution mode (set-user-ID, set-group-ID, file
                // capabilities changing the caller's credentials): the loader ignores LD_PRELOAD
  kLoader,      // the dynamic loader itself (no PT_INTERP, DT_SONAME ld-linux*): it honours
                // LD_PRELOAD, and what it runs is the program named in its arguments
  kUnreadable,  // executable, maybe, but not readable here (mode 0111): nothing tells what
  kUnknown,     // anything else (a protected file's ciphertext, binfmt_misc formats): the kernel's
                // call
};

// The kernel reads at most this many bytes of a `#!` line (BINPRM_BUF_SIZE).
inline constexpr size_t kMaxShebangLine = 256;

struct ExecutableInfo {
  ExecutableKind kind = ExecutableKind::kUnknown;
  char interpreter[kMaxShebangLine] = {};  // kScript: the interpreter's path, NUL-terminated
  char argument[kMaxShebangLine] = {};     // kScript: its optional argument ("" when none)
};

// The file operations the classification needs, as plain functions, so that the runtime can
// pass its raw syscalls and `cove run` libc's.
struct ExecutableFileOps {
  // Reads up to `size` bytes at `offset`; the count read (less at the end of the file) or < 0.
  long (*read_at)(int fd, uint64_t offset, void* buffer, size_t size);
  // Opens `path` (an interpreter named by a `#!` line) for reading: a descriptor or -errno.
  long (*open)(const char* path);
  void (*close)(int fd);
  // Whether an exec of `fd` by this process would run in secure-execution mode (see
  // RunsInSecureMode).
  bool (*runs_in_secure_mode)(int fd);
};

// The credentials of the process that calls exec.
struct ExecCredentials {
  uint32_t ruid = 0, euid = 0, rgid = 0, egid = 0;
  bool no_new_privs = false;  // prctl(PR_SET_NO_NEW_PRIVS): set-ID bits and capabilities ignored
};

// The kernel's rule for secure-execution mode (AT_SECURE), in which the loader ignores a
// preload given by path: the new effective user or group (set by a set-user-ID file, or a
// set-group-ID and group-executable one, where the mount and no_new_privs let those bits
// count) differs from the real one, or a non-root user gains file capabilities.
// (SELinux and AppArmor transitions can set it too; they are not seen here.) no_new_privs
// keeps the IDs but not the capabilities' effect: only a nosuid mount cancels those.
bool RunsInSecureMode(uint32_t mode, uint32_t owner, uint32_t group, bool nosuid_mount,
                      bool file_capabilities, const ExecCredentials& caller);

// RunsInSecureMode for an exec of the file open as `fd` by this process, its inputs gathered
// through `sys` (the runtime's trampoline, or LibcSyscall).
bool RunsInSecureModeVia(RawSyscallFn sys, int fd);

// ExecutableFileOps over the system calls `kSyscall` makes (see RawSyscallFn).
template <RawSyscallFn kSyscall>
inline constexpr ExecutableFileOps kSyscallExecutableOps{
    [](int fd, uint64_t offset, void* buffer, size_t size) {
      return kSyscall(SYS_pread64, fd, reinterpret_cast<long>(buffer), static_cast<long>(size),
                      static_cast<long>(offset), 0, 0);
    },
    [](const char* path) {
      // O_NONBLOCK: a FIFO named as a program or interpreter must not block the check.
      return kSyscall(SYS_openat, AT_FDCWD, reinterpret_cast<long>(path),
                      O_RDONLY | O_CLOEXEC | O_NONBLOCK, 0, 0, 0);
    },
    [](int fd) { kSyscall(SYS_close, fd, 0, 0, 0, 0, 0); },
    [](int fd) { return RunsInSecureModeVia(kSyscall, fd); }};

// Classifies the file open as `fd` alone (a script's interpreter is not followed).
ExecutableInfo ClassifyExecutable(const ExecutableFileOps& ops, int fd);

// What an exec of the file `opened` (a descriptor, owned and closed here, or the -errno of its
// open: -EACCES is kUnreadable, any other kUnknown), named `path` in the exec, with arguments
// `argv` and environment `envp` (either may be null) runs in the end: a script's interpreter is
// followed (up to kMaxInterpreterDepth levels, as the kernel does, with the argument vector the
// kernel builds), and so is the program that the dynamic loader run as a program is asked to run
// (its options skipped; none with --list, --verify, --help..., in ldd's trace mode,
// LD_TRACE_LOADED_OBJECTS, or for a name without a slash, which it looks up in ld.so.cache). When
// RunsUnshielded(result), `refused` (of `size` bytes) names the file at fault when it is not the
// exec'd file itself (an interpreter, the loader's program), else it is left empty. An interpreter
// or program that cannot be opened for another reason than EACCES is the kernel's (or loader's) to
// report (kUnknown).
inline constexpr int kMaxInterpreterDepth = 5;  // exec_binprm: ELOOP beyond
ExecutableKind ResolveExecutable(const ExecutableFileOps& ops, long opened, const char* path,
                                 char* const argv[], char* const envp[], char* refused,
                                 size_t size);

// The index in `argv` of the program the dynamic loader (glibc 2.36) runs when invoked as a
// program with `argv` (argv[0] the loader), or -1 when it runs none.
int LoaderProgramIndex(char* const argv[]);

// The file execvp (and posix_spawnp) would run for `name`: itself when it contains a slash,
// else the first candidate of `path_list` (PATH; execvp's "/bin:/usr/bin" when null) for which
// `is_executable_file` holds; "" when none does. (Allocates: not for vfork children.)
std::string FindProgramInPath(const char* name, const char* path_list,
                              bool (*is_executable_file)(const char* path));

// Kinds whose exec would run the program without the runtime: refused.
inline bool RunsUnshielded(ExecutableKind kind) {
  return kind == ExecutableKind::kStatic || kind == ExecutableKind::kForeign ||
         kind == ExecutableKind::kSecure || kind == ExecutableKind::kUnreadable;
}

// A short description of a kind that exec refuses, for error messages.
const char* DescribeRefusedExecutable(ExecutableKind kind);

}  // namespace cove
