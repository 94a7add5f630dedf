// Internal to the syscall trap: the state shared by InstallSyscallTrap (syscall_trap.cc) and the
// SIGSYS handler (sigsys_handler.cc), and the asm entry points of raw_syscall.cc.
#pragma once

#include <signal.h>

#include <atomic>
#include <cstdint>

#include "runtime/syscall_trap.h"

namespace cove::runtime {

inline constexpr int kReissueSlots = 32;
inline constexpr int kReissueStubSize = 32;
inline constexpr unsigned long kSaRestorer = 0x04000000;

// The kernel's struct sigaction for rt_sigaction on x86-64 (not glibc's).
struct KernelSigaction {
  uintptr_t handler;
  unsigned long flags;
  uintptr_t restorer;
  uint64_t mask;
};

// A disposition the program asked for while the runtime keeps its own handler, field by field.
struct ProgramDisposition {
  std::atomic<uintptr_t> handler{0};  // SIG_DFL
  std::atomic<unsigned long> flags{0};
  std::atomic<uint64_t> mask{0};
};

struct TrapState {
  std::atomic<TrappedSyscallDispatcher> dispatcher{nullptr};
  std::atomic<TrappedSyscallFilter> filter{nullptr};
  SyscallSet consulted;
  int log_fd = -1;
  std::atomic<bool> installed{false};
  std::atomic<uint64_t> trapped{0};
  // Syscall User Dispatch is armed (threads and children arm themselves), and/or the
  // program's system-call instructions are patched (syscall_patch.h), whose signal (SIGSEGV)
  // is then the runtime's too.
  std::atomic<bool> kernel_dispatch{false};
  std::atomic<bool> patched{false};
  // The SIGSYS and SIGSEGV dispositions the program asked for (ours stay installed).
  ProgramDisposition program_sigsys;
  ProgramDisposition program_patch_signal;
  // The process whose dispositions these are: a vfork child (on its parent's memory) that
  // resets its handlers before exec must not change its parent's (EmulateSigaction).
  std::atomic<long> owner_pid{0};
  // SyscallTrapOptions::default_action_signals and _handler.
  uint64_t default_action_signals = 0;
  uintptr_t default_action_handler = 0;
};
extern TrapState g_trap_state;

void CoveSigsysHandler(int sig, siginfo_t* info, void* context);
// The handler of the instruction that replaced a system-call instruction (syscall_patch.h).
void CovePatchedSiteHandler(int sig, siginfo_t* info, void* context);

// The signals the trap raises, which the program may never block: SIGSYS, and SIGSEGV once
// sites are patched (bit sig-1).
uint64_t TrapSignalBits();
// The program's disposition of a trap signal, or nullptr when `sig` is not one.
ProgramDisposition* ProgramDispositionOf(long sig);

// A program's handler as the trap installs it: the runtime's in-range restorer, SIGSYS never
// blocked while it runs.
KernelSigaction AsInstalled(const KernelSigaction& act);
// The runtime's handler in place of SIG_DFL for a signal of default_action_signals.
KernelSigaction DefaultActionReplacement();
// Whether `sig` is one of default_action_signals.
inline bool ReplacesDefaultAction(long sig) {
  return sig >= 1 && sig <= 64 && ((g_trap_state.default_action_signals >> (sig - 1)) & 1) != 0;
}

// Arms Syscall User Dispatch for the calling thread with its own selector; raw result.
long ArmSyscallTrapForCurrentThread();

}  // namespace cove::runtime

extern "C" {
__attribute__((visibility("hidden"))) void cove_trap_arm_child();
__attribute__((visibility("hidden"))) extern const char cove_reissue_stubs[];
__attribute__((visibility("hidden"))) extern const char cove_reissue_sigreturn[];
__attribute__((visibility("hidden"))) extern const char cove_sigsys_restorer[];
__attribute__((
    visibility("hidden"))) extern uintptr_t cove_reissue_targets[cove::runtime::kReissueSlots];
}
