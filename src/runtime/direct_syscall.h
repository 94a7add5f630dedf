// DirectSyscall: a typed, variadic front for raw_syscall.h's trampoline, for the interposition
// layer. The trampoline is the only code the syscall trap lets through, so calls the runtime
// makes for the program (and the shield's own I/O) neither re-enter the interposed libc
// functions nor trap. Async-signal-safe, allocation-free; errors come back as -errno.
#pragma once

#include <sys/syscall.h>

#include "runtime/raw_syscall.h"

namespace cove::runtime {

template <typename... Args>
inline long DirectSyscall(long nr, Args... args) {
  static_assert(sizeof...(Args) <= 6, "at most six syscall arguments");
  long a[6] = {(long)args...};
  return cove_raw_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

// Turns a raw result into the libc convention: sets errno and returns -1 on failure.
long ToLibcResult(long raw);

// Ends the process by signal `deferred_signal` after committing (commit_flusher.cc), for a
// termination signal that arrived while its thread was inside the shield.
void RunDeferredSignal();

// Set while the calling thread runs inside the shield (ShieldedFiles), so that a syscall the
// shield's own libc calls make and the trap catches is performed, not dispatched again. A
// termination signal that interrupts the thread there (holding the shield's locks, which the
// commit it calls for needs) is deferred to the moment the thread leaves the shield.
struct ShieldScope {
  ShieldScope() { ++depth; }
  ~ShieldScope() {
    if (--depth == 0 && deferred_signal != 0) [[unlikely]]
      RunDeferredSignal();
  }
  static bool Inside() { return depth > 0; }
  __attribute__((tls_model("initial-exec"))) static inline thread_local int depth = 0;
  __attribute__((tls_model("initial-exec"))) static inline thread_local int deferred_signal = 0;
};

}  // namespace cove::runtime
