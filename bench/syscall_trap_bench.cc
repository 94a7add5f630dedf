// Cost of the raw-syscall trap: a syscall issued outside the runtime (trapped, SIGSYS round
// trip) against the same syscall through the runtime's trampoline, and small unprotected
// workloads (stdio file read, thread create/join) before and after the trap is installed.
// Benchmarks named Native* run first, in a process without the trap; installing it cannot be
// undone, so every benchmark after the first Trapped* one runs with the trap.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "runtime/raw_syscall.h"
#include "runtime/syscall_trap.h"

namespace cove::runtime {
namespace {

// A dispatcher that emulates nothing: measures the trap's own cost on consulted syscalls.
bool PassThrough(long, const long[6], long*) {
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

BENCHMARK(BM_NativeGetppid);
BENCHMARK(BM_NativeStdioReadSmallFile);
BENCHMARK(BM_NativeThreadCreateJoin);
BENCHMARK(BM_TrampolineGetppid);
BENCHMARK(BM_TrappedGetppid);
BENCHMARK(BM_TrappedPread);
BENCHMARK(BM_TrappedStdioReadSmallFile);
BENCHMARK(BM_TrappedThreadCreateJoin);

}  // namespace
}  // namespace cove::runtime

BENCHMARK_MAIN();
