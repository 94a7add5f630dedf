// DispatchTrappedSyscall: trapped raw syscalls (see syscall_dispatch.h) routed to the same
// ShieldedFiles operations as the interposed libc functions; anything that does not concern a
// protected descriptor or path returns false and runs unchanged.
#include "runtime/syscall_dispatch.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <linux/kcmp.h>
#include <linux/openat2.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include <atomic>
#include <string>

#include "runtime/direct_syscall.h"
#include "runtime/exec_policy.h"
#include "runtime/raw_syscall_env.h"
#include "runtime/runtime_init.h"
#include "runtime/shielded_files.h"
#include "runtime/syscall_trap.h"

namespace cove::runtime {

namespace {

// Whether this process runs on its parent's memory (a vfork or CLONE_VM child), as the kernel
// says (kcmp); false when it cannot tell. InBorrowedMemory alone is also true in a child of a
// raw fork (no atfork handler) of a process that once made a vfork child.
bool OnParentsMemory() {
  long self = DirectSyscall(SYS_getpid);
  long parent = DirectSyscall(SYS_getppid);
  return DirectSyscall(SYS_kcmp, self, parent, KCMP_VM, 0, 0) == 0;
}

// The vfork child whose PTRACE_TRACEME waits for its exec (by pid: the variable is in the
// memory it shares with its parent, which must not act on it).
std::atomic<long> g_deferred_traceme_pid{0};

}  // namespace

bool DispatchTrappedSyscall(long nr, long args[6], long* result) {
  ShieldedFiles* files = ShieldedFiles::Instance();
  if (files == nullptr || ShieldScope::Inside()) return false;
  auto ptr = [&](int i) { return reinterpret_cast<void*>(args[i]); };
  auto str = [&](int i) { return reinterpret_cast<const char*>(args[i]); };
  using What = ShieldedFiles::HostMetadata;
  // A metadata call by path (argument `path_arg`) through a protected descriptor's link or, with
  // AT_EMPTY_PATH, the descriptor `dirfd` (a null path is the kernel's EFAULT to give).
  auto by_link = [&](What what, int dirfd, int path_arg, int flags, long a, long b) {
    return files->TryHostMetadataByPath(what, dirfd, str(path_arg), flags, a, b, result);
  };
  auto fd = [&](int i) { return static_cast<int>(args[i]); };
  switch (nr) {
    case SYS_open:
      return files->TryOpen(AT_FDCWD, str(0), fd(1), static_cast<mode_t>(args[2]), result);
    case SYS_creat:
      return files->TryOpen(AT_FDCWD, str(0), O_CREAT | O_WRONLY | O_TRUNC,
                            static_cast<mode_t>(args[1]), result);
    case SYS_openat:
      return files->TryOpen(fd(0), str(1), fd(2), static_cast<mode_t>(args[3]), result);
    case SYS_openat2:  // no libc wrapper: only ever reached through the trap
      return files->TryOpenat2(fd(0), str(1), static_cast<const struct open_how*>(ptr(2)),
                               static_cast<size_t>(args[3]), result);
    case SYS_link:  // no interposed wrapper: libc's link/linkat come through the trap
      return files->TryLink(AT_FDCWD, str(0), AT_FDCWD, str(1), 0, result);
    case SYS_linkat:
      return files->TryLink(fd(0), str(1), fd(2), str(3), fd(4), result);
    case SYS_close:
      return files->TryClose(fd(0), result) || files->TryCloseRuntimeFd(fd(0), result);
    // Metadata through a protected descriptor goes to its host file, as the interposed fchmod,
    // fchown and futimens do (Go issues the raw syscalls; glibc's futimes and perl's utime on
    // a handle reach utimensat with a null path); syncfs commits the file, as fsync.
    case SYS_fchmod:
      return files->TryHostMetadata(What::kMode, fd(0), nullptr, 0, args[1], 0, result);
    case SYS_fchown:
      return files->TryHostMetadata(What::kOwner, fd(0), nullptr, 0, args[1], args[2], result);
    case SYS_fstatfs:
      return files->TryHostMetadata(What::kFileSystem, fd(0), nullptr, 0, args[1], 0, result);
    // The same through a descriptor link ("/proc/self/fd/N", "/dev/fd/N") or, with
    // AT_EMPTY_PATH, the descriptor itself (the kernel would change the placeholder behind it).
    case SYS_utimensat:
      if (args[1] == 0) {  // the descriptor (glibc's futimes, perl's utime); with flags: EINVAL
        return args[3] == 0 &&
               files->TryHostMetadata(What::kTimes, fd(0), nullptr, 0, args[2], 0, result);
      }
      return by_link(What::kTimes, fd(0), 1, fd(3), args[2], 0);
    case SYS_chmod:
      return by_link(What::kMode, AT_FDCWD, 0, 0, args[1], 0);
    case SYS_fchmodat:
      return by_link(What::kMode, fd(0), 1, 0, args[2], 0);
    case kSysFchmodat2:  // glibc 2.39's fchmodat with flags
      return by_link(What::kMode, fd(0), 1, fd(3), args[2], 0);
    case SYS_chown:
      return by_link(What::kOwner, AT_FDCWD, 0, 0, args[1], args[2]);
    case SYS_fchownat:
      return by_link(What::kOwner, fd(0), 1, fd(4), args[2], args[3]);
    case SYS_statfs:
      return by_link(What::kFileSystem, AT_FDCWD, 0, 0, args[1], 0);
    case SYS_access:
      return by_link(What::kAccess, AT_FDCWD, 0, 0, args[1], 0);
    case SYS_faccessat:
      return by_link(What::kAccess, fd(0), 1, 0, args[2], 0);
    case SYS_faccessat2:
      return by_link(What::kAccess, fd(0), 1, fd(3), args[2], fd(3) & AT_EACCESS);
    case SYS_syncfs:
      return files->TryFsync(fd(0), result);
    case SYS_getdents64:  // readdir
    case SYS_getdents:    // the old one (struct linux_dirent): only ever a raw syscall
      return files->TryGetdents(nr, fd(0), ptr(1), static_cast<size_t>(args[2]), result);
    case SYS_close_range:  // glibc's closefrom
      *result = files->CloseRange(static_cast<unsigned>(args[0]), static_cast<unsigned>(args[1]),
                                  static_cast<unsigned>(args[2]));
      return true;
    case SYS_read:
      return files->TryRead(fd(0), ptr(1), static_cast<size_t>(args[2]), result);
    case SYS_write:
      return files->TryWrite(fd(0), ptr(1), static_cast<size_t>(args[2]), result);
    case SYS_pread64:
      return files->TryPread(fd(0), ptr(1), static_cast<size_t>(args[2]), args[3], result);
    case SYS_pwrite64:
      return files->TryPwrite(fd(0), ptr(1), static_cast<size_t>(args[2]), args[3], result);
    case SYS_readv:
      return files->TryReadv(fd(0), static_cast<const iovec*>(ptr(1)), fd(2), -1, result);
    case SYS_writev:
      return files->TryWritev(fd(0), static_cast<const iovec*>(ptr(1)), fd(2), -1, result);
    case SYS_preadv:
      return files->TryReadv(fd(0), static_cast<const iovec*>(ptr(1)), fd(2), args[3], result);
    case SYS_pwritev:
      return files->TryWritev(fd(0), static_cast<const iovec*>(ptr(1)), fd(2), args[3], result);
    case SYS_preadv2:  // glibc's preadv64v2 (Python's os.preadv)
      return files->TryReadv(fd(0), static_cast<const iovec*>(ptr(1)), fd(2), args[3], result,
                             fd(5));
    case SYS_pwritev2:
      return files->TryWritev(fd(0), static_cast<const iovec*>(ptr(1)), fd(2), args[3], result,
                              fd(5));
    case SYS_lseek:
      return files->TryLseek(fd(0), args[1], fd(2), result);
    case SYS_fstat:
      return files->TryFstat(fd(0), static_cast<struct stat*>(ptr(1)), result);
    case SYS_stat:
      return files->TryFstatat(AT_FDCWD, str(0), static_cast<struct stat*>(ptr(1)), 0, result);
    case SYS_lstat:
      return files->TryFstatat(AT_FDCWD, str(0), static_cast<struct stat*>(ptr(1)),
                               AT_SYMLINK_NOFOLLOW, result);
    case SYS_newfstatat:
      return files->TryFstatat(fd(0), str(1), static_cast<struct stat*>(ptr(2)), fd(3), result);
    case SYS_statx:
      return files->TryStatx(fd(0), str(1), fd(2), static_cast<unsigned>(args[3]),
                             static_cast<struct statx*>(ptr(4)), result);
    case SYS_readlink:  // glibc's realpath of "/dev/fd/N"
      return files->TryReadlinkOfDescriptor(str(0), static_cast<char*>(ptr(1)),
                                            static_cast<size_t>(args[2]), result);
    case SYS_readlinkat:
      return files->TryReadlinkOfDescriptor(str(1), static_cast<char*>(ptr(2)),
                                            static_cast<size_t>(args[3]), result);
    case SYS_ftruncate:
      return files->TryFtruncate(fd(0), args[1], result);
    case SYS_truncate:
      return files->TryTruncate(str(0), args[1], result);
    case SYS_fsync:
    case SYS_fdatasync:
      return files->TryFsync(fd(0), result);
    case SYS_fallocate:
      // Host space cannot be reserved for chunks sealed only when written. EOPNOTSUPP is what
      // file systems without fallocate answer, and glibc's posix_fallocate then writes the
      // range itself, which the shield stores.
      return files->TryFixedAnswer(fd(0), "fallocate", -EOPNOTSUPP, result);
    case SYS_flistxattr:
      return files->TryXattr('l', fd(0), nullptr, result);
    case SYS_fgetxattr:
      return files->TryXattr('g', fd(0), nullptr, result);
    case SYS_fsetxattr:
      return files->TryXattr('s', fd(0), nullptr, result);
    case SYS_fremovexattr:
      return files->TryXattr('r', fd(0), nullptr, result);
    case SYS_listxattr:
    case SYS_llistxattr:
      return files->TryXattr('l', -1, str(0), result);
    case SYS_getxattr:
    case SYS_lgetxattr:
      return files->TryXattr('g', -1, str(0), result);
    case SYS_setxattr:
    case SYS_lsetxattr:
      return files->TryXattr('s', -1, str(0), result);
    case SYS_removexattr:
    case SYS_lremovexattr:
      return files->TryXattr('r', -1, str(0), result);
    case SYS_ioctl: {  // glibc's ioctl wrapper (isatty is interposed on its own)
      // A protected file is no device and shares no extents with another file: the answers
      // of a file system without reflinks (cp --reflink=always: "Operation not supported").
      auto request = static_cast<unsigned long>(args[1]);
      bool sharing = request == FICLONE || request == FICLONERANGE || request == FIDEDUPERANGE;
      return files->TryFixedAnswer(fd(0), "ioctl", sharing ? -EOPNOTSUPP : -ENOTTY, result);
    }
    case SYS_fadvise64:  // posix_fadvise
    case SYS_readahead:
    case SYS_sync_file_range:
      // Hints about the host file's page cache, which the shield's reads and commits manage
      // (durability comes from fsync/fdatasync, which commit): done, as no-ops.
      return files->TryFixedAnswer(fd(0), "a page-cache hint", 0, result);
    case SYS_dup:
      return files->TryDup(fd(0), -1, 0, result);
    case SYS_dup2:
      return files->TryDup(fd(0), fd(1), 0, result);
    case SYS_dup3:
      return files->TryDup(fd(0), fd(1), fd(2), result);
    case SYS_fcntl:
      return files->TryFcntl(fd(0), fd(1), args[2], result);
    case SYS_unlink:
      return files->TryUnlink(AT_FDCWD, str(0), 0, result);
    case SYS_unlinkat:
      return files->TryUnlink(fd(0), str(1), fd(2), result);
    case SYS_rmdir:
      return files->TryUnlink(AT_FDCWD, str(0), AT_REMOVEDIR, result);
    case SYS_rename:
      return files->TryRename(AT_FDCWD, str(0), AT_FDCWD, str(1), 0, result);
    case SYS_renameat:
      return files->TryRename(fd(0), str(1), fd(2), str(3), 0, result);
    case SYS_renameat2:
      return files->TryRename(fd(0), str(1), fd(2), str(3), static_cast<unsigned>(args[4]), result);
    case SYS_mkdir:
      return files->TryMkdir(AT_FDCWD, str(0), static_cast<mode_t>(args[1]), result);
    case SYS_mkdirat:
      return files->TryMkdir(fd(0), str(1), static_cast<mode_t>(args[2]), result);
    case SYS_mmap:
      return files->TryMmap(ptr(0), static_cast<size_t>(args[1]), fd(2), fd(3), fd(4), args[5],
                            result);
    case SYS_vfork:
      CommitBeforeChild();  // in the parent, before the child borrows its memory
      files->ExpectChildOnOurMemory();
      return false;
    case SYS_clone:
    case SYS_clone3: {
      // clone3's flags are the first field of its struct clone_args.
      unsigned long flags = nr == SYS_clone ? static_cast<unsigned long>(args[0])
                                            : *static_cast<const unsigned long*>(ptr(0));
      if ((flags & CLONE_VFORK) != 0 && (flags & CLONE_THREAD) == 0) (void)files->CommitAll();
      // A process; after fork's prepare handler did it, not again (ForkPrepared): a deadlock
      // with a thread that holds the runtime's lock and waits for the allocator's.
      if ((flags & CLONE_THREAD) == 0 && !ForkPrepared()) files->ShareOffsetsWithChild();
      if ((flags & CLONE_VM) != 0 && (flags & CLONE_THREAD) == 0) files->ExpectChildOnOurMemory();
      return false;
    }
    case SYS_ptrace:
      // gdb's vfork child asks to be traced, then execs; its tracer waits for the vfork to
      // end, so the SIGSYS of a syscall trapped in between (resetting signal handlers) stopped
      // the child for good, and gdb with it. Such a child, on its parent's memory, only ever
      // execs or exits, and its tracer may read all of its memory anyway: the trap is turned
      // off in it (the program it execs arms its own).
      // With patched sites the trap cannot be turned off for the child alone (it runs on its
      // parent's code): the child is made traced right before its exec instead, and its
      // trapped calls until then do not stop it.
      if (args[0] == PTRACE_TRACEME && files->InBorrowedMemory() && OnParentsMemory()) {
        if (SyscallTrapPatchesSites()) {
          g_deferred_traceme_pid.store(DirectSyscall(SYS_getpid));
          *result = 0;
          return true;
        }
        *result = DirectSyscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0);
        if (*result == 0) DisarmSyscallTrapForCurrentThread();
        return true;
      }
      return false;
    case SYS_execve:
    case SYS_execveat: {
      // system() and posix_spawn's child (and vfork children such as Python's subprocess)
      // exec through the raw syscall, not the interposed execve: the new image loads the fspf
      // from disk, so staged and buffered files must be committed first, and it is given the
      // environment the interposed execve gives (the protected descriptors it inherits, the
      // current tag). A program that would run unshielded is refused first (exec_policy.h).
      auto argv = [&](int i) { return reinterpret_cast<char* const*>(args[i]); };
      // A file of a protected region runs through `cove exec-protected` (exec_policy.h).
      if (nr == SYS_execve) {
        if (char* const* helper = ProtectedExecArgv(AT_FDCWD, str(0), argv(1))) {
          args[0] = reinterpret_cast<long>(helper[0]);
          args[1] = reinterpret_cast<long>(helper);
        }
      } else if ((fd(4) & AT_EMPTY_PATH) == 0) {
        if (char* const* helper = ProtectedExecArgv(fd(0), str(1), argv(2))) {
          args[0] = AT_FDCWD;
          args[1] = reinterpret_cast<long>(helper[0]);
          args[2] = reinterpret_cast<long>(helper);
          args[4] = 0;
        }
      }
      if (nr == SYS_execveat && (fd(4) & AT_EMPTY_PATH) != 0)
        files->NameHostFileOf(fd(0));  // fexecve
      long refused = nr == SYS_execve
                         ? RefuseUnshieldedExec(AT_FDCWD, str(0), 0, argv(1), argv(2))
                         : RefuseUnshieldedExec(fd(0), str(1), fd(4), argv(2), argv(3));
      if (refused != 0) {
        *result = refused;
        return true;
      }
      (void)files->CommitBeforeExec();
      PerformDeferredTraceme();
      int envp = nr == SYS_execve ? 2 : 3;
      args[envp] =
          reinterpret_cast<long>(EnvironmentForExec(reinterpret_cast<char* const*>(args[envp])));
      return false;
    }
    default:
      // Any other call on a protected descriptor would reach the O_PATH descriptor and fail
      // with EBADF, which is the safe answer; path calls outside regions are not ours.
      return false;
  }
}

void PerformDeferredTraceme() {
  long pid = g_deferred_traceme_pid.load();
  if (pid != 0 && pid == DirectSyscall(SYS_getpid)) {
    g_deferred_traceme_pid.store(0);
    DirectSyscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0);
  }
}

bool TrappedSyscallMayConcernShield(long nr, const long args[6]) {
  ShieldedFiles* files = ShieldedFiles::Instance();
  if (files == nullptr) return false;
  switch (nr) {
    // Each of these begins, in DispatchTrappedSyscall, with the descriptor table's lookup of
    // its first argument and returns false when it finds nothing.
    case SYS_read:
    case SYS_write:
    case SYS_pread64:
    case SYS_pwrite64:
    case SYS_readv:
    case SYS_writev:
    case SYS_preadv:
    case SYS_pwritev:
    case SYS_lseek:
    case SYS_fstat:
    case SYS_ftruncate:
    case SYS_fsync:
    case SYS_fdatasync:
    case SYS_fallocate:
    case SYS_ioctl:
    case SYS_fadvise64:
    case SYS_readahead:
    case SYS_sync_file_range:
    case SYS_fchmod:
    case SYS_fchown:
    case SYS_syncfs:
    case SYS_flistxattr:
    case SYS_fgetxattr:
    case SYS_fsetxattr:
    case SYS_fremovexattr:
      return files->IsProtectedFd(static_cast<int>(args[0]));
    case SYS_close:
      return files->IsProtectedFd(static_cast<int>(args[0])) ||
             IsRuntimeDescriptor(static_cast<int>(args[0]));
    case SYS_mmap:  // malloc's anonymous mappings
      return (args[3] & MAP_ANONYMOUS) == 0 && files->IsProtectedFd(static_cast<int>(args[4]));
    default:
      return true;
  }
}

}  // namespace cove::runtime
