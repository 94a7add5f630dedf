// RawSyscallEnv: the shield's Env implemented with direct syscalls, so that the shield's own
// reads, writes and renames inside the runtime never go through the interposed libc functions
// (and never recurse into the descriptor table).
#pragma once

#include "common/env.h"

namespace cove::runtime {

// The process-wide instance used by the runtime's Volume.
Env& RawSyscallEnvInstance();

}  // namespace cove::runtime
