// The raw-syscall trap: makes `syscall` instructions issued outside the runtime (Go and other
// runtimes, static code in libraries, glibc internals such as stdio's open/read and the
// `syscall()` function) reach the runtime instead of silently bypassing the file shield.
//
// Mechanisms (TrapMechanism):
// - Patched sites (syscall_patch.h, the default): every system-call instruction of the loaded
//   code outside the runtime becomes `int $0x81`, and its SIGSEGV reaches the handler. The kernel's
//   syscall path is untouched, so the runtime's own syscalls (every interposed call) cost
//   what they cost natively.
// - Linux Syscall User Dispatch (prctl PR_SET_SYSCALL_USER_DISPATCH, kernel >= 5.11), where
//   the sites cannot be patched or COVE_SYSCALL_TRAP=kernel: every thread's syscalls go to a
//   SIGSYS handler unless issued from the runtime's own code range (raw_syscall.h:
//   RuntimeSyscallCodeRange); every syscall of the process then takes the kernel's slow entry
//   path, 20-35 ns on the machines measured.
// Either way the handler asks the runtime's dispatcher (DispatchTrappedSyscall in
// syscall_dispatch.h) for file-related syscalls, then performs the syscall itself through the
// trampoline and stores the result in the interrupted context.
// Why not seccomp (SECCOMP_RET_TRAP + instruction-pointer check): a filter survives execve but
// the runtime's address range does not, and the dynamic loader of the next program opens its
// libraries before any runtime exists, so every fork+exec of a dynamic program would be killed;
// a filter can also never be removed. Syscall User Dispatch is reset by execve (the next
// program's runtime re-installs it) and is per thread, which the trap handles: new threads and
// fork children arm themselves on their way out of the trapped clone (see sigsys_handler.cc).
// Cost: one signal delivery per trapped syscall (see docs/runtime.md "Raw syscalls" for figures).
#pragma once

#include <signal.h>

#include <cstdint>
#include <string>

#include "common/status.h"

namespace cove::runtime {

// Same contract as DispatchTrappedSyscall: returns true when it emulated syscall `nr` (result,
// >= 0 or -errno, in *result), false to have the trap perform the real syscall, with `args` as
// the dispatcher left them (it may rewrite them: execve's environment). Called from the
// SIGSYS handler with every signal blocked and the thread's selector set to "allow", so it may
// call libc (its syscalls are not trapped again) but must be reentrant with respect to the
// interrupted code: no locks that code could hold, no allocator unless the interrupted code is
// known not to be inside it.
using TrappedSyscallDispatcher = bool (*)(long nr, long args[6], long* result);

// Asked before the dispatcher, in the handler's context as it is (signals not blocked): false
// when the dispatcher would certainly return false for this call (a read of a descriptor the
// shield does not serve), which is then performed without the dispatcher and without the two
// signal-mask changes around it. Must be async-signal-safe and must not allocate or lock.
using TrappedSyscallFilter = bool (*)(long nr, const long args[6]);

// A set of x86-64 syscall numbers.
class SyscallSet {
 public:
  constexpr SyscallSet() = default;
  constexpr void Add(long nr) {
    if (nr >= 0 && nr < kMax) bits_[nr / 64] |= uint64_t{1} << (nr % 64);
  }
  constexpr bool Contains(long nr) const {
    return nr >= 0 && nr < kMax && (bits_[nr / 64] >> (nr % 64)) & 1;
  }

 private:
  static constexpr long kMax = 512;
  uint64_t bits_[kMax / 64] = {};
};

// The syscalls that name a path or a descriptor (open*, read/write families, stat family,
// rename/unlink/mkdir..., mmap, sendfile, execve, io_uring_setup...): what the shield may have
// to emulate. Other trapped syscalls (futex, brk, getpid...) are performed without asking.
SyscallSet FileSyscalls();
// fchmodat2 (Linux 6.6, glibc 2.39's fchmodat with flags): Debian 12's headers predate it.
inline constexpr int kSysFchmodat2 = 452;

enum class TrapMechanism {
  kPatchedOrKernel,  // patch the sites; Syscall User Dispatch when they cannot all be patched
  kKernel,           // Syscall User Dispatch only
  kPatched,          // patched sites only; InstallSyscallTrap fails when they cannot be
};

struct SyscallTrapOptions {
  TrapMechanism mechanism = TrapMechanism::kPatchedOrKernel;
  // Optional: receives a line on what was patched, or why nothing was.
  std::string* report = nullptr;
  // Asked about every trapped syscall in `consulted`; nullptr: every syscall is performed.
  TrappedSyscallDispatcher dispatcher = nullptr;
  SyscallSet consulted = FileSyscalls();
  // Optional: asked first about the syscalls in `consulted` (see TrappedSyscallFilter).
  TrappedSyscallFilter filter = nullptr;
  // Where the handler writes its one-line refusals ("cove: ..."); -1: nowhere.
  int log_fd = -1;
  // Signals (bit sig-1) whose default action ends the process and which the runtime handles
  // while the program leaves them at SIG_DFL: `default_action_handler` is installed in place of
  // SIG_DFL (at install time and whenever the program asks for SIG_DFL), the program is told
  // SIG_DFL when it asks, and the handler must end the process with the signal's default
  // action once it has done its part (the runtime commits first: commit_flusher.h).
  uint64_t default_action_signals = 0;
  void (*default_action_handler)(int) = nullptr;
};

// Installs the handlers and patches the sites or arms the calling thread. Call once, early,
// from the runtime's constructor while the process has a single thread (with Syscall User
// Dispatch, threads that already exist are not trapped; threads and fork children created
// afterwards are). Idempotent: a second call only arms the calling thread. Fails with
// kUnsupported when neither mechanism is available. After it returns, the runtime must issue
// its own syscalls through raw_syscall.h only.
Status InstallSyscallTrap(const SyscallTrapOptions& options);

// Arms the calling thread (for a thread that existed before InstallSyscallTrap).
Status EnableSyscallTrapForCurrentThread();
// Turns the trap off for the calling thread only (a traced vfork child: see
// DispatchTrappedSyscall's SYS_ptrace). Async-signal-safe.
void DisarmSyscallTrapForCurrentThread();

bool SyscallTrapInstalled();
// Takes out of `set` the signals the trap raises synchronously, which must never be blocked
// where a trapped syscall may run: SIGSYS, and SIGSEGV when sites are patched. Async-signal-safe.
void RemoveTrapSignals(sigset_t* set);
// Whether system-call instructions were patched in this process (syscall_patch.h).
bool SyscallTrapPatchesSites();
// "patched sites", "Syscall User Dispatch", both (a patch that failed half-way), or "off".
const char* SyscallTrapMechanismName();

// Around a dlopen with patched sites (the interposed dlopen and dlmopen):
// - TrapLoadingThread, before: the constructors of what it loads run before their system-call
//   instructions can be patched, so the calling thread has Syscall User Dispatch armed meanwhile
//   (where the kernel has it; threads those constructors start are not covered). Returns
//   whether it armed, for UntrapLoadingThread.
// - CoverNewlyLoadedCode, after: patches the code it loaded. kUnsupported when that code cannot
//   be checked for system calls (the caller refuses the library). Ok without patched sites.
// - ForgetUnloadedCode, after a dlclose (ForgetUnloadedObjects).
bool TrapLoadingThread();
void UntrapLoadingThread(bool armed);
Status CoverNewlyLoadedCode();
void ForgetUnloadedCode();

// Number of syscalls trapped so far in this process (for tests and benchmarks).
uint64_t TrappedSyscallCount();

}  // namespace cove::runtime
