// HelperPolicy: when ParallelCrypto's jobs should use helper threads (see RunAdaptive in
// parallel_crypto.cc for how a job tells whether its helpers paid off). Kept apart, without
// clocks or threads, so that its decisions can be tested one job at a time.
#pragma once

#include <algorithm>

namespace cove::shield {

class HelperPolicy {
 public:
  // Jobs run without helpers after a verdict against them: at first this many, twice as many
  // after each further verdict in a row, at most kMaxBackoffJobs.
  static constexpr int kMinBackoffJobs = 8;
  static constexpr int kMaxBackoffJobs = 512;
  // The moving share of recent helped jobs that went wrong above which helpers are dropped.
  static constexpr double kMaxBadShare = 0.5;

  // Whether the next job should use the helpers. A false answer counts as one job run without.
  bool UseHelpers() {
    if (skip_ == 0) return true;
    --skip_;
    warming_up_ = true;  // the helpers go to sleep meanwhile
    return false;
  }

  // The outcome of a job that used the helpers. The first such job after jobs without them
  // (or ever) woke the helpers, which takes about as long as a job: it is not judged.
  void Record(bool went_right) {
    if (warming_up_) {
      warming_up_ = false;
      return;
    }
    bad_share_ = 0.75 * bad_share_ + (went_right ? 0.0 : 0.25);
    good_in_a_row_ = went_right ? good_in_a_row_ + 1 : 0;
    if (bad_share_ > kMaxBadShare) {
      skip_ = backoff_;
      backoff_ = std::min(backoff_ * 2, kMaxBackoffJobs);
      bad_share_ = 0;
    } else if (good_in_a_row_ >= kMinBackoffJobs) {
      backoff_ = kMinBackoffJobs;  // the helpers have a CPU again: verdicts start afresh
    }
  }

 private:
  int backoff_ = kMinBackoffJobs;
  int skip_ = 0;            // jobs left to run without helpers
  double bad_share_ = 0;    // moving share of recent helped jobs that went wrong
  int good_in_a_row_ = 0;   // helped jobs that went right since the last that did not
  bool warming_up_ = true;  // the next helped job wakes the helpers (not judged)
};

}  // namespace cove::shield
