// Gathers a PlatformReport from a machine: device nodes, sysfs and /proc below a root directory
// (normally "/", a fake tree in tests) plus the CPU features. Missing files are facts ("unknown"),
// not errors: the verdict is Evaluate's job.
#pragma once

#include <string>

#include "check/cpu_features.h"
#include "check/platform_report.h"
#include "common/env.h"

namespace cove::check {

// Where to look. Every path the probe reads, e.g. /proc/meminfo, is read as `root` + path.
struct ProbeOptions {
  std::string root = "/";
  Env* env = &Env::Default();
};

// Reads the files below `options.root` and combines them with `cpu`.
PlatformReport ReadPlatformReport(const CpuFeatures& cpu, const ProbeOptions& options);

// The report for the machine this runs on (CPUID of this CPU, files below "/").
PlatformReport ReadThisMachine();

// What the runtime's start-up mode check needs, and nothing else: the CPU features
// (ReadCpuidFeatureLeaves), free memory and, for hardware mode, the TEE device nodes. It skips
// the brand string, hyperthreading and the side-channel files, which only feed warnings: the
// verdict's reasons are the same as with ReadThisMachine, at a fraction of the cost (the
// runtime runs this at the start of every program).
PlatformReport ReadThisMachineForModeCheck(bool hardware_mode);

}  // namespace cove::check
