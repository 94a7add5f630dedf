// ParallelCrypto: spreads the chunk crypto of one large read or write over the calling thread
// and a few helper threads, so that sequential I/O is not bound by one core's AES-GCM speed.
//
// The runtime lives inside someone else's process, which shapes the design:
//  * helpers are started lazily, by the first job that asks for them (small I/O never does);
//  * the caller always works on the job itself and the blocks are handed out one at a time
//    (work stealing), so the caller waits only for blocks a helper has actually claimed: a helper
//    that is slow to wake, descheduled or missing (a child forked by a raw clone has no threads)
//    costs speed, never a hang;
//  * there are no mutexes: the job hand-off is a few atomics and a futex, so a fork at any moment
//    or a signal handler that does I/O cannot deadlock on a lock held by the interrupted code. A
//    job started while another one runs (another thread, or a signal handler interrupting a job)
//    runs on the calling thread alone;
//  * helpers are used only while they pay off (HelperPolicy, helper_policy.h): on a machine
//    whose CPUs are busy with other work (where helpers wait for CPU time or take it from the
//    caller) jobs run on the caller alone, trying helpers again now and then;
//  * after fork() the child forgets the parent's helpers (pthread_atfork) and starts its own when
//    it needs them;
//  * helpers block every signal but SIGSYS (which the runtime's syscall trap needs), so the
//    program's signals keep going to its own threads.
// Helpers never touch plaintext buffers of their own: they run the caller's function on the
// caller's buffers, and the caller returns only once every helper has let go of the job.
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

namespace cove::shield {

class ParallelCrypto {
 public:
  // Upper bound of the threads a job may use, the caller included (helpers + 1): what slot
  // arrays indexed by the `thread` argument of Run's function must hold. At least 1.
  static int MaxThreads();

  // Calls fn(block, thread) once for every block in [0, blocks) and returns when every call has
  // returned. The calls run on the calling thread (thread 0) and, when threads > 1 and
  // blocks > 1, on up to threads - 1 helpers (threads 1 .. threads-1); `threads` is capped by
  // MaxThreads(). Blocks should be of similar size (the adaptive policy times jobs per block).
  // Calls on one thread run one after the other; `fn` must be safe to run
  // concurrently for different blocks on different threads and must not throw.
  template <typename Fn>
  static void Run(size_t blocks, int threads, Fn&& fn) {
    using F = std::remove_reference_t<Fn>;
    RunImpl(
        blocks, threads,
        [](void* context, size_t block, int thread) { (*static_cast<F*>(context))(block, thread); },
        const_cast<void*>(static_cast<const void*>(&fn)));
  }

  using BlockFn = void (*)(void* context, size_t block, int thread);

  // For tests: sets the threads of every later job and turns the adaptive policy off, so that
  // jobs always use helpers (1: always serial; 0: back to the default, one per CPU up to 4, or
  // COVE_CRYPTO_THREADS). Helpers are started once, as many as the first parallel job wanted.
  static void SetMaxThreadsForTesting(int threads);
  // For tests: jobs run so far in which helpers ran at least one block.
  static size_t HelpedJobsForTesting();

 private:
  static void RunImpl(size_t blocks, int threads, BlockFn fn, void* context);
};

}  // namespace cove::shield
