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

}  // namespace cove::check
