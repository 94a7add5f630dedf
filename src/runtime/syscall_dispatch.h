// The seam between the raw-syscall trap (syscall_trap.cc, which catches `syscall` instructions
// issued outside libcove-runtime.so) and the interposition layer (which owns the descriptor
// table and the shield). Called from a SIGSYS handler: implementations must not allocate on
// paths that can be reached for unprotected descriptors, and must not take locks that the
// interrupted thread could hold without a recursion guard.
#pragma once

namespace cove::runtime {

// Handles trapped syscall `nr` with raw arguments `args`. Returns true when the runtime
// emulated it (through the shield or by refusing it), with the raw result (>= 0, or -errno) in
// *result; returns false when the caller should perform the real syscall, with `args` as it
// left them (execve's environment is replaced; every other call is unchanged).
bool DispatchTrappedSyscall(long nr, long args[6], long* result);

// The trap's filter (syscall_trap.h, TrappedSyscallFilter): false for the descriptor calls
// (read, write, fstat, close, mmap...) on a descriptor that is not protected, which
// DispatchTrappedSyscall would return false for. Those are what glibc's internals trap most
// (stdio's buffer reads and writes, malloc's mmap). Async-signal-safe.
bool TrappedSyscallMayConcernShield(long nr, const long args[6]);

// Right before an exec: the PTRACE_TRACEME that this vfork child asked for with patched sites
// (DispatchTrappedSyscall's SYS_ptrace), if any. Async-signal-safe.
void PerformDeferredTraceme();

}  // namespace cove::runtime
