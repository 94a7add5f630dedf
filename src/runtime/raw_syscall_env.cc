// RawSyscallEnv: Env over direct syscalls (see raw_syscall_env.h).
#include "runtime/raw_syscall_env.h"

#include <fcntl.h>
#include <sys/resource.h>

#include <algorithm>
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

namespace detail {
std::array<std::atomic<uint64_t>, kTrackedDescriptors / 64> g_runtime_descriptors{};
}  // namespace detail

void NoteRuntimeDescriptor(long fd) {
  if (fd < 0 || fd >= detail::kTrackedDescriptors) return;
  detail::g_runtime_descriptors[fd / 64].fetch_or(uint64_t{1} << (fd % 64),
                                                  std::memory_order_relaxed);
}

void ForgetRuntimeDescriptor(int fd) {
  if (fd < 0 || fd >= detail::kTrackedDescriptors) return;
  detail::g_runtime_descriptors[fd / 64].fetch_and(~(uint64_t{1} << (fd % 64)),
                                                   std::memory_order_relaxed);
}

long CloseDescriptor(int fd) {
  ForgetRuntimeDescriptor(fd);
  return DirectSyscall(SYS_close, fd);
}

int NextRuntimeDescriptor(unsigned first, unsigned last) {
  constexpr unsigned kEnd = detail::kTrackedDescriptors;
  if (first > last || first >= kEnd) return -1;
  last = std::min(last, kEnd - 1);
  for (unsigned word = first / 64; word <= last / 64; ++word) {
    uint64_t bits = detail::g_runtime_descriptors[word].load(std::memory_order_relaxed);
    if (word == first / 64) bits &= ~uint64_t{0} << (first % 64);
    if (bits == 0) continue;
    unsigned fd = word * 64 + static_cast<unsigned>(__builtin_ctzll(bits));
    return fd <= last ? static_cast<int>(fd) : -1;
  }
  return -1;
}

}  // namespace cove::runtime

namespace cove {
// Overrides common's weak CloseFd: the runtime's own closes go through the trampoline.
void CloseFd(int fd) {
  runtime::CloseDescriptor(fd);
}
}  // namespace cove

namespace cove::runtime {

namespace {

// 512, or half of RLIMIT_NOFILE as it is now when that is lower.
int FloorForCurrentLimit() {
  constexpr long kFloor = 512;
  struct rlimit limit {};
  if (DirectSyscall(SYS_prlimit64, 0, RLIMIT_NOFILE, nullptr, &limit) == 0 &&
      limit.rlim_cur != RLIM_INFINITY && static_cast<long>(limit.rlim_cur / 2) < kFloor) {
    return static_cast<int>(limit.rlim_cur / 2);
  }
  return static_cast<int>(kFloor);
}

// A close-on-exec duplicate of `fd` high up: at the floor, or, when the program lowered
// RLIMIT_NOFILE below it since the start (F_DUPFD's EINVAL), at the floor for the limit now.
long DupHigh(int fd) {
  long dup = DirectSyscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, RuntimeDescriptorFloor());
  if (dup == -EINVAL) dup = DirectSyscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, FloorForCurrentLimit());
  return dup;
}

}  // namespace

int RuntimeDescriptorFloor() {
  static const int floor = FloorForCurrentLimit();
  return floor;
}

long MoveAboveRuntimeFloor(long fd) {
  if (fd < 0) return fd;
  if (fd >= RuntimeDescriptorFloor()) {
    NoteRuntimeDescriptor(fd);
    return fd;
  }
  long high = DupHigh(static_cast<int>(fd));
  if (high < 0 || high < fd) {  // no room up there: where it is
    if (high >= 0) DirectSyscall(SYS_close, high);
    NoteRuntimeDescriptor(fd);
    return fd;
  }
  DirectSyscall(SYS_close, fd);
  NoteRuntimeDescriptor(high);
  return high;
}

long DupAboveRuntimeFloor(int fd) {
  long dup = DupHigh(fd);
  if (dup < 0) dup = DirectSyscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 0);
  NoteRuntimeDescriptor(dup);
  return dup;
}

Env& RawSyscallEnvInstance() {
  static const std::unique_ptr<Env> env = MakeSyscallEnv(&cove_raw_syscall, &MoveAboveRuntimeFloor);
  return *env;
}

}  // namespace cove::runtime
