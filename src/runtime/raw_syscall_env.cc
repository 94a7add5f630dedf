// RawSyscallEnv: Env over direct syscalls (see raw_syscall_env.h).
#include "runtime/raw_syscall_env.h"

#include <cerrno>

#include "runtime/direct_syscall.h"

namespace cove::runtime {

long ToLibcResult(long raw) {
  if (raw < 0 && raw > -4096) {
    errno = static_cast<int>(-raw);
    return -1;
  }
  return raw;
}

}  // namespace cove::runtime

namespace cove {
// Overrides common's weak CloseFd: the runtime's own closes go through the trampoline.
void CloseFd(int fd) {
  runtime::DirectSyscall(SYS_close, fd);
}
}  // namespace cove

namespace cove::runtime {

Env& RawSyscallEnvInstance() {
  static const std::unique_ptr<Env> env = MakeSyscallEnv(&cove_raw_syscall);
  return *env;
}

}  // namespace cove::runtime
