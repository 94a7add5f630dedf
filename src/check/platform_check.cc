// Evaluate: the rules that turn a PlatformReport into a Verdict, and the runtime's start-up checks
// built on them. Every reason names what is missing and what cove needs it for.
#include "check/platform_check.h"

#include "check/platform_probe.h"

namespace cove::check {
namespace {

std::string MiB(uint64_t bytes) {
  return std::to_string(bytes / kMiB) + " MiB";
}

void RequireCpuFeatures(const CpuFeatures& cpu, std::vector<std::string>& reasons) {
  if (!cpu.aes_ni) {
    reasons.push_back(
        "CPU lacks AES-NI: simulation mode needs AES-NI for the file shield's AES-GCM");
  }
  if (!cpu.pclmulqdq) {
    reasons.push_back(
        "CPU lacks PCLMULQDQ: simulation mode needs PCLMULQDQ for the GHASH of the file shield's "
        "AES-GCM");
  }
  const char* baseline = "part of the CPU baseline simulation mode assumes, like SCONE's";
  if (!cpu.sse4_2) {
    reasons.push_back(std::string("CPU lacks SSE4.2: simulation mode needs SSE4.2, ") + baseline);
  }
  if (!cpu.avx) {
    reasons.push_back(std::string("CPU lacks AVX: simulation mode needs AVX, ") + baseline);
  }
  if (!cpu.avx2) {
    reasons.push_back(std::string("CPU lacks AVX2: simulation mode needs AVX2, ") + baseline);
  }
  if ((cpu.avx || cpu.avx2) && !cpu.os_avx_state) {
    reasons.push_back(
        "the OS has not enabled AVX state (OSXSAVE/XCR0; disabled by the hypervisor or a kernel "
        "option such as noxsave): simulation mode needs AVX and AVX2 usable, not only present "
        "in the CPU");
  }
}

void RequireMemory(const PlatformReport& report, const Requirements& requirements,
                   std::vector<std::string>& reasons, std::vector<std::string>& warnings) {
  if (!report.mem_available_bytes) {
    warnings.push_back("could not read MemAvailable from /proc/meminfo: free memory not checked");
    return;
  }
  uint64_t available = *report.mem_available_bytes;
  if (available < requirements.min_available_memory_bytes) {
    reasons.push_back("only " + MiB(available) + " of memory available (MemAvailable " +
                      std::to_string(available) + " bytes): simulation mode needs at least " +
                      MiB(requirements.min_available_memory_bytes) +
                      " (the program's heap plus the runtime)");
  }
}

void NotePerformanceFeatures(const CpuFeatures& cpu, std::vector<std::string>& warnings) {
  if (!cpu.sha_ni) {
    warnings.push_back("CPU lacks SHA-NI: SHA-256 (fspf tags, key derivation) runs in software");
  }
  if (!cpu.vaes) {
    warnings.push_back("CPU lacks VAES: AES-GCM runs on 128-bit instead of 256/512-bit vectors");
  }
}

bool IsVulnerable(const Vulnerability& v) {
  return v.status.starts_with("Vulnerable") || v.status.find("SMT vulnerable") != std::string::npos;
}

void NoteSideChannels(const PlatformReport& report, std::vector<std::string>& warnings) {
  for (const Vulnerability& v : report.vulnerabilities) {
    if (IsVulnerable(v)) warnings.push_back("kernel reports " + v.name + ": " + v.status);
  }
  if (report.smt_active.value_or(false)) {
    // L1TF and MDS leak through the L1 cache and buffers a core's two threads share; on SGX the
    // microcode protects against L1TF only with hyperthreading off.
    bool smt_sensitive = false;
    for (const char* name : {"l1tf", "mds"}) {
      const Vulnerability* v = report.FindVulnerability(name);
      if (v && v->status != "Not affected") smt_sensitive = true;
    }
    if (smt_sensitive) {
      warnings.push_back(
          "hyperthreading is active on a CPU affected by L1TF/MDS: a sibling thread can observe an "
          "enclave's data; disable SMT for hardware mode");
    }
  }
}

void RequireSgxDriver(const PlatformReport& report, std::vector<std::string>& reasons) {
  if (report.HasTeeDevice(TeeKind::kSgx)) return;
  std::string reason = "no SGX driver: none of";
  const char* separator = " ";
  for (const TeeDevice& device : report.tee_devices) {
    if (device.kind != TeeKind::kSgx) continue;
    reason += separator + device.path;
    separator = ", ";
  }
  reason += " exists";
  if (!report.cpu.sgx) reason += " (and the CPU does not report SGX)";
  reasons.push_back(reason);
}

std::string Join(const std::vector<std::string>& parts) {
  std::string joined;
  for (const std::string& part : parts) {
    if (!joined.empty()) joined += "; ";
    joined += part;
  }
  return joined;
}

}  // namespace

Verdict Evaluate(const PlatformReport& report, const Requirements& requirements) {
  Verdict verdict;
  RequireCpuFeatures(report.cpu, verdict.simulation_reasons);
  RequireMemory(report, requirements, verdict.simulation_reasons, verdict.warnings);
  NotePerformanceFeatures(report.cpu, verdict.warnings);
  NoteSideChannels(report, verdict.warnings);

  verdict.hardware_reasons = verdict.simulation_reasons;
  RequireSgxDriver(report, verdict.hardware_reasons);

  verdict.simulation_mode_ok = verdict.simulation_reasons.empty();
  verdict.hardware_mode_ok = verdict.hardware_reasons.empty();
  return verdict;
}

Status SimulationModeStatus(const Verdict& verdict) {
  if (verdict.simulation_mode_ok) return Status::Ok();
  return FailedPrecondition("simulation mode cannot run on this machine: " +
                            Join(verdict.simulation_reasons));
}

Status HardwareModeStatus(const Verdict& verdict) {
  if (verdict.hardware_mode_ok) return Status::Ok();
  return FailedPrecondition("hardware mode cannot run on this machine: " +
                            Join(verdict.hardware_reasons));
}

Status CheckSimulationModeSupported(const Requirements& requirements) {
  return SimulationModeStatus(Evaluate(ReadThisMachineForModeCheck(false), requirements));
}

Status CheckHardwareModeSupported(const Requirements& requirements) {
  return HardwareModeStatus(Evaluate(ReadThisMachineForModeCheck(true), requirements));
}

}  // namespace cove::check
