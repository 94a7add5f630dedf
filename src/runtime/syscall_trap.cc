// InstallSyscallTrap and the default set of syscalls the shield is asked about. This file runs
// in ordinary context (the runtime's constructor); the handler itself is in sigsys_handler.cc.
#include "runtime/syscall_trap.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <cstring>
#include <string>

#include "runtime/raw_syscall.h"
#include "runtime/sigsys_handler.h"
#include "runtime/syscall_patch.h"

namespace cove::runtime {

SyscallSet FileSyscalls() {
  SyscallSet set;
  for (long nr : {
           SYS_open,
           SYS_openat,
           SYS_openat2,
           SYS_creat,
           SYS_open_by_handle_at,
           SYS_name_to_handle_at,
           // descriptors
           SYS_read,
           SYS_write,
           SYS_pread64,
           SYS_pwrite64,
           SYS_readv,
           SYS_writev,
           SYS_preadv,
           SYS_pwritev,
           SYS_preadv2,
           SYS_pwritev2,
           SYS_lseek,
           SYS_close,
           SYS_close_range,
           SYS_dup,
           SYS_dup2,
           SYS_dup3,
           SYS_fcntl,
           SYS_flock,
           SYS_fstat,
           SYS_fstatfs,
           SYS_ftruncate,
           SYS_fsync,
           SYS_fdatasync,
           SYS_sync_file_range,
           SYS_syncfs,
           SYS_fallocate,
           SYS_fadvise64,
           SYS_readahead,
           SYS_getdents,
           SYS_getdents64,
           SYS_fchdir,
           SYS_fchmod,
           SYS_fchown,
           SYS_fsetxattr,
           SYS_fgetxattr,
           SYS_flistxattr,
           SYS_fremovexattr,
           SYS_mmap,
           SYS_sendfile,
           SYS_copy_file_range,
           SYS_splice,
           SYS_tee,
           SYS_vmsplice,
           SYS_ioctl,
           // paths
           SYS_stat,
           SYS_lstat,
           SYS_newfstatat,
           SYS_statx,
           SYS_statfs,
           SYS_access,
           SYS_faccessat,
           SYS_faccessat2,
           SYS_truncate,
           SYS_rename,
           SYS_renameat,
           SYS_renameat2,
           SYS_unlink,
           SYS_unlinkat,
           SYS_mkdir,
           SYS_mkdirat,
           SYS_rmdir,
           SYS_link,
           SYS_linkat,
           SYS_symlink,
           SYS_symlinkat,
           SYS_readlink,
           SYS_readlinkat,
           SYS_chmod,
           SYS_fchmodat,
           SYS_chown,
           SYS_lchown,
           SYS_fchownat,
           kSysFchmodat2,
           SYS_utime,
           SYS_utimes,
           SYS_utimensat,
           SYS_futimesat,
           SYS_mknod,
           SYS_mknodat,
           SYS_chdir,
           SYS_chroot,
           SYS_setxattr,
           SYS_lsetxattr,
           SYS_getxattr,
           SYS_lgetxattr,
           SYS_listxattr,
           SYS_llistxattr,
           SYS_removexattr,
           SYS_lremovexattr,
           SYS_inotify_add_watch,
           SYS_fanotify_mark,
           SYS_execve,
           SYS_execveat,
           // process creation: a vfork child shares the parent's memory, so the runtime
           // commits in the parent first (the re-issue stubs still run the call itself)
           SYS_vfork,
           SYS_clone,
           SYS_clone3,
           // a traced vfork child (gdb's) runs without the trap until its exec
           SYS_ptrace,
           // I/O that bypasses read/write entirely
           SYS_io_uring_setup,
           SYS_io_setup,
           SYS_io_submit,
       }) {
    set.Add(nr);
  }
  return set;
}

namespace {

Status ErrnoStatus(StatusCode code, const std::string& what, long raw) {
  return {code, what + ": " + std::strerror(static_cast<int>(-raw))};
}

// Re-registers every handler installed before the trap with the in-range restorer and without
// SIGSYS in its mask (the handler's own rt_sigaction emulation does this for later ones), and
// takes over the program's SIGSYS disposition.
Status AdoptExistingHandlers() {
  for (int sig = 1; sig <= 64; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    KernelSigaction current{};
    long raw = RawSyscall4(SYS_rt_sigaction, sig, 0, reinterpret_cast<long>(&current), 8);
    if (raw == -EINVAL) continue;  // signals the kernel does not let us query
    if (RawSyscallFailed(raw)) return ErrnoStatus(StatusCode::kIo, "rt_sigaction query", raw);
    if (ProgramDisposition* program = ProgramDispositionOf(sig); program != nullptr) {
      program->mask.store(current.mask);
      program->flags.store(current.flags);
      program->handler.store(current.handler);
      continue;
    }
    bool default_action = current.handler == reinterpret_cast<uintptr_t>(SIG_DFL);
    if (default_action && ReplacesDefaultAction(sig)) {
      current = DefaultActionReplacement();  // see SyscallTrapOptions::default_action_signals
    } else if (default_action || current.handler == reinterpret_cast<uintptr_t>(SIG_IGN)) {
      continue;
    } else {
      current = AsInstalled(current);
    }
    raw = RawSyscall4(SYS_rt_sigaction, sig, reinterpret_cast<long>(&current), 0, 8);
    if (RawSyscallFailed(raw)) return ErrnoStatus(StatusCode::kIo, "rt_sigaction re-register", raw);
  }
  return Status::Ok();
}

// Installs `handler` for `sig`. SA_NODEFER and an empty mask: the handler runs with the
// program's mask, so that signals interrupt the blocking syscalls it performs exactly as they
// would without the trap, and a syscall trapped inside a program handler that interrupted ours
// can trap again. SA_ONSTACK: Go requires it of every handler, and small thread stacks need it.
Status InstallHandler(int sig, void (*handler)(int, siginfo_t*, void*)) {
  KernelSigaction ours{reinterpret_cast<uintptr_t>(handler),
                       SA_SIGINFO | SA_NODEFER | SA_ONSTACK | SA_RESTART | kSaRestorer,
                       reinterpret_cast<uintptr_t>(cove_sigsys_restorer), 0};
  long raw = RawSyscall4(SYS_rt_sigaction, sig, reinterpret_cast<long>(&ours), 0, 8);
  if (RawSyscallFailed(raw)) {
    return ErrnoStatus(
        StatusCode::kIo,
        std::string("syscall trap: installing the ") + sigabbrev_np(sig) + " handler", raw);
  }
  return Status::Ok();
}

void Report(const SyscallTrapOptions& options, const std::string& line) {
  if (options.report != nullptr) *options.report = line;
}

}  // namespace

void DisarmSyscallTrapForCurrentThread() {
  RawSyscall5(SYS_prctl, PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_OFF, 0, 0, 0);
}

Status EnableSyscallTrapForCurrentThread() {
  if (g_trap_state.installed.load() && !g_trap_state.kernel_dispatch.load()) return Status::Ok();
  uint64_t sigsys = uint64_t{1} << (SIGSYS - 1);
  RawSyscall4(SYS_rt_sigprocmask, SIG_UNBLOCK, reinterpret_cast<long>(&sigsys), 0, 8);
  long raw = ArmSyscallTrapForCurrentThread();
  if (raw == -EINVAL) {
    return {StatusCode::kUnsupported,
            "syscall trap: this kernel has no Syscall User Dispatch (Linux >= 5.11 with "
            "CONFIG_GENERIC_ENTRY); raw syscalls cannot be shielded"};
  }
  if (RawSyscallFailed(raw)) {
    return ErrnoStatus(StatusCode::kIo, "syscall trap: prctl(PR_SET_SYSCALL_USER_DISPATCH)", raw);
  }
  return Status::Ok();
}

Status InstallSyscallTrap(const SyscallTrapOptions& options) {
  if (g_trap_state.installed.load()) return EnableSyscallTrapForCurrentThread();
  SyscallCodeRange range = RuntimeSyscallCodeRange();
  if (range.end - reinterpret_cast<uintptr_t>(cove_reissue_stubs) !=
      uintptr_t{kReissueSlots} * kReissueStubSize) {
    return Internal("syscall trap: re-issue stubs are not 32 bytes each (raw_syscall.cc)");
  }
  if (!SyscallCodeRangeIsWholeSection()) {
    return Internal(
        "syscall trap: code was linked after raw_syscall.cc's block in section "
        "cove_syscall (it must come last)");
  }
  g_trap_state.consulted = options.consulted;
  g_trap_state.owner_pid.store(RawSyscall0(SYS_getpid));
  g_trap_state.log_fd = options.log_fd;
  if (options.default_action_handler != nullptr) {
    g_trap_state.default_action_handler =
        reinterpret_cast<uintptr_t>(options.default_action_handler);
    g_trap_state.default_action_signals =
        options.default_action_signals &
        ~((uint64_t{1} << (SIGSYS - 1)) | (uint64_t{1} << (SIGKILL - 1)) |
          (uint64_t{1} << (SIGSTOP - 1)));
  }
  g_trap_state.filter.store(options.filter, std::memory_order_release);
  g_trap_state.dispatcher.store(options.dispatcher, std::memory_order_release);
  // SIGSEGV is the trap's from here if sites are to be patched (ProgramDispositionOf).
  bool patch = options.mechanism != TrapMechanism::kKernel;
  g_trap_state.patched.store(patch);
  if (Status s = AdoptExistingHandlers(); !s.ok()) return s.WithContext("syscall trap");
  if (Status s = InstallHandler(SIGSYS, &CoveSigsysHandler); !s.ok()) return s;
  if (patch) {
    if (Status s = InstallHandler(kPatchedSiteSignal, &CovePatchedSiteHandler); !s.ok()) return s;
    // A process may start with it blocked (inherited across exec): the first patched site
    // would then kill it.
    uint64_t bit = uint64_t{1} << (kPatchedSiteSignal - 1);
    RawSyscall4(SYS_rt_sigprocmask, SIG_UNBLOCK, reinterpret_cast<long>(&bit), 0, 8);
    PatchSummary summary;
    Status patched = PatchLoadedObjects(range.begin, &summary);
    if (patched.ok()) {
      Report(options, "patched " + std::to_string(summary.sites) + " system-call instructions in " +
                          std::to_string(summary.objects) + " objects (" +
                          std::to_string(summary.pages) + " pages)");
      g_trap_state.installed.store(true);
      return Status::Ok();
    }
    if (!SitesPatched()) {  // nothing changed: the signal back to the program
      ProgramDisposition& program = g_trap_state.program_patch_signal;
      KernelSigaction theirs =
          AsInstalled({program.handler.load(), program.flags.load(), 0, program.mask.load()});
      g_trap_state.patched.store(false);
      RawSyscall4(SYS_rt_sigaction, kPatchedSiteSignal, reinterpret_cast<long>(&theirs), 0, 8);
    }
    if (options.mechanism == TrapMechanism::kPatched) return patched;
    Report(options, "Syscall User Dispatch instead of patched sites: " + patched.ToString());
  }
  if (Status s = EnableSyscallTrapForCurrentThread(); !s.ok()) {
    if (SitesPatched()) {  // half-way: the patched sites still trap
      g_trap_state.installed.store(true);
      return Status::Ok();
    }
    KernelSigaction dfl{reinterpret_cast<uintptr_t>(SIG_DFL), 0, 0, 0};
    RawSyscall4(SYS_rt_sigaction, SIGSYS, reinterpret_cast<long>(&dfl), 0, 8);
    return s;
  }
  g_trap_state.kernel_dispatch.store(true);
  g_trap_state.installed.store(true);
  return Status::Ok();
}

void RemoveTrapSignals(sigset_t* set) {
  sigdelset(set, SIGSYS);
  if (g_trap_state.patched.load(std::memory_order_relaxed)) sigdelset(set, kPatchedSiteSignal);
}

bool SyscallTrapPatchesSites() {
  return SitesPatched();
}

const char* SyscallTrapMechanismName() {
  if (!g_trap_state.installed.load()) return "off";
  bool patched = SitesPatched();
  bool kernel = g_trap_state.kernel_dispatch.load();
  if (patched && kernel) return "patched sites and Syscall User Dispatch";
  return patched ? "patched sites" : "Syscall User Dispatch";
}

bool TrapLoadingThread() {
  if (!g_trap_state.installed.load() || !SitesPatched() || g_trap_state.kernel_dispatch.load()) {
    return false;
  }
  uint64_t sigsys = uint64_t{1} << (SIGSYS - 1);
  RawSyscall4(SYS_rt_sigprocmask, SIG_UNBLOCK, reinterpret_cast<long>(&sigsys), 0, 8);
  return ArmSyscallTrapForCurrentThread() == 0;
}

void UntrapLoadingThread(bool armed) {
  if (armed) DisarmSyscallTrapForCurrentThread();
}

Status CoverNewlyLoadedCode() {
  if (!g_trap_state.installed.load() || !SitesPatched()) return Status::Ok();
  return PatchNewlyLoadedObjects();
}

void ForgetUnloadedCode() {
  if (g_trap_state.installed.load() && SitesPatched()) ForgetUnloadedObjects();
}

bool SyscallTrapInstalled() {
  return g_trap_state.installed.load();
}

uint64_t TrappedSyscallCount() {
  return g_trap_state.trapped.load(std::memory_order_relaxed);
}

}  // namespace cove::runtime
