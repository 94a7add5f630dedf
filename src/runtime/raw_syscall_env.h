// RawSyscallEnv: the shield's Env implemented with direct syscalls, so that the shield's own
// reads, writes and renames inside the runtime never go through the interposed libc functions
// (and never recurse into the descriptor table).
#pragma once

#include "common/env.h"

namespace cove::runtime {

// The process-wide instance used by the runtime's Volume. Its descriptors are at or above
// RuntimeDescriptorFloor().
Env& RawSyscallEnvInstance();

// Where the runtime keeps the descriptors it holds (host files, locks, shared offset pages):
// high, out of the way of a program's dup2 onto a number it believes free (bash's
// `exec 5>>f`), which would otherwise replace one of them. 512, or half of RLIMIT_NOFILE when
// that is lower; read once, at the runtime's start.
int RuntimeDescriptorFloor();
// `fd` (just opened by the runtime) moved at or above RuntimeDescriptorFloor() (itself when
// there is no room there).
long MoveAboveRuntimeFloor(long fd);
// A close-on-exec duplicate of `fd` at or above RuntimeDescriptorFloor() (anywhere when there
// is no room there), or -errno.
long DupAboveRuntimeFloor(int fd);

}  // namespace cove::runtime
