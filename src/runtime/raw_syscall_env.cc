// RawSyscallEnv: Env over direct syscalls (see raw_syscall_env.h).
#include "runtime/raw_syscall_env.h"

#include <fcntl.h>
#include <sys/resource.h>

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

int RuntimeDescriptorFloor() {
  static const int floor = [] {
    constexpr long kFloor = 512;
    struct rlimit limit {};
    if (DirectSyscall(SYS_prlimit64, 0, RLIMIT_NOFILE, nullptr, &limit) == 0 &&
        limit.rlim_cur != RLIM_INFINITY && static_cast<long>(limit.rlim_cur / 2) < kFloor) {
      return static_cast<int>(limit.rlim_cur / 2);
    }
    return static_cast<int>(kFloor);
  }();
  return floor;
}

long MoveAboveRuntimeFloor(long fd) {
  int floor = RuntimeDescriptorFloor();
  if (fd < 0 || fd >= floor) return fd;
  long high = DirectSyscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, floor);
  if (high < 0) return fd;
  DirectSyscall(SYS_close, fd);
  return high;
}

long DupAboveRuntimeFloor(int fd) {
  long dup = DirectSyscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, RuntimeDescriptorFloor());
  return dup >= 0 ? dup : DirectSyscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 0);
}

Env& RawSyscallEnvInstance() {
  static const std::unique_ptr<Env> env =
      MakeSyscallEnv(&cove_raw_syscall, RuntimeDescriptorFloor());
  return *env;
}

}  // namespace cove::runtime
