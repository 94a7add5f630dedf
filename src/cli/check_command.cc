// `cove check`: "has my machine sufficient features for simulation mode?" Prints the facts of
// cove_check's PlatformReport one per line (or as one JSON object with --json) and the verdict;
// exits 0 when simulation mode (with --hw: also hardware mode) can run, 1 with the reason if not.
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "check/platform_check.h"
#include "check/platform_probe.h"
#include "cli/command_registry.h"

namespace cove::cli {
namespace {

using check::CpuFeatures;
using check::PlatformReport;
using check::TeeKind;
using check::Verdict;

struct CheckOptions {
  bool json = false;
  bool require_hardware_mode = false;
  uint64_t min_memory_mib = (check::kDefaultHeapBytes + check::kRuntimeMarginBytes) / check::kMiB;
  std::string root = "/";
};

// One CPU feature as shown to the user: its JSON key, its name and why cove looks at it.
struct FeatureLine {
  const char* key;
  const char* name;
  bool present;
  const char* why;
};

std::vector<FeatureLine> FeatureLines(const CpuFeatures& cpu) {
  return {
      {"aes_ni", "AES-NI", cpu.aes_ni, "required: the file shield's AES-GCM"},
      {"pclmulqdq", "PCLMULQDQ", cpu.pclmulqdq, "required: GHASH of AES-GCM"},
      {"sse4_2", "SSE4.2", cpu.sse4_2, "required: CPU baseline"},
      {"avx", "AVX", cpu.avx, "required: CPU baseline"},
      {"avx2", "AVX2", cpu.avx2, "required: CPU baseline"},
      {"os_avx_state", "AVX OS-enabled", cpu.os_avx_state,
       "required: OSXSAVE and XCR0 let programs use AVX"},
      {"sha_ni", "SHA-NI", cpu.sha_ni, "performance: SHA-256"},
      {"vaes", "VAES", cpu.vaes, "performance: wide AES-GCM"},
      {"vpclmulqdq", "VPCLMULQDQ", cpu.vpclmulqdq, "performance: wide GHASH"},
      {"rdrand", "RDRAND", cpu.rdrand, "hardware random numbers"},
      {"sgx", "SGX (CPUID)", cpu.sgx, "hardware mode; a VM may hide it"},
      {"sgx1", "SGX1", cpu.sgx1, "hardware mode"},
      {"sgx2", "SGX2", cpu.sgx2, "hardware mode: dynamic enclave memory"},
      {"sgx_launch_control", "SGX launch control", cpu.sgx_launch_control,
       "hardware mode with the in-kernel driver"},
  };
}

struct TeeLine {
  TeeKind kind;
  const char* name;
};
constexpr TeeLine kTeeLines[] = {{TeeKind::kSgx, "SGX driver"},
                                 {TeeKind::kTdxGuest, "TDX guest"},
                                 {TeeKind::kSnpGuest, "SNP guest"}};

// "present (/dev/sgx_enclave)" or "absent (none of /dev/sgx_enclave, /dev/isgx)".
std::string DescribeTeeDevices(const PlatformReport& report, TeeKind kind) {
  std::string present, absent;
  for (const check::TeeDevice& device : report.tee_devices) {
    if (device.kind != kind) continue;
    std::string& list = device.present ? present : absent;
    if (!list.empty()) list += ", ";
    list += device.path;
  }
  if (!present.empty()) return "present (" + present + ")";
  return "absent (none of " + absent + ")";
}

std::string MiB(uint64_t bytes) {
  return std::to_string(bytes / check::kMiB) + " MiB";
}

void PrintLine(const std::string& label, const std::string& text) {
  std::printf("%-20s %s\n", label.c_str(), text.c_str());
}

void PrintHuman(const PlatformReport& report, const Verdict& verdict, const CheckOptions& options) {
  PrintLine("CPU", report.cpu.vendor + (report.cpu.brand.empty() ? "" : " " + report.cpu.brand));
  for (const FeatureLine& f : FeatureLines(report.cpu)) {
    std::printf("%-20s %-4s (%s)\n", f.name, f.present ? "yes" : "no", f.why);
  }
  for (const TeeLine& tee : kTeeLines) PrintLine(tee.name, DescribeTeeDevices(report, tee.kind));
  if (report.smt_active) {
    PrintLine("hyperthreading",
              std::string(*report.smt_active ? "active" : "off") + " (" + report.smt_source + ")");
  } else {
    PrintLine("hyperthreading", "unknown");
  }
  for (const check::Vulnerability& v : report.vulnerabilities) {
    PrintLine("vulnerability", v.name + ": " + v.status);
  }
  std::string memory = report.mem_available_bytes ? MiB(*report.mem_available_bytes) : "unknown";
  memory += " available";
  if (report.mem_total_bytes) memory += " of " + MiB(*report.mem_total_bytes);
  memory += " (simulation mode needs " + std::to_string(options.min_memory_mib) + " MiB)";
  PrintLine("memory", memory);
  for (const std::string& warning : verdict.warnings) PrintLine("warning", warning);
  PrintLine("simulation mode", verdict.simulation_mode_ok ? "yes" : "NO");
  for (const std::string& reason : verdict.simulation_reasons) PrintLine("  because", reason);
  PrintLine("hardware mode", verdict.hardware_mode_ok ? "yes" : "NO");
  if (!verdict.simulation_mode_ok) PrintLine("  because", "simulation mode cannot run (above)");
  // The simulation reasons come first in hardware_reasons; print only what hardware mode adds.
  for (size_t i = verdict.simulation_reasons.size(); i < verdict.hardware_reasons.size(); ++i) {
    PrintLine("  because", verdict.hardware_reasons[i]);
  }
}

nlohmann::json ToJson(const PlatformReport& report, const Verdict& verdict,
                      const CheckOptions& options) {
  nlohmann::json features = nlohmann::json::object();
  for (const FeatureLine& f : FeatureLines(report.cpu)) features[f.key] = f.present;
  nlohmann::json tee_devices = nlohmann::json::array();
  for (const check::TeeDevice& d : report.tee_devices) {
    tee_devices.push_back(
        {{"kind", check::TeeKindName(d.kind)}, {"path", d.path}, {"present", d.present}});
  }
  nlohmann::json vulnerabilities = nlohmann::json::object();
  for (const check::Vulnerability& v : report.vulnerabilities) vulnerabilities[v.name] = v.status;
  auto optional_number = [](const std::optional<uint64_t>& n) {
    return n ? nlohmann::json(*n) : nlohmann::json(nullptr);
  };
  return {
      {"cpu", {{"vendor", report.cpu.vendor}, {"brand", report.cpu.brand}}},
      {"features", features},
      {"tee_devices", tee_devices},
      {"sgx_driver", report.HasTeeDevice(TeeKind::kSgx)},
      {"smt",
       {{"active", report.smt_active ? nlohmann::json(*report.smt_active) : nullptr},
        {"source", report.smt_source}}},
      {"vulnerabilities", vulnerabilities},
      {"memory",
       {{"available_bytes", optional_number(report.mem_available_bytes)},
        {"total_bytes", optional_number(report.mem_total_bytes)},
        {"required_bytes", options.min_memory_mib * check::kMiB}}},
      {"simulation_mode_ok", verdict.simulation_mode_ok},
      {"hardware_mode_ok", verdict.hardware_mode_ok},
      // Every reason a mode is refused; the simulation ones also refuse hardware mode.
      {"reasons", verdict.hardware_reasons},
      {"simulation_mode_reasons", verdict.simulation_reasons},
      {"warnings", verdict.warnings},
  };
}

int RunCheck(const CheckOptions& options) {
  check::ProbeOptions probe;
  probe.root = options.root;
  PlatformReport report =
      check::ReadPlatformReport(check::DecodeCpuFeatures(check::ReadCpuidSnapshot()), probe);
  Verdict verdict =
      check::Evaluate(report, {.min_available_memory_bytes = options.min_memory_mib * check::kMiB});
  Status status = options.require_hardware_mode ? check::HardwareModeStatus(verdict)
                                                : check::SimulationModeStatus(verdict);
  if (options.json) {
    std::cout << ToJson(report, verdict, options).dump(2) << "\n";
  } else {
    PrintHuman(report, verdict, options);
  }
  std::cout.flush();
  std::fflush(stdout);
  if (!status.ok()) {
    std::fprintf(stderr, "verdict: %s\n", status.message().c_str());
    return 1;
  }
  if (!options.json) {
    std::printf("verdict: %s mode can run on this machine\n",
                options.require_hardware_mode ? "hardware" : "simulation");
  }
  return 0;
}

void RegisterCheck(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<CheckOptions>();
  CLI::App* command = app.add_subcommand(
      "check", "Check whether this machine can run cove (CPU features, TEE drivers, memory)");
  command->add_flag("--json", options->json, "Print one JSON object instead of lines");
  command->add_flag("--hw", options->require_hardware_mode,
                    "Also require hardware mode (an SGX driver)");
  command
      ->add_option("--min-memory-mib", options->min_memory_mib,
                   "Available memory simulation mode needs (default: 64 MiB heap + 32 MiB)")
      ->check(CLI::PositiveNumber);
  command
      ->add_option("--root", options->root,
                   "Read /dev, /sys and /proc below this directory (for tests)")
      ->check(CLI::ExistingDirectory);
  command->callback([options, &exit_code] { exit_code = RunCheck(*options); });
}

COVE_REGISTER_COMMAND("check", RegisterCheck);

}  // namespace
}  // namespace cove::cli
