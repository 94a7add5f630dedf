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
// MoveAboveRuntimeFloor of a host file that the program is opening: the number the open took
// (the lowest free one, which the program's own open would have got) is kept for the program's
// descriptor, as a duplicate of O_PATH descriptor `placeholder` with `cloexec_flag` (O_CLOEXEC
// or 0), and returned in *left (-1 when the descriptor did not move: already above the floor,
// or no room there). One dup3 instead of a close and a second open by path.
long MoveAboveRuntimeFloorLeaving(long fd, int placeholder, int cloexec_flag, long* left);
// Grows the process's descriptor table to hold numbers up to `highest` (at most RLIMIT_NOFILE
// - 1) now, by a descriptor of `/` duplicated there and closed (the kernel never shrinks the
// table). Called at the runtime's start, while the process has one thread: the kernel grows a
// table that several threads share only after an RCU grace period (synchronize_rcu in
// expand_fdtable, 15 ms seen), and a program with a second thread (the runtime's own commit
// thread included) took 25-35% longer to create 3,000 files.
void GrowDescriptorTable(long highest);

// The set of descriptors the runtime holds (host files and their locks, staged files, pages
// of shared offsets, the fspf's watch, the log file, a journal being written), which are not
// the program's: its close, close_range, dup2 and dup3 leave them alone (ShieldedFiles::
// TryCloseRuntimeFd, CloseRange, TryDup). One bit per number, lock-free and async-signal-safe,
// so that a call on any other descriptor pays one load and a bit test. Exact as long as every
// descriptor the runtime keeps comes from MoveAboveRuntimeFloor (or is noted when adopted after an
// exec) and every noted descriptor is closed through CloseDescriptor or CloseFd (a descriptor the
// runtime holds within one call and never notes, such as a probe's, may be closed directly).
// Numbers from 2^20 up (reachable only after raising the kernel's fs.nr_open) are never in the set.
void NoteRuntimeDescriptor(long fd);
// `fd` is no longer the runtime's (it closes it, or found it replaced).
void ForgetRuntimeDescriptor(int fd);
// close(2) for the runtime: `fd` forgotten first (a number being closed is nobody's after).
long CloseDescriptor(int fd);

// Descriptors held back for the runtime's own bookkeeping (the fspf's save, journals, the
// commit lock). When the program has filled its descriptor table (ulimit -n), an open of
// RawSyscallEnvInstance() that fails with EMFILE gives one back and tries again: without them,
// the commit at the next close or at exit failed, and the program's writes were lost. Takes
// the missing ones (all at start, those given back since later; cheap when none is missing).
void ReserveSpareDescriptors();
// In a fork child (its own copy of the descriptor table): the spares are its own now.
void AdoptSpareDescriptorsAfterFork();
// openat(AT_FDCWD, path, flags | O_CLOEXEC) for the runtime's own bookkeeping, as
// RawSyscallEnvInstance() opens: a spare given back on EMFILE, the descriptor moved above the
// program's numbers (and noted). The descriptor, or -errno.
long OpenWithSpares(const char* path, int flags);
namespace detail {
inline constexpr int kTrackedDescriptors = 1 << 20;
// 128 KiB of address space; a page is touched only when the runtime holds a number in it.
extern std::array<std::atomic<uint64_t>, kTrackedDescriptors / 64> g_runtime_descriptors;
}  // namespace detail
inline bool IsRuntimeDescriptor(int fd) {
  if (fd < 0 || fd >= detail::kTrackedDescriptors) return false;
  uint64_t word = detail::g_runtime_descriptors[fd / 64].load(std::memory_order_relaxed);
  return ((word >> (fd % 64)) & 1) != 0;
}
// The lowest runtime descriptor in [first, last], or -1.
int NextRuntimeDescriptor(unsigned first, unsigned last);

}  // namespace cove::runtime
