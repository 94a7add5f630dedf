// Raw Linux system calls for the runtime: RawSyscall0..6 return the kernel's raw result (>= 0,
// or -errno; errno is never touched). Every call goes through one trampoline that lives in the
// dedicated section `cove_syscall`; the syscall trap (syscall_trap.h) lets syscalls issued from
// that address range reach the kernel and traps all others, so the runtime must issue its own
// syscalls only through these functions, never through libc or `syscall()`.
// Async-signal-safe, allocation-free, usable after fork. x86-64 only.
#pragma once

#include <cstdint>

#if !defined(__x86_64__)
#error "cove's raw syscalls and syscall trap support x86-64 Linux only"
#endif

extern "C" {
// The trampoline (raw_syscall.cc): `syscall` with nr in rax and a1..a6 in rdi, rsi, rdx, r10,
// r8, r9. Hidden: never exported from libcove-runtime.so, never interposable.
__attribute__((visibility("hidden"))) long cove_raw_syscall(long nr, long a1, long a2, long a3,
                                                            long a4, long a5, long a6);
// `syscall; ret` in the same range, for InlineSyscall only (it expects the kernel's registers).
__attribute__((visibility("hidden"))) void cove_syscall_insn();
}

namespace cove::runtime {

inline long RawSyscall0(long nr) {
  return cove_raw_syscall(nr, 0, 0, 0, 0, 0, 0);
}
inline long RawSyscall1(long nr, long a1) {
  return cove_raw_syscall(nr, a1, 0, 0, 0, 0, 0);
}
inline long RawSyscall2(long nr, long a1, long a2) {
  return cove_raw_syscall(nr, a1, a2, 0, 0, 0, 0);
}
inline long RawSyscall3(long nr, long a1, long a2, long a3) {
  return cove_raw_syscall(nr, a1, a2, a3, 0, 0, 0);
}
inline long RawSyscall4(long nr, long a1, long a2, long a3, long a4) {
  return cove_raw_syscall(nr, a1, a2, a3, a4, 0, 0);
}
inline long RawSyscall5(long nr, long a1, long a2, long a3, long a4, long a5) {
  return cove_raw_syscall(nr, a1, a2, a3, a4, a5, 0);
}
inline long RawSyscall6(long nr, long a1, long a2, long a3, long a4, long a5, long a6) {
  return cove_raw_syscall(nr, a1, a2, a3, a4, a5, a6);
}

// The same as cove_raw_syscall for the interposed libc functions' pass-through path: the
// arguments go straight into the kernel's registers and an inline `call` reaches the in-range
// `syscall` instruction, so the caller needs no argument shuffle, stack argument or register
// saves. The call skips the 128-byte red zone below the stack pointer, which the calling
// function may be using. Clobbers only what `syscall` does (rcx, r11) and memory.
inline long InlineSyscall(long nr, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0,
                          long a6 = 0) {
  long result = nr;
  register long r10 asm("r10") = a4;
  register long r8 asm("r8") = a5;
  register long r9 asm("r9") = a6;
  asm volatile(
      "leaq -128(%%rsp), %%rsp\n\t"
      "call cove_syscall_insn\n\t"
      "leaq 128(%%rsp), %%rsp"
      : "+a"(result)
      : "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
      : "rcx", "r11", "memory", "cc");
  return result;
}

// Places a function in section `cove_syscall`, inside the trap's allowed range, so that it may
// use InRangeSyscall. For the interposed libc functions' pass-through path only.
#define COVE_IN_SYSCALL_RANGE __attribute__((section("cove_syscall")))

// A `syscall` instruction inline, with no call and return around it (a return right after a
// syscall mispredicts on kernels that fill the return stack buffer on entry: ~3 ns, 2.5% of a
// 1-byte read). ONLY in functions marked COVE_IN_SYSCALL_RANGE: anywhere else the instruction
// lies outside the allowed range and is trapped (src/runtime/syscall_range_test.sh checks
// every `syscall` of libcove-runtime.so).
__attribute__((always_inline)) inline long InRangeSyscall(long nr, long a1 = 0, long a2 = 0,
                                                          long a3 = 0, long a4 = 0, long a5 = 0,
                                                          long a6 = 0) {
  long result = nr;
  register long r10 asm("r10") = a4;
  register long r8 asm("r8") = a5;
  register long r9 asm("r9") = a6;
  asm volatile("syscall"
               : "+a"(result)
               : "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
               : "rcx", "r11", "memory", "cc");
  return result;
}

// True when `result` (a raw kernel return value) is an error; the errno is then -result.
inline bool RawSyscallFailed(long result) {
  return static_cast<unsigned long>(result) > -4096UL;
}

// [begin, end) of the only code from which the runtime issues syscalls (raw_syscall.cc's block
// in section `cove_syscall`): the range the syscall trap lets through to the kernel.
struct SyscallCodeRange {
  uintptr_t begin;
  uintptr_t end;
};
SyscallCodeRange RuntimeSyscallCodeRange();
// False when something was linked into section cove_syscall after raw_syscall.cc's block, i.e.
// outside the range the trap allows (the trap refuses to install then).
bool SyscallCodeRangeIsWholeSection();

}  // namespace cove::runtime
