// The pass-through path shared by the interposed libc functions (libc_interpose.cc,
// socket_interpose.cc): the syscall issued inline from the syscall trap's allowed range (so it
// is never trapped), cancellation points where glibc has them, and libc's errno convention.
// For functions marked COVE_EXPORT_IN_RANGE or COVE_IN_SYSCALL_RANGE only (raw_syscall.h).
#pragma once

#include <sys/single_threaded.h>

#include "runtime/raw_syscall.h"

// An interposed libc function: exported (exports.map lists it), and placed inside the trap's
// allowed range so that its pass-through path may issue its syscall inline (KernelHere).
#define COVE_EXPORT_IN_RANGE extern "C" __attribute__((visibility("default"))) COVE_IN_SYSCALL_RANGE

namespace cove::runtime {

// InRangeSyscall with the arguments of the libc function, converted to registers.
template <typename... Args>
__attribute__((always_inline)) inline long KernelHere(long nr, Args... args) {
  static_assert(sizeof...(Args) <= 6, "at most six syscall arguments");
  long a[6] = {(long)args...};
  return InRangeSyscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

// POSIX makes open, read, write, recv, poll, accept and others cancellation points, and glibc's
// versions are: in a multi-threaded process they run their syscall with asynchronous
// cancellation enabled, so that pthread_cancel ends a thread blocked in it. The interposed
// versions do the same on their pass-through path (without it a thread blocked in read() on a
// pipe could not be cancelled, and a pthread_join on it hung). A single-threaded process skips
// it, as glibc does. Defined in libc_interpose.cc, in the allowed range and out of line, so that
// the unwinding of a cancelled thread starts in a frame with ordinary unwind information.
long CancellableSyscall(long nr, long a0, long a1, long a2, long a3, long a4, long a5);

// KernelHere for the cancellation points.
template <typename... Args>
__attribute__((always_inline)) inline long CancellationPoint(long nr, Args... args) {
  static_assert(sizeof...(Args) <= 6, "at most six syscall arguments");
  long a[6] = {(long)args...};
  if (__libc_single_threaded) [[likely]] {
    return InRangeSyscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
  }
  return CancellableSyscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

// CancellationPoint for code outside the allowed range (a lambda, a helper of a rare path):
// the `syscall` instruction is reached by a call (InlineSyscall), or lies in CancellableSyscall.
template <typename... Args>
inline long CancellationPointAnywhere(long nr, Args... args) {
  static_assert(sizeof...(Args) <= 6, "at most six syscall arguments");
  long a[6] = {(long)args...};
  if (__libc_single_threaded) return InlineSyscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
  return CancellableSyscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

// Sets errno to -raw and returns -1 (libc's convention for a failed call).
[[gnu::cold]] long FailWithErrno(long raw);
// A raw kernel result (>= 0, or -errno) as libc returns it.
inline long LibcResult(long raw) {
  if (__builtin_expect(static_cast<unsigned long>(raw) > -4096UL, 0)) return FailWithErrno(raw);
  return raw;
}

}  // namespace cove::runtime
