// The SIGSYS handler of the syscall trap and the per-thread arming it relies on.
// SIGNAL CONTEXT: everything here runs inside a signal handler, or in a child between clone and
// its return to the program. It may not allocate, lock, log through libc, touch errno (except to
// restore it around the dispatcher) or issue a syscall other than through raw_syscall.h.
#include "runtime/sigsys_handler.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/kcmp.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>

#include <cstring>

#include "runtime/raw_syscall.h"
#include "runtime/syscall_patch.h"

#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH 59
#endif
#ifndef PR_SYS_DISPATCH_ON
#define PR_SYS_DISPATCH_ON 1
#endif
#ifndef SYS_USER_DISPATCH
#define SYS_USER_DISPATCH 2
#endif

namespace cove::runtime {

TrapState g_trap_state;

namespace {

constexpr char kSelectorAllow = 0;  // SYSCALL_DISPATCH_FILTER_ALLOW
constexpr char kSelectorBlock = 1;  // SYSCALL_DISPATCH_FILTER_BLOCK
constexpr uint64_t kSigsysBit = uint64_t{1} << (SIGSYS - 1);
constexpr uint64_t kPatchSignalBit = uint64_t{1} << (kPatchedSiteSignal - 1);
constexpr uint64_t kKillStopBits = (uint64_t{1} << (SIGKILL - 1)) | (uint64_t{1} << (SIGSTOP - 1));

// The byte the kernel reads at every syscall of this thread: "block" sends the syscall to SIGSYS.
// initial-exec: TLS access without calls into the dynamic loader (signal-safe; the runtime is
// preloaded, so its TLS is static).
__attribute__((tls_model("initial-exec"))) thread_local volatile char t_selector = kSelectorBlock;
// Set while the dispatcher runs on this thread: with patched sites its own libc calls trap
// again, and are then performed without it, as "allow" does with dispatch.
__attribute__((tls_model("initial-exec"))) thread_local volatile bool t_in_dispatcher = false;

void Log(const char* message) {
  int fd = g_trap_state.log_fd;
  if (fd >= 0) RawSyscall3(SYS_write, fd, reinterpret_cast<long>(message), strlen(message));
}

uint64_t* KernelMaskOf(ucontext_t* uc) {
  // The kernel's 64-bit signal mask is the first word of glibc's 1024-bit sigset_t.
  return reinterpret_cast<uint64_t*>(&uc->uc_sigmask);
}

// rt_sigprocmask, applied to the mask that rt_sigreturn will restore (the handler runs with the
// interrupted mask since it is installed with SA_NODEFER and an empty sa_mask). SIGSYS stays
// unblocked: a trapped syscall with SIGSYS blocked would kill the process.
long EmulateSigprocmask(ucontext_t* uc, const long a[6]) {
  if (a[3] != 8) return -EINVAL;
  uint64_t* mask = KernelMaskOf(uc);
  uint64_t old = *mask;
  if (a[1] != 0) {
    uint64_t set = *reinterpret_cast<const uint64_t*>(a[1]);
    uint64_t next;
    switch (a[0]) {
      case SIG_BLOCK:
        next = old | set;
        break;
      case SIG_UNBLOCK:
        next = old & ~set;
        break;
      case SIG_SETMASK:
        next = set;
        break;
      default:
        return -EINVAL;
    }
    *mask = next & ~(TrapSignalBits() | kKillStopBits);
  }
  if (a[2] != 0) *reinterpret_cast<uint64_t*>(a[2]) = old;
  return 0;
}

// rt_sigaction of a signal whose SIG_DFL the runtime replaces: the program asks for SIG_DFL and
// gets the runtime's handler, and is told SIG_DFL whenever that handler is installed.
long EmulateDefaultActionSigaction(int sig, const KernelSigaction* act, KernelSigaction* oact) {
  KernelSigaction install{};
  if (act != nullptr) {
    install = act->handler == reinterpret_cast<uintptr_t>(SIG_DFL) ? DefaultActionReplacement()
                                                                   : AsInstalled(*act);
  }
  KernelSigaction old{};
  long r = RawSyscall4(SYS_rt_sigaction, sig, act != nullptr ? reinterpret_cast<long>(&install) : 0,
                       reinterpret_cast<long>(&old), 8);
  if (r == 0 && oact != nullptr) {
    if (old.handler == g_trap_state.default_action_handler) old = KernelSigaction{};
    *oact = old;
  }
  return r;
}

// Whether this process owns g_trap_state's dispositions: false in a vfork child, which shares
// them with its parent (the kernel gives it a table of its own). A fork child, on its own copy,
// becomes their owner.
bool OwnsDispositions() {
  long self = RawSyscall0(SYS_getpid);
  long owner = g_trap_state.owner_pid.load();
  if (self == owner) return true;
  if (RawSyscall5(SYS_kcmp, self, owner, KCMP_VM, 0, 0) == 0) return false;
  g_trap_state.owner_pid.store(self);
  return true;
}

// rt_sigaction: the trap's signals stay ours (the program's wish is remembered and chained to
// for such signals not raised by the trap); other handlers get our in-range restorer and never
// block the trap's signals.
long EmulateSigaction(const long a[6]) {
  if (a[3] != 8) return RawSyscall4(SYS_rt_sigaction, a[0], a[1], a[2], a[3]);
  auto* act = reinterpret_cast<const KernelSigaction*>(a[1]);
  auto* oact = reinterpret_cast<KernelSigaction*>(a[2]);
  if (ProgramDisposition* program = ProgramDispositionOf(a[0]); program != nullptr) {
    KernelSigaction old{program->handler.load(), program->flags.load(),
                        reinterpret_cast<uintptr_t>(cove_sigsys_restorer), program->mask.load()};
    if (act != nullptr && OwnsDispositions()) {
      program->mask.store(act->mask);
      program->flags.store(act->flags);
      program->handler.store(act->handler);
    }
    if (oact != nullptr) *oact = old;
    return 0;
  }
  if (ReplacesDefaultAction(a[0])) {
    return EmulateDefaultActionSigaction(static_cast<int>(a[0]), act, oact);
  }
  if (act == nullptr) return RawSyscall4(SYS_rt_sigaction, a[0], 0, a[2], 8);
  KernelSigaction copy = AsInstalled(*act);
  return RawSyscall4(SYS_rt_sigaction, a[0], reinterpret_cast<long>(&copy), a[2], 8);
}

// Syscalls that replace the signal mask while they wait: a handler running during the wait
// must not have the trap's signals blocked. Rewrites `a` to point at copies (in the caller's
// frame) without them.
void UnblockTrapSignalsDuringWait(long nr, long a[6], uint64_t* mask_copy, long* pselect_copy) {
  auto strip = [&](int index) {
    if (a[index] == 0) return;
    *mask_copy = *reinterpret_cast<const uint64_t*>(a[index]) & ~TrapSignalBits();
    a[index] = reinterpret_cast<long>(mask_copy);
  };
  switch (nr) {
    case SYS_rt_sigsuspend:
      strip(0);
      break;
    case SYS_ppoll:
      strip(3);
      break;
    case SYS_epoll_pwait:
      strip(4);
      break;
#ifdef SYS_epoll_pwait2
    case SYS_epoll_pwait2:
      strip(4);
      break;
#endif
    case SYS_pselect6:
      if (a[5] != 0) {  // a[5] points at struct { const sigset_t* set; size_t size; }
        const long* data = reinterpret_cast<const long*>(a[5]);
        pselect_copy[0] = data[0];
        pselect_copy[1] = data[1];
        if (data[0] != 0) {
          *mask_copy = *reinterpret_cast<const uint64_t*>(data[0]) & ~TrapSignalBits();
          pselect_copy[0] = reinterpret_cast<long>(mask_copy);
        }
        a[5] = reinterpret_cast<long>(pselect_copy);
      }
      break;
    default:
      break;
  }
}

// Re-issues the trapped clone-family syscall from stub `slot` after sigreturn (see
// raw_syscall.cc). Returns false when all slots hold other return addresses.
bool RedirectToReissueStub(greg_t* regs) {
  uintptr_t target = static_cast<uintptr_t>(regs[REG_RIP]);
  for (int i = 0; i < kReissueSlots; ++i) {
    uintptr_t seen = __atomic_load_n(&cove_reissue_targets[i], __ATOMIC_ACQUIRE);
    if (seen == 0) {
      uintptr_t expected = 0;
      if (__atomic_compare_exchange_n(&cove_reissue_targets[i], &expected, target, false,
                                      __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        seen = target;
      } else {
        seen = expected;
      }
    }
    if (seen == target) {
      regs[REG_RIP] = reinterpret_cast<greg_t>(cove_reissue_stubs + i * kReissueStubSize);
      return true;
    }
  }
  return false;
}

// A SIGSYS or SIGSEGV the trap did not raise (kill, tgkill, the program's own seccomp filter, a
// bad access): give it to the handler the program asked for, or to the default action (for a
// SIGSEGV raised by an instruction, returning re-executes it and the kernel, with SIG_DFL now
// installed, ends the process as it would have without the runtime).
void ChainToProgram(int sig, siginfo_t* info, void* context) {
  ProgramDisposition& program = *ProgramDispositionOf(sig);
  uintptr_t handler = program.handler.load();
  bool from_instruction = sig == kPatchedSiteSignal && info->si_code > 0;
  // A fault of the runtime's own dispatcher (a bad pointer the program passed): the program's
  // handler must not run with the shield's locks held (it might jump out of them). The process
  // ends by the signal, as it does with Syscall User Dispatch, where all signals are blocked.
  if (from_instruction && t_in_dispatcher) handler = reinterpret_cast<uintptr_t>(SIG_DFL);
  if (handler == reinterpret_cast<uintptr_t>(SIG_IGN) && !from_instruction) return;
  if (handler == reinterpret_cast<uintptr_t>(SIG_DFL) ||
      handler == reinterpret_cast<uintptr_t>(SIG_IGN)) {
    KernelSigaction dfl{reinterpret_cast<uintptr_t>(SIG_DFL), 0, 0, 0};
    RawSyscall4(SYS_rt_sigaction, sig, reinterpret_cast<long>(&dfl), 0, 8);
    if (!from_instruction) {
      RawSyscall3(SYS_tgkill, RawSyscall0(SYS_getpid), RawSyscall0(SYS_gettid), sig);
    }
    return;
  }
  // As the kernel would run it: SA_RESETHAND, and its sa_mask plus the signal itself (unless
  // SA_NODEFER) blocked for the call, except the trap's signals, which are never blocked.
  unsigned long flags = program.flags.load();
  if ((flags & SA_RESETHAND) != 0) {
    program.handler.store(reinterpret_cast<uintptr_t>(SIG_DFL));
    program.flags.store(0);
  }
  uint64_t block = program.mask.load() | ((flags & SA_NODEFER) != 0 ? 0 : uint64_t{1} << (sig - 1));
  block &= ~(TrapSignalBits() | kKillStopBits);
  uint64_t saved_mask = 0;
  RawSyscall4(SYS_rt_sigprocmask, SIG_BLOCK, reinterpret_cast<long>(&block),
              reinterpret_cast<long>(&saved_mask), 8);
  if ((flags & SA_SIGINFO) != 0) {
    reinterpret_cast<void (*)(int, siginfo_t*, void*)>(handler)(sig, info, context);
  } else {
    reinterpret_cast<void (*)(int)>(handler)(sig);
  }
  RawSyscall4(SYS_rt_sigprocmask, SIG_SETMASK, reinterpret_cast<long>(&saved_mask), 0, 8);
}

bool AskDispatcher(long nr, long args[6], long* result) {
  TrappedSyscallDispatcher dispatcher = g_trap_state.dispatcher.load(std::memory_order_acquire);
  if (dispatcher == nullptr || !g_trap_state.consulted.Contains(nr)) return false;
  TrappedSyscallFilter filter = g_trap_state.filter.load(std::memory_order_acquire);
  if (filter != nullptr && !filter(nr, args)) return false;
  // While the dispatcher runs, its own libc calls must not trap again (selector "allow"), and no
  // program signal handler may run with the selector open (all signals blocked).
  // With patched sites those calls raise SIGSEGV, which stays unblocked (a blocked SIGSEGV
  // from an instruction kills) and is then performed as it is (t_in_dispatcher).
  uint64_t all = ~(g_trap_state.patched.load() ? kPatchSignalBit : 0), saved_mask = 0;
  RawSyscall4(SYS_rt_sigprocmask, SIG_SETMASK, reinterpret_cast<long>(&all),
              reinterpret_cast<long>(&saved_mask), 8);
  int saved_errno = errno;
  char saved_selector = t_selector;
  t_selector = kSelectorAllow;
  t_in_dispatcher = true;
  bool handled = dispatcher(nr, args, result);
  t_in_dispatcher = false;
  t_selector = saved_selector;
  errno = saved_errno;
  RawSyscall4(SYS_rt_sigprocmask, SIG_SETMASK, reinterpret_cast<long>(&saved_mask), 0, 8);
  return handled;
}

}  // namespace

uint64_t TrapSignalBits() {
  return kSigsysBit | (g_trap_state.patched.load(std::memory_order_relaxed) ? kPatchSignalBit : 0);
}

ProgramDisposition* ProgramDispositionOf(long sig) {
  if (sig == SIGSYS) return &g_trap_state.program_sigsys;
  if (sig == kPatchedSiteSignal && g_trap_state.patched.load(std::memory_order_relaxed)) {
    return &g_trap_state.program_patch_signal;
  }
  return nullptr;
}

// The handler the program asks for, as installed: our in-range restorer, the trap's signals
// never blocked.
KernelSigaction AsInstalled(const KernelSigaction& act) {
  KernelSigaction copy = act;
  copy.mask &= ~TrapSignalBits();
  if (copy.handler != reinterpret_cast<uintptr_t>(SIG_DFL) &&
      copy.handler != reinterpret_cast<uintptr_t>(SIG_IGN)) {
    copy.flags |= kSaRestorer;
    copy.restorer = reinterpret_cast<uintptr_t>(cove_sigsys_restorer);
  }
  return copy;
}

// The runtime's handler in place of SIG_DFL for `sig` (SyscallTrapOptions::
// default_action_signals): every other signal blocked while it runs, SA_RESTART so that a
// signal it does not end the process with leaves the program's calls as they were.
KernelSigaction DefaultActionReplacement() {
  return {g_trap_state.default_action_handler, SA_RESTART | kSaRestorer,
          reinterpret_cast<uintptr_t>(cove_sigsys_restorer), ~TrapSignalBits()};
}

long ArmSyscallTrapForCurrentThread() {
  SyscallCodeRange range = RuntimeSyscallCodeRange();
  t_selector = kSelectorBlock;
  return RawSyscall5(SYS_prctl, PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON, range.begin,
                     range.end - range.begin, reinterpret_cast<long>(&t_selector));
}

namespace {

// The trapped syscall in `uc` (rax and the argument registers; rip after the instruction),
// emulated or performed; its result goes to rax.
void HandleTrappedSyscall(ucontext_t* uc) {
  greg_t* regs = uc->uc_mcontext.gregs;
  g_trap_state.trapped.fetch_add(1, std::memory_order_relaxed);
  long nr = regs[REG_RAX];
  if (nr < 0 || nr >= 0x40000000) {  // x32
    Log("cove: refused a 32-bit or x32 system call\n");
    regs[REG_RAX] = -ENOSYS;
    return;
  }
  long args[6] = {regs[REG_RDI], regs[REG_RSI], regs[REG_RDX],
                  regs[REG_R10], regs[REG_R8],  regs[REG_R9]};
  long result;
  switch (nr) {
    case SYS_rt_sigreturn:
      regs[REG_RIP] = reinterpret_cast<greg_t>(cove_reissue_sigreturn);
      return;
    case SYS_rt_sigprocmask:
      regs[REG_RAX] = EmulateSigprocmask(uc, args);
      return;
    case SYS_rt_sigaction:
      regs[REG_RAX] = EmulateSigaction(args);
      return;
    case SYS_prctl:
      if (args[0] == PR_SET_SYSCALL_USER_DISPATCH) {
        Log("cove: refused prctl(PR_SET_SYSCALL_USER_DISPATCH) from the program\n");
        regs[REG_RAX] = -EPERM;
        return;
      }
      break;
    default:
      break;
  }
  // The dispatcher's own libc calls (patched sites only) are performed as they are, as
  // natively, with the emulations above and the re-issue of clones below.
  if (!t_in_dispatcher && AskDispatcher(nr, args, &result)) {
    regs[REG_RAX] = result;
    return;
  }
  switch (nr) {
    case SYS_clone:
    case SYS_clone3:
    case SYS_fork:
    case SYS_vfork:
    // The handler runs on the thread's alternate signal stack when it has one, where the kernel
    // refuses to change or disable that stack (EPERM): issued after the handler returns.
    case SYS_sigaltstack:
      if (!RedirectToReissueStub(regs)) {
        Log("cove: refused clone or sigaltstack: too many distinct call sites\n");
        regs[REG_RAX] = -EAGAIN;
      }
      return;
    default:
      break;
  }
  uint64_t mask_copy;
  long pselect_copy[2];
  UnblockTrapSignalsDuringWait(nr, args, &mask_copy, pselect_copy);
  regs[REG_RAX] = RawSyscall6(nr, args[0], args[1], args[2], args[3], args[4], args[5]);
}

}  // namespace

void CoveSigsysHandler(int sig, siginfo_t* info, void* context) {
  if (info->si_code != SYS_USER_DISPATCH) return ChainToProgram(sig, info, context);
  auto* uc = static_cast<ucontext_t*>(context);
  if (info->si_arch != AUDIT_ARCH_X86_64) {  // i386
    g_trap_state.trapped.fetch_add(1, std::memory_order_relaxed);
    Log("cove: refused a 32-bit or x32 system call\n");
    uc->uc_mcontext.gregs[REG_RAX] = -ENOSYS;
    return;
  }
  HandleTrappedSyscall(uc);
}

void CovePatchedSiteHandler(int sig, siginfo_t* info, void* context) {
  auto* uc = static_cast<ucontext_t*>(context);
  greg_t* regs = uc->uc_mcontext.gregs;
  auto at = static_cast<uintptr_t>(regs[REG_RIP]);
  // The bytes are read only at a site of the table: rip may be anywhere for a bad jump.
  const PatchedSite* site = info->si_code == SI_KERNEL ? FindPatchedSite(at) : nullptr;
  if (site == nullptr) return ChainToProgram(sig, info, context);
  const auto* code = reinterpret_cast<const uint8_t*>(at);
  if (code[0] != kPatchedSiteBytes[0] || code[1] != kPatchedSiteBytes[1]) {
    // A site another thread is patching (a dlopen): its first byte written, not the second
    // (`int $5`, which faults too). Run it again.
    if (code[0] == kPatchedSiteBytes[0]) return;
    return ChainToProgram(sig, info, context);
  }
  regs[REG_RIP] += 2;  // as after the syscall instruction
  if (site->kind == PatchedKind::kLegacy) {
    g_trap_state.trapped.fetch_add(1, std::memory_order_relaxed);
    Log("cove: refused a 32-bit system call (int $0x80 or sysenter)\n");
    regs[REG_RAX] = -ENOSYS;
    return;
  }
  HandleTrappedSyscall(uc);
}

}  // namespace cove::runtime

extern "C" void cove_trap_arm_child() {
  if (cove::runtime::g_trap_state.kernel_dispatch.load(std::memory_order_relaxed)) {
    cove::runtime::ArmSyscallTrapForCurrentThread();
  }
}
