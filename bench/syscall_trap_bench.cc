// Cost of the raw-syscall trap: a syscall issued outside the runtime (trapped, SIGSYS round
// trip) against the same syscall through the runtime's trampoline, small unprotected
// workloads (stdio file read, thread create/join) before and after the trap is installed, and
// the trampoline's own syscalls before and after (the kernel's Syscall User Dispatch cost on
// calls it lets through: what every interposed call on an unprotected file pays).
// Benchmarks named Native* run first, in a process without the trap; installing it cannot be
// undone, so every benchmark after the first Trapped* one runs with the trap.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "runtime/raw_syscall.h"
#include "runtime/syscall_trap.h"

namespace cove::runtime {
namespace {

// A dispatcher that emulates nothing: measures the trap's own cost on consulted syscalls.
bool PassThrough(long, long[6], long*) {
  return false;
}

void EnsureTrap(benchmark::State& state) {
  if (SyscallTrapInstalled()) return;
  SyscallTrapOptions options;
  options.dispatcher = &PassThrough;
  if (Status s = InstallSyscallTrap(options); !s.ok()) state.SkipWithError(s.ToString().c_str());
}

const char* SmallFile() {
  static const char* path = [] {
    static char name[] = "/tmp/cove-trap-bench-XXXXXX";
    int fd = mkstemp(name);
    char block[4096] = {'x'};
    if (fd < 0 || write(fd, block, sizeof block) != sizeof block) abort();
    close(fd);
    return name;
  }();
  return path;
}

void ReadSmallFileWithStdio() {
  FILE* f = fopen(SmallFile(), "r");
  char buffer[4096];
  benchmark::DoNotOptimize(fread(buffer, 1, sizeof buffer, f));
  fclose(f);
}

void CreateAndJoinThread() {
  pthread_t thread;
  pthread_create(
      &thread, nullptr, [](void*) -> void* { return nullptr; }, nullptr);
  pthread_join(thread, nullptr);
}

// The split the runtime's pass-through path pays on every interposed call: the same syscalls
// through the trampoline (so never trapped) before the trap is installed (Syscall User
// Dispatch off) and after (on: the kernel takes its syscall-work slow path, checks the
// instruction pointer against the allowed range, and lets the call through). The difference
// is the kernel's cost of Syscall User Dispatch for a call that is not trapped.
int DevZero() {
  static int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
  return fd;
}
int SmallFileFd() {
  static int fd = open(SmallFile(), O_RDONLY | O_CLOEXEC);
  return fd;
}
void TrampolineRead1(benchmark::State& state) {
  char byte;
  for (auto _ : state) {
    benchmark::DoNotOptimize(RawSyscall3(SYS_read, DevZero(), reinterpret_cast<long>(&byte), 1));
  }
}
void TrampolinePread64(benchmark::State& state) {
  char buffer[64];
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        RawSyscall4(SYS_pread64, SmallFileFd(), reinterpret_cast<long>(buffer), 64, 0));
  }
}
void TrampolineStat(benchmark::State& state) {
  struct stat st;
  for (auto _ : state) {
    benchmark::DoNotOptimize(RawSyscall4(SYS_newfstatat, AT_FDCWD,
                                         reinterpret_cast<long>(SmallFile()),
                                         reinterpret_cast<long>(&st), 0));
  }
}
void TrampolineOpenClose(benchmark::State& state) {
  for (auto _ : state) {
    long fd = RawSyscall3(SYS_openat, AT_FDCWD, reinterpret_cast<long>(SmallFile()),
                          O_RDONLY | O_CLOEXEC);
    RawSyscall1(SYS_close, fd);
  }
}
void BM_NativeTrampolineGetppid(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(RawSyscall0(SYS_getppid));
}
void BM_NativeTrampolineRead1(benchmark::State& state) {
  TrampolineRead1(state);
}
void BM_NativeTrampolinePread64(benchmark::State& state) {
  TrampolinePread64(state);
}
void BM_NativeTrampolineStat(benchmark::State& state) {
  TrampolineStat(state);
}
void BM_NativeTrampolineOpenClose(benchmark::State& state) {
  TrampolineOpenClose(state);
}
void BM_TrampolineRead1(benchmark::State& state) {
  EnsureTrap(state);
  TrampolineRead1(state);
}
void BM_TrampolinePread64(benchmark::State& state) {
  EnsureTrap(state);
  TrampolinePread64(state);
}
void BM_TrampolineStat(benchmark::State& state) {
  EnsureTrap(state);
  TrampolineStat(state);
}
void BM_TrampolineOpenClose(benchmark::State& state) {
  EnsureTrap(state);
  TrampolineOpenClose(state);
}

void BM_NativeGetppid(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(syscall(SYS_getppid));
}
void BM_NativeStdioReadSmallFile(benchmark::State& state) {
  for (auto _ : state) ReadSmallFileWithStdio();
}
void BM_NativeThreadCreateJoin(benchmark::State& state) {
  for (auto _ : state) CreateAndJoinThread();
}

// The baseline of the ratio: through the trampoline, in range, never trapped.
void BM_TrampolineGetppid(benchmark::State& state) {
  EnsureTrap(state);
  for (auto _ : state) benchmark::DoNotOptimize(RawSyscall0(SYS_getppid));
}
// Not consulted (not file-related): SIGSYS round trip + the real syscall.
void BM_TrappedGetppid(benchmark::State& state) {
  EnsureTrap(state);
  for (auto _ : state) benchmark::DoNotOptimize(syscall(SYS_getppid));
}
// Consulted (file-related): adds the signal-mask switch around the dispatcher.
void BM_TrappedPread(benchmark::State& state) {
  EnsureTrap(state);
  static int fd = open(SmallFile(), O_RDONLY);
  char byte;
  for (auto _ : state) benchmark::DoNotOptimize(syscall(SYS_pread64, fd, &byte, 1, 0));
}
void BM_TrappedStdioReadSmallFile(benchmark::State& state) {
  EnsureTrap(state);
  for (auto _ : state) ReadSmallFileWithStdio();
}
void BM_TrappedThreadCreateJoin(benchmark::State& state) {
  EnsureTrap(state);
  for (auto _ : state) CreateAndJoinThread();
}

BENCHMARK(BM_NativeTrampolineGetppid);
BENCHMARK(BM_NativeTrampolineRead1);
BENCHMARK(BM_NativeTrampolinePread64);
BENCHMARK(BM_NativeTrampolineStat);
BENCHMARK(BM_NativeTrampolineOpenClose);
BENCHMARK(BM_NativeGetppid);
BENCHMARK(BM_NativeStdioReadSmallFile);
BENCHMARK(BM_NativeThreadCreateJoin);
BENCHMARK(BM_TrampolineGetppid);
BENCHMARK(BM_TrampolineRead1);
BENCHMARK(BM_TrampolinePread64);
BENCHMARK(BM_TrampolineStat);
BENCHMARK(BM_TrampolineOpenClose);
BENCHMARK(BM_TrappedGetppid);
BENCHMARK(BM_TrappedPread);
BENCHMARK(BM_TrappedStdioReadSmallFile);
BENCHMARK(BM_TrappedThreadCreateJoin);

}  // namespace
}  // namespace cove::runtime

BENCHMARK_MAIN();
