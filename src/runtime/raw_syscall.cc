// The runtime's `syscall` instructions, all in section `cove_syscall` (the syscall trap's
// allowed range, from the section's start to the hidden label cove_syscall_code_end): this
// file's asm block (the trampoline behind RawSyscall0..6, the SIGSYS restorer and the trap's
// re-issue stubs), which must end the section, and the interposed libc functions marked
// COVE_IN_SYSCALL_RANGE, whose pass-through syscall is inline (InRangeSyscall).
// Nothing here may allocate, lock or log.
#include "runtime/raw_syscall.h"

#include "runtime/sigsys_handler.h"

extern "C" {
// Where re-issue stub i jumps after its syscall (written once by the trap, see sigsys_handler.cc).
__attribute__((visibility("hidden"))) uintptr_t cove_reissue_targets[cove::runtime::kReissueSlots];
}

static_assert(cove::runtime::kReissueSlots == 32, "the .irp list below has 32 entries");
static_assert(cove::runtime::kReissueStubSize == 32, "the stubs below are 32-byte aligned");

// cove_raw_syscall(nr, a1, a2, a3, a4, a5, a6): SysV arguments arrive in rdi, rsi, rdx, rcx, r8,
// r9 and 8(%rsp); the kernel wants nr in rax and arguments in rdi, rsi, rdx, r10, r8, r9.
//
// cove_syscall_insn: `syscall; ret` for InlineSyscall (raw_syscall.h), whose inline asm loads
// the kernel's registers itself and calls it: no argument shuffle, no register saves.
//
// cove_sigsys_restorer: the sa_restorer of every handler the trap registers, so that the
// rt_sigreturn ending a signal handler is issued from the allowed range.
//
// cove_reissue_sigreturn: a trapped rt_sigreturn (a handler registered with someone else's
// restorer) is re-issued here after our own handler returns, with the program's registers.
//
// cove_reissue_stub_<i>: a trapped clone/clone3/fork/vfork (or sigaltstack, which the handler
// cannot issue from the alternate stack it may run on) is re-issued here after our handler
// returns, with the program's registers and stack, so that parent and child both continue
// natively at cove_reissue_targets[i] (the instruction after the trapped `syscall`). The child
// (rax == 0; for sigaltstack, its success, for which re-arming changes nothing) first arms the
// trap for itself: the kernel does not inherit Syscall User Dispatch across clone/fork. It keeps
// out of the 128-byte red zone and preserves the argument registers.
asm(R"(
  .pushsection cove_syscall, "ax", @progbits
  .p2align 5
  .globl cove_syscall_code_begin
  .hidden cove_syscall_code_begin
cove_syscall_code_begin:

  .globl cove_raw_syscall
  .hidden cove_raw_syscall
  .type cove_raw_syscall, @function
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

  .p2align 4
  .globl cove_syscall_insn
  .hidden cove_syscall_insn
  .type cove_syscall_insn, @function
cove_syscall_insn:
  .cfi_startproc
  syscall
  ret
  .cfi_endproc
  .size cove_syscall_insn, . - cove_syscall_insn

  .p2align 4
  .globl cove_sigsys_restorer
  .hidden cove_sigsys_restorer
cove_sigsys_restorer:
  movl $15, %eax
  syscall
  ud2

  .p2align 4
  .globl cove_reissue_sigreturn
  .hidden cove_reissue_sigreturn
cove_reissue_sigreturn:
  syscall
  ud2

  .p2align 4
cove_reissue_child_arm:
  pushq %rbx
  movq %rsp, %rbx
  andq $-16, %rsp
  pushq %rdi
  pushq %rsi
  pushq %rdx
  pushq %r8
  pushq %r9
  pushq %r10
  call cove_trap_arm_child
  popq %r10
  popq %r9
  popq %r8
  popq %rdx
  popq %rsi
  popq %rdi
  movq %rbx, %rsp
  popq %rbx
  xorl %eax, %eax
  ret

  .p2align 5
  .globl cove_reissue_stubs
  .hidden cove_reissue_stubs
cove_reissue_stubs:
  .irp i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
  .p2align 5
  syscall
  testq %rax, %rax
  jnz 1f
  leaq -128(%rsp), %rsp
  call cove_reissue_child_arm
  leaq 128(%rsp), %rsp
1:
  jmp *(cove_reissue_targets + 8 * \i)(%rip)
  .endr
  .p2align 5

  .globl cove_syscall_code_end
  .hidden cove_syscall_code_end
cove_syscall_code_end:
  .popsection
)");

extern "C" {
extern const char cove_syscall_code_end[] __attribute__((visibility("hidden")));
// The linker's bounds of section cove_syscall: this file's block and every function placed
// there with COVE_IN_SYSCALL_RANGE (libc_interpose.cc's pass-through paths). This object comes
// from an archive, after the library's own objects, so its block is the section's end.
extern const char __start_cove_syscall[] __attribute__((visibility("hidden")));
extern const char __stop_cove_syscall[] __attribute__((visibility("hidden")));
}

namespace cove::runtime {

SyscallCodeRange RuntimeSyscallCodeRange() {
  return {reinterpret_cast<uintptr_t>(__start_cove_syscall),
          reinterpret_cast<uintptr_t>(cove_syscall_code_end)};
}

bool SyscallCodeRangeIsWholeSection() {
  return reinterpret_cast<uintptr_t>(cove_syscall_code_end) ==
         reinterpret_cast<uintptr_t>(__stop_cove_syscall);
}

}  // namespace cove::runtime
