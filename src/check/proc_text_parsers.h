// Parsers for the text the kernel publishes in /proc (meminfo, cpuinfo). Pure functions on
// strings, so they are unit-tested and fuzzed without a kernel.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace cove::check {

// The value of `field` (e.g. "MemAvailable") of /proc/meminfo, in bytes; the kernel writes
// "MemAvailable:   24367132 kB". Empty when the field is missing or malformed.
std::optional<uint64_t> ParseMeminfoBytes(std::string_view meminfo, std::string_view field);

// Whether /proc/cpuinfo shows more logical CPUs than cores per package ("siblings" > "cpu cores"),
// i.e. hyperthreading is on. Empty when either field is missing (e.g. on non-x86 kernels).
std::optional<bool> ParseCpuinfoSmtActive(std::string_view cpuinfo);

}  // namespace cove::check
