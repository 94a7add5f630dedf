// CommitFlusher: commits what the program wrote but has not committed yet (writes to open
// files, new files closed and staged for a batched fspf write) a short while after it wrote
// them, from a thread of its own. A plain file keeps what was written before its process was
// killed (the page cache has it); without this, a protected one kept only what was committed
// at close, fsync, fork, exec or exit, so a process ended by SIGTERM from a service manager,
// Ctrl-C, a pool's terminate() or SIGPIPE lost its last files. With it, writes are committed
// once they pause for COVE_COMMIT_DELAY_MS (200 ms by default; 0 turns it off), and at least
// every five delays while they go on; and a termination signal that the program leaves at its
// default action first has the flusher commit, then ends the process as the default action
// would (see OnDefaultActionSignal). Only SIGKILL (or a machine crash) loses the last writes.
//
// The thread is started on the first write after start (or after fork, whose child has none)
// and blocks every signal but the trap's (SIGSYS, SIGSEGV). Its commits take the same locks as the
// program's own.
#pragma once

#include <cstdint>

namespace cove::runtime {

class CommitFlusher {
 public:
  // Reads COVE_COMMIT_DELAY_MS; before any other call (the runtime's constructor).
  static void Configure(const char* delay_ms_env);
  static bool Enabled();
  // The longest a change another process staged or wrote may wait for that process's flusher
  // (kMaxDelays delays and one more for the commit itself), assuming the same delay: how long
  // an open waits for such a file's lock (ShieldedFiles::TryOpen). 0 when disabled.
  static int BusyWaitMs();
  // Something was written and is not committed yet: commit it within the delay. Cheap when
  // already noted (one load); starts the thread on first use.
  static void NotePending();
  // From a signal handler (async-signal-safe: atomics and futexes only): has the flusher
  // commit now and waits until nothing is pending, at most `timeout_ms`. False on timeout
  // (the interrupted thread may hold the lock the commit needs).
  static bool CommitNowAndWait(int timeout_ms);
  // In the child of fork: it has no flusher thread yet.
  static void AfterFork();
  // Before the process ends or execs (which end the thread wherever it is: in the middle of a
  // commit, that left the tag file naming an fspf never written): waits for a round in
  // progress and keeps the thread from starting another. Resume() undoes it (a failed exec).
  static void Stop();
  static void Resume();
};

// The signals whose default action ends the process and which the runtime takes over while the
// program leaves them at SIG_DFL (syscall_trap.h, SyscallTrapOptions::default_action_signals).
uint64_t DefaultActionSignalsToCommitOn();
// Their handler: commits (CommitFlusher::CommitNowAndWait), then ends the process with the
// signal's default action.
void OnDefaultActionSignal(int sig);

}  // namespace cove::runtime
