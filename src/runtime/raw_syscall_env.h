// RawSyscallEnv: the shield's Env implemented with direct syscalls, so that the shield's own
// reads, writes and renames inside the runtime never go through the interposed libc functions
// (and never recurse into the descriptor table).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

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

// A filter over the descriptors the runtime has held, for the program's close, close_range,
// dup2 and dup3 (ShieldedFiles::IsRuntimeFd): MayBeRuntimeDescriptor(fd) false means that
// `fd` was never one of the runtime's, so that the program's own descriptors pay one load and
// a bit test. MoveAboveRuntimeFloor and DupAboveRuntimeFloor note their results, the runtime's
// CloseFd forgets; a number closed another way stays noted (a superset is all the filter
// promises). Descriptors from 65536 up always pass. Lock-free, async-signal-safe.
void NoteRuntimeDescriptor(long fd);
namespace detail {
inline constexpr int kFilteredDescriptors = 1 << 16;
// One bit per descriptor below kFilteredDescriptors (8 KiB, zero until the runtime holds one).
extern std::array<std::atomic<uint64_t>, kFilteredDescriptors / 64> g_held_descriptors;
}  // namespace detail
inline bool MayBeRuntimeDescriptor(int fd) {
  if (fd < 0) return false;
  if (fd >= detail::kFilteredDescriptors) return true;
  return ((detail::g_held_descriptors[fd / 64].load(std::memory_order_relaxed) >> (fd % 64)) & 1) !=
         0;
}

}  // namespace cove::runtime
