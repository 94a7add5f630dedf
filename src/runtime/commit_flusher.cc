// CommitFlusher (see commit_flusher.h): one detached thread per process, woken through futexes
// by the first uncommitted write, which commits after the delay. The signal-handler side uses
// only atomics, futexes and raw syscalls.
#include "runtime/commit_flusher.h"

#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <utility>

#include "common/helper_thread.h"
#include "runtime/direct_syscall.h"
#include "runtime/runtime_log.h"
#include "runtime/shielded_files.h"

namespace cove::runtime {
namespace {

constexpr int kDefaultDelayMs = 200;
int g_delay_ms = kDefaultDelayMs;
// A burst of writes is committed at the latest this many delays after its first write.
constexpr int kMaxDelays = 5;

std::atomic<uint32_t> g_pending{0};  // futex word: 1 while written data waits for a commit
std::atomic<uint32_t> g_writes{0};   // bumped by every NotePending: the writes go on
std::atomic<uint32_t> g_hurry{0};    // futex word: bumped to cut the delay short
std::atomic<uint32_t> g_busy{0};     // 1 while a commit round runs
std::atomic<uint32_t> g_rounds{0};   // futex word: bumped after every round
std::atomic<bool> g_started{false};
// Held by the thread for each commit round and by fork's prepare handler: a child never starts
// with the runtime's locks held by a flusher that does not exist there.
std::mutex g_round;
std::atomic<bool> g_stopped{false};  // Stop() holds g_round
bool g_round_locked_for_fork = false;

long Futex(std::atomic<uint32_t>* word, int op, uint32_t value, const timespec* timeout) {
  return DirectSyscall(SYS_futex, reinterpret_cast<uint32_t*>(word), op | FUTEX_PRIVATE_FLAG, value,
                       timeout, nullptr, 0);
}

void* FlusherMain(void* /*unused*/) {
  for (;;) {
    while (g_pending.load(std::memory_order_acquire) == 0) {
      Futex(&g_pending, FUTEX_WAIT, 0, nullptr);
    }
    // A quiet period: the commit waits until the writes pause for a delay, so that a bulk
    // writer is not interrupted by commits, but no longer than kMaxDelays delays after the
    // first write it covers. A termination signal's request cuts the wait short.
    timespec delay{g_delay_ms / 1000, static_cast<long>(g_delay_ms % 1000) * 1000000L};
    for (int waited = 0; waited < kMaxDelays; ++waited) {
      uint32_t writes = g_writes.load(std::memory_order_acquire);
      uint32_t hurry = g_hurry.load(std::memory_order_acquire);
      if (Futex(&g_hurry, FUTEX_WAIT, hurry, &delay) != -ETIMEDOUT) break;  // hurried
      if (g_writes.load(std::memory_order_acquire) == writes) break;        // quiet
    }
    {
      std::lock_guard round(g_round);
      g_busy.store(1, std::memory_order_release);
      g_pending.store(0, std::memory_order_release);  // writes from now on: the next round
      if (ShieldedFiles* files = ShieldedFiles::Instance(); files != nullptr) {
        (void)files->CommitPending();
      }
      g_busy.store(0, std::memory_order_release);
    }
    g_rounds.fetch_add(1, std::memory_order_acq_rel);
    Futex(&g_rounds, FUTEX_WAKE, INT_MAX, nullptr);
  }
  return nullptr;
}

void StartThread() {
  bool expected = false;
  if (!g_started.compare_exchange_strong(expected, true)) return;
  if (int created = StartHelperThread(&FlusherMain, nullptr, 1 << 20); created != 0) {
    g_started.store(false);
    Log(kLogWarning, "no commit thread (errno %d): writes are committed at close, fsync and exit",
        created);
  }
}

}  // namespace

void CommitFlusher::Configure(const char* delay_ms_env) {
  if (delay_ms_env != nullptr && delay_ms_env[0] != '\0') {
    char* end = nullptr;
    long value = strtol(delay_ms_env, &end, 10);
    if (*end == '\0' && value >= 0 && value <= 60000) {
      g_delay_ms = static_cast<int>(value);
    } else {
      Log(kLogWarning, "COVE_COMMIT_DELAY_MS=%s: not 0..60000, using %d", delay_ms_env,
          kDefaultDelayMs);
    }
  }
  pthread_atfork(
      [] {
        if (!g_stopped.load()) {
          g_round.lock();
          g_round_locked_for_fork = true;
        }
      },
      [] {
        if (std::exchange(g_round_locked_for_fork, false)) g_round.unlock();
      },
      [] {
        // The forking thread holds g_round here either way: for the fork, or stopped.
        if (std::exchange(g_round_locked_for_fork, false) || g_stopped.exchange(false)) {
          g_round.unlock();
        }
        CommitFlusher::AfterFork();
      });
}

bool CommitFlusher::Enabled() {
  return g_delay_ms > 0;
}

int CommitFlusher::BusyWaitMs() {
  return (kMaxDelays + 1) * g_delay_ms;
}

void CommitFlusher::NotePending() {
  if (g_delay_ms == 0) return;
  g_writes.fetch_add(1, std::memory_order_relaxed);
  if (g_pending.load(std::memory_order_relaxed) != 0) return;
  if (g_pending.exchange(1, std::memory_order_acq_rel) != 0) return;
  if (!g_started.load(std::memory_order_acquire)) {
    // A child on its parent's memory (vfork) must not create threads: its exec commits.
    ShieldedFiles* files = ShieldedFiles::Instance();
    if (files == nullptr || files->InBorrowedMemory()) return;
    StartThread();
  }
  Futex(&g_pending, FUTEX_WAKE, 1, nullptr);
}

bool CommitFlusher::CommitNowAndWait(int timeout_ms) {
  if (g_delay_ms == 0 || !g_started.load(std::memory_order_acquire) || g_stopped.load()) {
    return true;  // (stopped: the process is already committing on its way out)
  }
  timespec start{};
  DirectSyscall(SYS_clock_gettime, CLOCK_MONOTONIC, &start);
  for (;;) {
    if (g_pending.load(std::memory_order_acquire) == 0 &&
        g_busy.load(std::memory_order_acquire) == 0) {
      return true;
    }
    uint32_t rounds = g_rounds.load(std::memory_order_acquire);
    g_hurry.fetch_add(1, std::memory_order_acq_rel);
    Futex(&g_hurry, FUTEX_WAKE, 1, nullptr);
    timespec now{};
    DirectSyscall(SYS_clock_gettime, CLOCK_MONOTONIC, &now);
    long elapsed_ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
    if (elapsed_ms >= timeout_ms) return false;
    timespec slice{0, 50 * 1000000L};  // re-checks in case a round ended before the wait
    Futex(&g_rounds, FUTEX_WAIT, rounds, &slice);
  }
}

namespace {
// A child on its parent's memory (vfork) leaves the parent's thread alone: its exec does not
// end it, and the state here is the parent's.
bool InChildOnParentMemory() {
  ShieldedFiles* files = ShieldedFiles::Instance();
  return files != nullptr && files->InBorrowedMemory();
}
}  // namespace

void CommitFlusher::Stop() {
  if (InChildOnParentMemory() || g_stopped.exchange(true)) return;
  g_round.lock();
}

void CommitFlusher::Resume() {
  if (!InChildOnParentMemory() && g_stopped.exchange(false)) g_round.unlock();
}

void CommitFlusher::AfterFork() {
  g_started.store(false);
  g_busy.store(0);
  // What the parent had pending it committed before the fork; the child's own writes start a
  // thread of its own.
  g_pending.store(0);
}

uint64_t DefaultActionSignalsToCommitOn() {
  if (!CommitFlusher::Enabled()) return 0;
  uint64_t set = 0;
  // Not SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL: they mostly tell of a program whose memory
  // may be corrupt (malloc's abort, a bad pointer), and a commit from it could seal that.
  for (int sig : {SIGHUP, SIGINT, SIGQUIT, SIGPIPE, SIGALRM, SIGTERM, SIGUSR1, SIGUSR2}) {
    set |= uint64_t{1} << (sig - 1);
  }
  return set;
}

namespace {

// How long a termination signal waits for the commit of the pending writes.
constexpr int kCommitTimeoutMs = 2000;

// The default action of `sig`, now: the process ends by it, as it would have at once.
void EndBySignal(int sig) {
  struct {
    uintptr_t handler = 0;  // SIG_DFL
    unsigned long flags = 0;
    uintptr_t restorer = 0;
    uint64_t mask = 0;
  } default_action;
  DirectSyscall(SYS_rt_sigaction, sig, &default_action, nullptr, 8);
  uint64_t bit = uint64_t{1} << (sig - 1);
  DirectSyscall(SYS_rt_sigprocmask, SIG_UNBLOCK, &bit, nullptr, 8);
  DirectSyscall(SYS_tkill, DirectSyscall(SYS_gettid), sig);
}

}  // namespace

void OnDefaultActionSignal(int sig) {
  // Inside the shield this thread may hold the locks the commit needs: the signal waits until
  // it leaves (RunDeferredSignal), a few syscalls later.
  if (ShieldScope::Inside()) {
    ShieldScope::deferred_signal = sig;
    return;
  }
  int saved_errno = errno;
  // A bounded wait: another of the program's threads may hold a lock the commit needs.
  if (!CommitFlusher::CommitNowAndWait(kCommitTimeoutMs)) {
    Log(kLogError, "signal %d: the last writes could not be committed in time", sig);
  }
  EndBySignal(sig);
  errno = saved_errno;
}

void RunDeferredSignal() {
  int sig = ShieldScope::deferred_signal;
  ShieldScope::deferred_signal = 0;
  // Out of the shield now, holding none of its locks: the commit thread can do its part (a
  // bounded wait, as in the handler).
  if (!CommitFlusher::CommitNowAndWait(kCommitTimeoutMs)) {
    Log(kLogError, "signal %d: the last writes could not be committed in time", sig);
  }
  EndBySignal(sig);
}

}  // namespace cove::runtime
