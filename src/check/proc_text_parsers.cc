// Line-oriented parsing of /proc/meminfo and /proc/cpuinfo ("Key: value" lines).
#include "check/proc_text_parsers.h"

#include <charconv>
#include <limits>

namespace cove::check {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// The value after "key:" on the first line whose key (trimmed) equals `key`.
std::optional<std::string_view> FindValue(std::string_view text, std::string_view key) {
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    if (Trim(line.substr(0, colon)) == key) return Trim(line.substr(colon + 1));
  }
  return std::nullopt;
}

// Parses the leading decimal number of `s`; the rest is returned in `rest`.
std::optional<uint64_t> ParseLeadingNumber(std::string_view s, std::string_view* rest) {
  uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || ptr == s.data()) return std::nullopt;
  *rest = Trim(s.substr(static_cast<size_t>(ptr - s.data())));
  return value;
}

}  // namespace

std::optional<uint64_t> ParseMeminfoBytes(std::string_view meminfo, std::string_view field) {
  std::optional<std::string_view> value = FindValue(meminfo, field);
  if (!value) return std::nullopt;
  std::string_view unit;
  std::optional<uint64_t> number = ParseLeadingNumber(*value, &unit);
  if (!number) return std::nullopt;
  uint64_t scale = 1;
  if (unit == "kB") {
    scale = 1024;  // the kernel's "kB" is KiB
  } else if (!unit.empty()) {
    return std::nullopt;
  }
  if (*number > std::numeric_limits<uint64_t>::max() / scale) return std::nullopt;
  return *number * scale;
}

std::optional<bool> ParseCpuinfoSmtActive(std::string_view cpuinfo) {
  std::optional<std::string_view> siblings_text = FindValue(cpuinfo, "siblings");
  std::optional<std::string_view> cores_text = FindValue(cpuinfo, "cpu cores");
  if (!siblings_text || !cores_text) return std::nullopt;
  std::string_view rest;
  std::optional<uint64_t> siblings = ParseLeadingNumber(*siblings_text, &rest);
  std::optional<uint64_t> cores = ParseLeadingNumber(*cores_text, &rest);
  if (!siblings || !cores || *cores == 0) return std::nullopt;
  return *siblings > *cores;
}

}  // namespace cove::check
