// HelperPolicy: when ParallelCrypto's jobs should use helper threads. Kept apart, without
// clocks or threads, so that its decisions can be tested one job at a time; Pool::RunAdaptive in
// parallel_crypto.cc feeds it what each job measured.
//
// Helpers pay off only when a CPU is free for them, and two things tell that they are not:
//  * Per helped job: the helpers ran less than their part of its blocks, or kept the caller
//    waiting long for their last ones (they take turns with the caller on one CPU).
//  * Over time: jobs with helpers come no faster than jobs without. This catches what a single
//    job cannot see. Linux's autogroups give a session a fixed share of the CPUs however many
//    threads it runs: on a machine busy with other sessions the helpers run beside the caller,
//    but what they (and their polling between jobs) use is taken from the caller's share. The
//    time counted per block is from one job's start to the next one's, so it includes what the
//    program does between its reads (the job's own time when the next one comes much later).
//    Every kSerialSampleEvery-th job runs without helpers to keep the figure to beat current.
// Either verdict makes the next jobs run without helpers: kMinBackoffJobs at first, twice as
// many after each further verdict in a row, at most kMaxBackoffJobs. The helpers sleep during
// those jobs; the first helped job after them wakes them, and is not judged.
#pragma once

#include <algorithm>

namespace cove::shield {

class HelperPolicy {
 public:
  static constexpr int kMinBackoffJobs = 8;
  static constexpr int kMaxBackoffJobs = 512;
  // Odd, so that the samples fall on every kind of job of a program that alternates two kinds
  // (cp between protected files: a read job, then a write job).
  static constexpr int kSerialSampleEvery = 31;
  // The moving share of recent helped jobs that went wrong above which helpers are dropped.
  static constexpr double kMaxBadShare = 0.5;
  // Helped jobs timed before they are compared with jobs without helpers, and the part of
  // the latter's time per block that they must beat.
  static constexpr int kTimedBeforeVerdict = 4;
  static constexpr double kMinSpeedup = 1.0;

  // Whether the next job should use the helpers.
  bool UseHelpers() {
    if (skip_ > 0) {
      --skip_;
      warming_up_ = true;  // the helpers go to sleep meanwhile
      return false;
    }
    if (serial_ns_ == 0 || ++since_serial_ >= kSerialSampleEvery) {
      since_serial_ = 0;
      warming_up_ = true;
      return false;
    }
    return true;
  }

  // What a job told: whether it used the helpers (as UseHelpers said), whether it went right
  // (helped jobs only, see above), and its time per block (> 0) up to the next job's start.
  void Record(bool helped, bool went_right, double ns_per_block) {
    if (!helped) {
      serial_ns_ = Average(serial_ns_, ns_per_block);
      return;
    }
    if (warming_up_) {
      warming_up_ = false;
      return;
    }
    bad_share_ = 0.75 * bad_share_ + (went_right ? 0.0 : 0.25);
    good_in_a_row_ = went_right ? good_in_a_row_ + 1 : 0;
    helped_ns_ = Average(helped_ns_, ns_per_block);
    ++timed_;
    bool slower = timed_ >= kTimedBeforeVerdict && helped_ns_ > kMinSpeedup * serial_ns_;
    if (bad_share_ > kMaxBadShare || slower) {
      skip_ = backoff_;
      backoff_ = std::min(backoff_ * 2, kMaxBackoffJobs);
      bad_share_ = 0;
      helped_ns_ = 0;
      timed_ = 0;
      good_in_a_row_ = 0;
    } else if (good_in_a_row_ >= kMinBackoffJobs) {
      backoff_ = kMinBackoffJobs;  // the helpers have a CPU again: verdicts start afresh
    }
  }

 private:
  static double Average(double average, double sample) {
    return average == 0 ? sample : 0.75 * average + 0.25 * sample;
  }

  int backoff_ = kMinBackoffJobs;
  int skip_ = 0;            // jobs left to run without helpers
  int since_serial_ = 0;    // jobs since the last one without helpers
  double serial_ns_ = 0;    // moving time per block of jobs without helpers (0: none yet)
  double helped_ns_ = 0;    // ... and of judged helped jobs since the last verdict
  int timed_ = 0;           // judged helped jobs in helped_ns_
  double bad_share_ = 0;    // moving share of recent helped jobs that went wrong
  int good_in_a_row_ = 0;   // helped jobs that went right since the last that did not
  bool warming_up_ = true;  // the next helped job wakes the helpers (not judged)
};

}  // namespace cove::shield
