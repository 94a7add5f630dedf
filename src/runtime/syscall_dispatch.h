// The seam between the raw-syscall trap (syscall_trap.cc, which catches `syscall` instructions
// issued outside libcove-runtime.so) and the interposition layer (which owns the descriptor
// table and the shield). Called from a SIGSYS handler: implementations must not allocate on
// paths that can be reached for unprotected descriptors, and must not take locks that the
// interrupted thread could hold without a recursion guard.
#pragma once

namespace cove::runtime {

// Handles trapped syscall `nr` with raw arguments `args`. Returns true when the runtime
// emulated it (through the shield or by refusing it), with the raw result (>= 0, or -errno) in
// *result; returns false when the caller should perform the real syscall unchanged.
bool DispatchTrappedSyscall(long nr, const long args[6], long* result);

}  // namespace cove::runtime
