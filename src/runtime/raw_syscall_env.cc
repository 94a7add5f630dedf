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

Env& RawSyscallEnvInstance() {
  static const std::unique_ptr<Env> env = MakeSyscallEnv(&cove_raw_syscall);
  return *env;
}

}  // namespace cove::runtime
