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
  long unused = -1;
  return MoveAboveRuntimeFloorLeaving(fd, -1, 0, &unused);
}

long MoveAboveRuntimeFloorLeaving(long fd, int placeholder, int cloexec_flag, long* left) {
  *left = -1;
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
  if (placeholder >= 0 && DirectSyscall(SYS_dup3, placeholder, fd, cloexec_flag) == fd) {
    *left = fd;
  } else {
    DirectSyscall(SYS_close, fd);
  }
  NoteRuntimeDescriptor(high);
  return high;
}

void GrowDescriptorTable(long highest) {
  struct rlimit limit {};
  if (DirectSyscall(SYS_prlimit64, 0, RLIMIT_NOFILE, nullptr, &limit) == 0 &&
      limit.rlim_cur != RLIM_INFINITY && highest >= static_cast<long>(limit.rlim_cur)) {
    highest = static_cast<long>(limit.rlim_cur) - 1;
  }
  // Neither descriptor is noted: both are the runtime's for this call only.
  long root = DirectSyscall(SYS_openat, AT_FDCWD, "/", O_PATH | O_CLOEXEC);
  if (root < 0) return;
  long high = DirectSyscall(SYS_fcntl, root, F_DUPFD_CLOEXEC, highest);
  if (high >= 0) DirectSyscall(SYS_close, high);
  DirectSyscall(SYS_close, root);
}

namespace {

// Three: a save holds the commit lock and opens the fspf's new copy, then its directory.
std::array<std::atomic<int>, 3> g_spare_descriptors{-1, -1, -1};
std::atomic<bool> g_spare_missing{true};
// The process whose descriptor table holds them: a vfork child shares this memory but not the
// table, and must neither give back nor take spares (it would close or record numbers that
// are only its own). A fork child takes them over (AdoptSpareDescriptorsAfterFork).
std::atomic<long> g_spare_owner{0};

bool OwnsSpares() {
  return DirectSyscall(SYS_getpid) == g_spare_owner.load(std::memory_order_relaxed);
}

// Closes one spare descriptor: false when none is left.
bool GiveBackSpareDescriptor() {
  if (!OwnsSpares()) return false;
  for (std::atomic<int>& spare : g_spare_descriptors) {
    int fd = spare.exchange(-1);
    if (fd < 0) continue;
    g_spare_missing.store(true, std::memory_order_relaxed);
    CloseDescriptor(fd);
    return true;
  }
  return false;
}

// The system calls of RawSyscallEnvInstance(): an open that finds the table full tries again
// in a spare descriptor's place.
long SyscallWithSpares(long nr, long a1, long a2, long a3, long a4, long a5, long a6) {
  long result = cove_raw_syscall(nr, a1, a2, a3, a4, a5, a6);
  while (result == -EMFILE && nr == SYS_openat && GiveBackSpareDescriptor()) {
    result = cove_raw_syscall(nr, a1, a2, a3, a4, a5, a6);
  }
  return result;
}

}  // namespace

void ReserveSpareDescriptors() {
  if (!g_spare_missing.load(std::memory_order_relaxed)) return;
  long owner = 0;
  if (g_spare_owner.compare_exchange_strong(owner, DirectSyscall(SYS_getpid))) {
    // The first call, at start: this process holds them from now on.
  } else if (!OwnsSpares()) {
    return;
  }
  if (!g_spare_missing.exchange(false, std::memory_order_relaxed)) return;
  for (std::atomic<int>& spare : g_spare_descriptors) {
    if (spare.load(std::memory_order_relaxed) >= 0) continue;
    long fd = MoveAboveRuntimeFloor(DirectSyscall(SYS_openat, AT_FDCWD, "/", O_PATH | O_CLOEXEC));
    if (fd >= 0 && fd < RuntimeDescriptorFloor()) {
      // Nothing free above the floor: a spare there would take a number the program just
      // closed (and may expect to get back from its next open).
      CloseDescriptor(static_cast<int>(fd));
      fd = -EMFILE;
    }
    if (fd < 0) {
      g_spare_missing.store(true, std::memory_order_relaxed);  // the table is full: later
      return;
    }
    int none = -1;
    if (!spare.compare_exchange_strong(none, static_cast<int>(fd))) CloseDescriptor(fd);
  }
}

void AdoptSpareDescriptorsAfterFork() {
  g_spare_owner.store(DirectSyscall(SYS_getpid), std::memory_order_relaxed);
}

long OpenWithSpares(const char* path, int flags) {
  return MoveAboveRuntimeFloor(SyscallWithSpares(SYS_openat, AT_FDCWD, reinterpret_cast<long>(path),
                                                 flags | O_CLOEXEC, 0, 0, 0));
}

Env& RawSyscallEnvInstance() {
  static const std::unique_ptr<Env> env =
      MakeSyscallEnv(&SyscallWithSpares, &MoveAboveRuntimeFloor);
  return *env;
}

}  // namespace cove::runtime
