// The helper threads behind ParallelCrypto (see the header for the design constraints).
//
// Hand-off protocol, per helper h and job j (epoch e, unique per job):
//   caller: h.slot = j (wakes h if it sleeps), runs blocks itself, then h.slot.exchange(null):
//           getting j back means h never took the job; getting null means h took it, and the
//           caller waits until h.finished == e.
//   helper: j = h.slot.exchange(null); if non-null, runs blocks until none is left, then
//           h.finished = e and never touches j again.
// Blocks are claimed with j.next.fetch_add, so every block runs exactly once.
#include "shield/parallel_crypto.h"

#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "common/helper_thread.h"
#include "common/tsan.h"
#include "shield/helper_policy.h"

namespace cove::shield {
namespace {

#ifdef COVE_TSAN
// ThreadSanitizer cannot start threads in the child of a multi-threaded fork (it dies): such a
// child runs its jobs on the caller alone.
constexpr bool kHelpersAfterThreadedFork = false;
#else
constexpr bool kHelpersAfterThreadedFork = true;
#endif

constexpr int kMaxThreads = 4;  // the caller and at most three helpers
// How long an idle helper polls for the next job before it sleeps (a sequential reader issues
// its next large read within microseconds, and a job run without helpers for the policy's
// samples takes some 60-500 us at the sizes of cat's reads and read-ahead windows: the next
// helped job often finds the helper awake), and how long a caller polls for a helper's last
// block (a block takes some 10-40 us) before it sleeps until the helper wakes it. Both are
// short: on a busy machine a polling thread takes CPU time from the others.
constexpr std::chrono::microseconds kHelperPoll{100};
constexpr std::chrono::microseconds kCallerPoll{40};
// A helped job went right (Pool::RunAdaptive) when the helpers ran at least this part of their
// fair share of its blocks, and the caller waited for their last blocks at most this many times
// its own time per block. A job followed by the next one later than kMaxTimedInterval (the
// program did something else meanwhile) counts its own time only.
constexpr double kMinShareOfFairShare = 0.5;
constexpr double kMaxWaitPerOwnBlock = 1.0;
constexpr std::chrono::milliseconds kMaxTimedInterval{5};

void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

struct Job {
  ParallelCrypto::BlockFn fn = nullptr;
  void* context = nullptr;
  size_t blocks = 0;
  uint64_t epoch = 0;
  std::atomic<size_t> next{0};
};

// Runs blocks of `job` until none is left; returns how many this thread ran.
size_t Work(Job& job, int thread) {
  for (size_t ran = 0;; ++ran) {
    size_t block = job.next.fetch_add(1, std::memory_order_relaxed);
    if (block >= job.blocks) return ran;
    job.fn(job.context, block, thread);
  }
}

long Futex(std::atomic<uint32_t>* word, int op, uint32_t value) {
  return syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), op | FUTEX_PRIVATE_FLAG, value,
                 nullptr, nullptr, 0);
}

struct alignas(64) Helper {
  std::atomic<Job*> slot{nullptr};
  std::atomic<uint64_t> finished{0};  // epoch of the last job this helper let go of
  std::atomic<uint32_t> wake{0};      // futex word, bumped to wake a sleeping helper
  std::atomic<bool> sleeping{false};
  std::atomic<uint32_t> done{0};  // futex word, bumped after `finished` moves
  std::atomic<bool> caller_waiting{false};
};

class Pool {
 public:
  explicit Pool(int helpers) : helpers_(std::min(helpers, kMaxThreads - 1)) {}

  int helpers() const { return started_; }
  // Starts the helper threads; fewer (even none) when the system refuses threads.
  void Start() {
    for (int i = 0; i < helpers_; ++i) {
      args_[i] = {this, i};
      if (StartHelperThread(&Pool::HelperMain, &args_[i], 256 << 10) != 0) break;
      ++started_;
    }
  }

  bool TryAcquire() { return !busy_.exchange(true, std::memory_order_acquire); }
  void Release() { busy_.store(false, std::memory_order_release); }

  // Runs `job` on the caller, with up to `helpers` helpers when that has been paying off; the
  // caller holds the pool (TryAcquire). `adaptive` false (tests) always uses the helpers.
  // HelperPolicy decides, from what each job measured: a helped job went right when the helpers
  // ran at least half their fair share of its blocks and the caller, done with its own, waited
  // for theirs at most the time it spent per block (helpers running beside the caller take
  // blocks as fast as it does and finish within a block of it; helpers taking turns with it on
  // one CPU get few blocks, or keep it waiting a whole block after its polling); and a job's
  // time per block runs from its start to the next job's start.
  void RunAdaptive(Job& job, int helpers, bool adaptive) {
    auto start = std::chrono::steady_clock::now();
    if (adaptive && last_.pending) {
      // From the last job's start to this one's; its own time when the program did something
      // else in between.
      auto interval = start - last_.start;
      if (interval > kMaxTimedInterval) interval = last_.duration;
      double ns = std::chrono::duration<double, std::nano>(interval).count();
      policy_.Record(last_.helped, last_.went_right,
                     std::max(1.0, ns / static_cast<double>(last_.blocks)));
      last_.pending = false;
    }
    bool helped = helpers > 0 && (!adaptive || policy_.UseHelpers());
    bool went_right = false;
    if (helped) {
      went_right = Run(job, helpers);
    } else {
      Work(job, 0);
    }
    if (adaptive && helpers > 0) {
      last_ = {true,      helped, went_right, start, std::chrono::steady_clock::now() - start,
               job.blocks};
    }
  }

  // Runs `job` with `helpers` helpers; true if the helpers ran their part of its blocks and did
  // not keep the caller waiting long for them (see RunAdaptive).
  bool Run(Job& job, int helpers) {
    job.epoch = ++epoch_;
    for (int i = 0; i < helpers; ++i) {
      Helper& h = slots_[i];
      h.slot.store(&job, std::memory_order_seq_cst);
      if (h.sleeping.load(std::memory_order_seq_cst)) {
        h.wake.fetch_add(1, std::memory_order_seq_cst);
        Futex(&h.wake, FUTEX_WAKE, 1);
      }
    }
    auto start = std::chrono::steady_clock::now();
    size_t own = Work(job, 0);
    auto own_end = std::chrono::steady_clock::now();
    bool helped = false;
    for (int i = 0; i < helpers; ++i) {
      Helper& h = slots_[i];
      if (h.slot.exchange(nullptr, std::memory_order_acq_rel) == &job) continue;  // not taken
      helped = true;
      WaitUntilFinished(h, job.epoch);
    }
    if (!helped || own == job.blocks) return false;
    helped_jobs_.fetch_add(1, std::memory_order_relaxed);
    double fair_share = static_cast<double>(job.blocks) / (helpers + 1);
    if (static_cast<double>(job.blocks - own) < kMinShareOfFairShare * fair_share * helpers) {
      return false;
    }
    if (own == 0) return true;
    auto waited = std::chrono::steady_clock::now() - own_end;
    return waited <= (own_end - start) * kMaxWaitPerOwnBlock / own;
  }

  // Waits until helper `h` has let go of the job of `epoch` (it holds at most one block of it).
  static void WaitUntilFinished(Helper& h, uint64_t epoch) {
    if (h.finished.load(std::memory_order_acquire) == epoch) return;
    auto start = std::chrono::steady_clock::now();
    for (int spins = 1; h.finished.load(std::memory_order_acquire) != epoch; ++spins) {
      CpuRelax();
      if (spins % 64 == 0 && std::chrono::steady_clock::now() - start >= kCallerPoll) break;
    }
    for (;;) {
      uint32_t seen = h.done.load(std::memory_order_seq_cst);
      h.caller_waiting.store(true, std::memory_order_seq_cst);
      if (h.finished.load(std::memory_order_seq_cst) == epoch) break;
      Futex(&h.done, FUTEX_WAIT, seen);  // returns at once if `done` moved meanwhile
    }
    h.caller_waiting.store(false, std::memory_order_relaxed);
  }

  size_t helped_jobs() const { return helped_jobs_.load(std::memory_order_relaxed); }

 private:
  struct HelperArg {
    Pool* pool;
    int index;
  };

  static void* HelperMain(void* arg) {
    auto* a = static_cast<HelperArg*>(arg);
    a->pool->Serve(a->pool->slots_[a->index], a->index + 1);
    return nullptr;
  }

  [[noreturn]] void Serve(Helper& h, int thread) {
    for (;;) {
      auto poll_end = std::chrono::steady_clock::now() + kHelperPoll;
      for (int spins = 1; h.slot.load(std::memory_order_relaxed) == nullptr; ++spins) {
        CpuRelax();
        if (spins % 64 == 0 && std::chrono::steady_clock::now() >= poll_end) break;
      }
      if (h.slot.load(std::memory_order_seq_cst) == nullptr) {
        uint32_t seen = h.wake.load(std::memory_order_seq_cst);
        h.sleeping.store(true, std::memory_order_seq_cst);
        if (h.slot.load(std::memory_order_seq_cst) == nullptr) {
          Futex(&h.wake, FUTEX_WAIT, seen);  // returns at once if `wake` moved meanwhile
        }
        h.sleeping.store(false, std::memory_order_relaxed);
      }
      Job* job = h.slot.exchange(nullptr, std::memory_order_acq_rel);
      if (job == nullptr) continue;  // spurious wake, or the caller already took it back
      uint64_t epoch = job->epoch;
      Work(*job, thread);
      h.finished.store(epoch, std::memory_order_seq_cst);  // `job` is not touched after this
      h.done.fetch_add(1, std::memory_order_seq_cst);
      if (h.caller_waiting.load(std::memory_order_seq_cst)) Futex(&h.done, FUTEX_WAKE, 1);
    }
  }

  const int helpers_;
  int started_ = 0;
  std::atomic<bool> busy_{false};
  // Written only by the pool's current holder (see RunAdaptive):
  uint64_t epoch_ = 0;
  HelperPolicy policy_;
  struct LastJob {  // the previous job, recorded once the next one starts
    bool pending = false;
    bool helped = false;
    bool went_right = false;
    std::chrono::steady_clock::time_point start;
    std::chrono::steady_clock::duration duration{};
    size_t blocks = 0;
  } last_;
  std::atomic<size_t> helped_jobs_{0};
  Helper slots_[kMaxThreads - 1];
  HelperArg args_[kMaxThreads - 1];
};

std::atomic<Pool*> g_pool{nullptr};
std::atomic<bool> g_creating{false};
std::atomic<int> g_test_threads{0};
std::atomic<bool> g_no_helpers{false};
std::atomic<size_t> g_helped_before_fork{0};

int DefaultThreads() {
  static const int threads = [] {
    // COVE_CRYPTO_THREADS overrides the CPU count (1 turns the helpers off). The runtime
    // refuses a malformed value before main (runtime/config.cc); here anything that is not a
    // plain positive number means no helpers.
    const char* configured = std::getenv("COVE_CRYPTO_THREADS");
    int wanted = static_cast<int>(std::thread::hardware_concurrency());
    if (configured != nullptr && *configured != '\0') {
      char* end = nullptr;
      long value = std::strtol(configured, &end, 10);
      wanted = (*end == '\0' && value > 0 && value <= 64) ? static_cast<int>(value) : 1;
    }
    return std::clamp<int>(wanted, 1, kMaxThreads);
  }();
  return threads;
}

// The child of a fork has none of the parent's threads: forget the pool (it is leaked, as its
// state may be mid-job) so that the next job starts new helpers.
void ForgetPoolInChild() {
  if (!kHelpersAfterThreadedFork && g_pool.load(std::memory_order_relaxed) != nullptr) {
    g_no_helpers.store(true, std::memory_order_relaxed);
  }
  g_pool.store(nullptr, std::memory_order_relaxed);
  g_creating.store(false, std::memory_order_relaxed);
}

// The process's pool, started on first use; nullptr while another thread starts it.
Pool* GetPool(int helpers) {
  Pool* pool = g_pool.load(std::memory_order_acquire);
  if (pool != nullptr || g_no_helpers.load(std::memory_order_relaxed)) return pool;
  if (g_creating.exchange(true, std::memory_order_acq_rel)) return nullptr;
  static const bool registered = pthread_atfork(nullptr, nullptr, ForgetPoolInChild) == 0;
  (void)registered;
  pool = new (std::nothrow) Pool(helpers);
  if (pool != nullptr) {
    pool->Start();
    g_pool.store(pool, std::memory_order_release);
  }
  g_creating.store(false, std::memory_order_release);
  return pool;
}

}  // namespace

int ParallelCrypto::MaxThreads() {
  int test = g_test_threads.load(std::memory_order_relaxed);
  return test > 0 ? std::min(test, kMaxThreads) : DefaultThreads();
}

void ParallelCrypto::SetMaxThreadsForTesting(int threads) {
  g_test_threads.store(threads, std::memory_order_relaxed);
}

size_t ParallelCrypto::HelpedJobsForTesting() {
  Pool* pool = g_pool.load(std::memory_order_acquire);
  return pool != nullptr ? pool->helped_jobs() : 0;
}

void ParallelCrypto::RunImpl(size_t blocks, int threads, BlockFn fn, void* context) {
  Job job;
  job.fn = fn;
  job.context = context;
  job.blocks = blocks;
  threads = std::min(threads, MaxThreads());
  if (threads > 1 && blocks > 1) {
    if (Pool* pool = GetPool(threads - 1); pool != nullptr && pool->TryAcquire()) {
      int helpers = static_cast<int>(std::min<size_t>(
          {static_cast<size_t>(threads - 1), static_cast<size_t>(pool->helpers()), blocks - 1}));
      pool->RunAdaptive(job, helpers, g_test_threads.load(std::memory_order_relaxed) == 0);
      pool->Release();
      return;
    }
  }
  Work(job, 0);
}

}  // namespace cove::shield
