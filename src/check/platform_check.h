// The decision of `cove check`: can simulation mode (and hardware mode) run on a machine, and if
// not, why. Evaluate is pure, tested on synthetic reports; CheckSimulationModeSupported and
// CheckHardwareModeSupported are what the runtime calls at start to refuse with the same message.
// Light on purpose (no JSON, no CLI): the runtime lives inside other programs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "check/platform_report.h"
#include "common/status.h"

namespace cove::check {

inline constexpr uint64_t kMiB = 1024 * 1024;
// SCONE_HEAP's default: an enclave's heap, committed at start in SGX v1.
inline constexpr uint64_t kDefaultHeapBytes = 64 * kMiB;
// Stacks, the runtime itself and the shield's chunk buffers on top of the heap.
inline constexpr uint64_t kRuntimeMarginBytes = 32 * kMiB;

struct Requirements {
  // MemAvailable below this refuses to start: the program's heap would not fit.
  uint64_t min_available_memory_bytes = kDefaultHeapBytes + kRuntimeMarginBytes;
};

struct Verdict {
  bool simulation_mode_ok = false;
  bool hardware_mode_ok = false;
  // Why simulation mode cannot run; empty when it can. Each names the missing fact and why
  // cove needs it, e.g. "CPU lacks AES-NI: simulation mode needs AES-NI for ...".
  std::vector<std::string> simulation_reasons;
  // Why hardware mode cannot run: every simulation reason (the shield is the same) plus its own,
  // e.g. the missing SGX driver.
  std::vector<std::string> hardware_reasons;
  // Facts worth knowing that do not block: missing performance features, active hyperthreading
  // with an unmitigated side channel, unreadable memory information.
  std::vector<std::string> warnings;
};

// Judges `report` against `requirements`.
Verdict Evaluate(const PlatformReport& report, const Requirements& requirements = {});

// Ok when the verdict allows the mode; otherwise kFailedPrecondition whose message joins the
// reasons with "; ".
Status SimulationModeStatus(const Verdict& verdict);
Status HardwareModeStatus(const Verdict& verdict);

// Probes this machine and judges it: the runtime's start-up check for SCONE_MODE=sim / hw.
Status CheckSimulationModeSupported(const Requirements& requirements = {});
Status CheckHardwareModeSupported(const Requirements& requirements = {});

}  // namespace cove::check
