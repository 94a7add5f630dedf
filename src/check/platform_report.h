// PlatformReport: every fact `cove check` gathers about a machine (CPU features, TEE device nodes,
// hyperthreading, the kernel's side-channel mitigations, free memory), as plain data that the
// pure Evaluate (platform_check.h) judges and the CLI prints.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "check/cpu_features.h"

namespace cove::check {

enum class TeeKind { kSgx, kTdxGuest, kSnpGuest };

// One device node a TEE driver creates, and whether it exists on this machine.
struct TeeDevice {
  TeeKind kind;
  std::string
      path;  // as on the real machine, e.g. "/dev/sgx_enclave", even when probed in a test tree
  bool present = false;
};

// One file of /sys/devices/system/cpu/vulnerabilities: its name and the kernel's text.
struct Vulnerability {
  std::string name;    // e.g. "l1tf"
  std::string status;  // e.g. "Not affected", "Mitigation: PTE Inversion", "Vulnerable"
};

struct PlatformReport {
  CpuFeatures cpu;
  std::vector<TeeDevice> tee_devices;  // every known node, present or not

  // Hyperthreading: empty when neither sysfs nor /proc/cpuinfo told.
  std::optional<bool> smt_active;
  std::string smt_source;  // the file the answer came from

  std::vector<Vulnerability> vulnerabilities;  // sorted by name; empty when the kernel has none

  // From /proc/meminfo; empty when unreadable.
  std::optional<uint64_t> mem_available_bytes;
  std::optional<uint64_t> mem_total_bytes;

  // True when at least one node of `kind` exists.
  bool HasTeeDevice(TeeKind kind) const {
    for (const TeeDevice& d : tee_devices) {
      if (d.kind == kind && d.present) return true;
    }
    return false;
  }
  // The kernel's text for vulnerability `name`, or nullptr.
  const Vulnerability* FindVulnerability(const std::string& name) const {
    for (const Vulnerability& v : vulnerabilities) {
      if (v.name == name) return &v;
    }
    return nullptr;
  }
};

// "sgx", "tdx-guest", "snp-guest".
const char* TeeKindName(TeeKind kind);

}  // namespace cove::check
