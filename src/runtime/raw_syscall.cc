// The runtime's only `syscall` instructions: the trampoline behind RawSyscall0..6 (and, later in
// this file, the trap's re-issue stubs) all live in the section `cove_syscall` between the hidden
// labels cove_syscall_code_begin/end; keep every in-range instruction in this one file so the
// range is exactly this block. Nothing here may allocate, lock or log.
#include "runtime/raw_syscall.h"

// cove_raw_syscall(nr, a1, a2, a3, a4, a5, a6): SysV arguments arrive in rdi, rsi, rdx, rcx, r8,
// r9 and 8(%rsp); the kernel wants nr in rax and arguments in rdi, rsi, rdx, r10, r8, r9.
asm(R"(
  .pushsection cove_syscall, "ax", @progbits
  .globl cove_raw_syscall
  .hidden cove_raw_syscall
  .type cove_raw_syscall, @function
  .p2align 4
  .globl cove_syscall_code_begin
  .hidden cove_syscall_code_begin
cove_syscall_code_begin:
cove_raw_syscall:
  .cfi_startproc
  movq %rdi, %rax
  movq %rsi, %rdi
  movq %rdx, %rsi
  movq %rcx, %rdx
  movq %r8, %r10
  movq %r9, %r8
  movq 8(%rsp), %r9
  syscall
  ret
  .cfi_endproc
  .size cove_raw_syscall, . - cove_raw_syscall
  .globl cove_syscall_code_end
  .hidden cove_syscall_code_end
cove_syscall_code_end:
  .popsection
)");

extern "C" {
extern const char cove_syscall_code_begin[] __attribute__((visibility("hidden")));
extern const char cove_syscall_code_end[] __attribute__((visibility("hidden")));
}

namespace cove::runtime {

SyscallCodeRange RuntimeSyscallCodeRange() {
  return {reinterpret_cast<uintptr_t>(cove_syscall_code_begin),
          reinterpret_cast<uintptr_t>(cove_syscall_code_end)};
}

}  // namespace cove::runtime
