// ReadPlatformReport: the OS-reading half of `cove check` (device nodes, sysfs, /proc). Kept apart
// from the decision (platform_check.cc) so that the decision is tested on synthetic reports.
#include "check/platform_probe.h"

#include <fcntl.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>

#include "check/proc_text_parsers.h"

namespace cove::check {
namespace {

// Device nodes of the TEE drivers: the in-kernel SGX driver (Linux >= 5.11), its out-of-tree DCAP
// predecessor, the legacy out-of-tree driver; the TDX and SEV-SNP guest drivers (the TDX node was
// renamed from tdx-guest to tdx_guest before merging).
struct KnownDevice {
  TeeKind kind;
  const char* path;
};
constexpr KnownDevice kKnownDevices[] = {
    {TeeKind::kSgx, "/dev/sgx_enclave"},    {TeeKind::kSgx, "/dev/sgx/enclave"},
    {TeeKind::kSgx, "/dev/isgx"},           {TeeKind::kTdxGuest, "/dev/tdx_guest"},
    {TeeKind::kTdxGuest, "/dev/tdx-guest"}, {TeeKind::kSnpGuest, "/dev/sev-guest"},
};

constexpr size_t kMaxProcFileBytes = 1 << 20;  // /proc/cpuinfo of a 512-CPU host is ~700 KiB

// `root` + `path`, without a doubled slash.
std::string UnderRoot(const std::string& root, const std::string& path) {
  if (root.empty() || root == "/") return path;
  std::string joined = root;
  while (!joined.empty() && joined.back() == '/') joined.pop_back();
  return joined + path;
}

// Reads a sysfs or /proc file. Their stat size is 0 or 4096 whatever the content, so this reads
// until end of file rather than trusting FileSize.
std::optional<std::string> ReadKernelTextFile(Env& env, const std::string& path) {
  Result<UniqueFd> fd = env.Open(path, O_RDONLY);
  if (!fd.ok()) return std::nullopt;
  std::string text;
  uint8_t buffer[4096];
  while (text.size() < kMaxProcFileBytes) {
    Result<size_t> n = env.ReadAt(fd->get(), std::span<uint8_t>(buffer), text.size(), path);
    if (!n.ok()) return std::nullopt;
    if (*n == 0) break;
    text.append(reinterpret_cast<const char*>(buffer), *n);
  }
  return text;
}

std::string WithoutTrailingNewlines(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

void ReadSmt(const ProbeOptions& options, PlatformReport& report) {
  const std::string smt_active = "/sys/devices/system/cpu/smt/active";
  if (auto text = ReadKernelTextFile(*options.env, UnderRoot(options.root, smt_active))) {
    std::string value = WithoutTrailingNewlines(*text);
    if (value == "0" || value == "1") {
      report.smt_active = value == "1";
      report.smt_source = smt_active;
      return;
    }
  }
  const std::string cpuinfo = "/proc/cpuinfo";
  if (auto text = ReadKernelTextFile(*options.env, UnderRoot(options.root, cpuinfo))) {
    report.smt_active = ParseCpuinfoSmtActive(*text);
    if (report.smt_active) report.smt_source = cpuinfo + " (siblings vs cpu cores)";
  }
}

void ReadVulnerabilities(const ProbeOptions& options, PlatformReport& report) {
  const std::string dir = UnderRoot(options.root, "/sys/devices/system/cpu/vulnerabilities");
  std::error_code error;
  std::filesystem::directory_iterator it(dir, error);
  for (; !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
    std::string name = it->path().filename().string();
    std::optional<std::string> text = ReadKernelTextFile(*options.env, it->path().string());
    if (!text) continue;
    report.vulnerabilities.push_back({name, WithoutTrailingNewlines(*text)});
  }
  std::sort(report.vulnerabilities.begin(), report.vulnerabilities.end(),
            [](const Vulnerability& a, const Vulnerability& b) { return a.name < b.name; });
}

void ReadMemory(const ProbeOptions& options, PlatformReport& report) {
  std::optional<std::string> meminfo =
      ReadKernelTextFile(*options.env, UnderRoot(options.root, "/proc/meminfo"));
  if (!meminfo) return;
  report.mem_available_bytes = ParseMeminfoBytes(*meminfo, "MemAvailable");
  report.mem_total_bytes = ParseMeminfoBytes(*meminfo, "MemTotal");
}

}  // namespace

PlatformReport ReadPlatformReport(const CpuFeatures& cpu, const ProbeOptions& options) {
  PlatformReport report;
  report.cpu = cpu;
  for (const KnownDevice& device : kKnownDevices) {
    report.tee_devices.push_back(
        {device.kind, device.path, options.env->Exists(UnderRoot(options.root, device.path))});
  }
  ReadSmt(options, report);
  ReadVulnerabilities(options, report);
  ReadMemory(options, report);
  return report;
}

PlatformReport ReadThisMachine() {
  return ReadPlatformReport(DecodeCpuFeatures(ReadCpuidSnapshot()), ProbeOptions{});
}

PlatformReport ReadThisMachineForModeCheck(bool hardware_mode) {
  ProbeOptions options;
  PlatformReport report;
  report.cpu = DecodeCpuFeatures(ReadCpuidFeatureLeaves());
  if (hardware_mode) {
    for (const KnownDevice& device : kKnownDevices) {
      report.tee_devices.push_back({device.kind, device.path, options.env->Exists(device.path)});
    }
  }
  ReadMemory(options, report);
  return report;
}

}  // namespace cove::check
