// Link-time wraps (-Wl,--wrap=NAME, see CMakeLists.txt) for libc calls that the code linked
// into the runtime itself makes on hot paths. Such a call would execute libc's own `syscall`
// instruction, which the syscall trap (Syscall User Dispatch) catches and emulates at ~1 us a
// time; the wrap goes through the trampoline the trap lets through instead.
//
// getpid: OpenSSL's DRBG calls it on every RAND_bytes to notice a fork (a new nonce per chunk
// seal, a new key and id per created file).
#include <sys/types.h>

#include "runtime/direct_syscall.h"

// NOLINTNEXTLINE(bugprone-reserved-identifier,readability-identifier-naming): ld's --wrap name
extern "C" pid_t __wrap_getpid() {
  return static_cast<pid_t>(cove::runtime::DirectSyscall(SYS_getpid));
}
