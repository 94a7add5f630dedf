// Parsing of SCONE_* variables and sgx-musl.conf (see config.h).
#include "runtime/config.h"

#include <charconv>
#include <cstring>

#include "common/hex.h"

namespace cove::runtime {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

Result<long> ParseInteger(std::string_view text, long min, long max, const std::string& what) {
  text = Trim(text);
  long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return InvalidArgument(what + ": '" + std::string(text) + "' is not an integer");
  }
  if (value < min || value > max) {
    return InvalidArgument(what + ": " + std::to_string(value) + " is outside " +
                           std::to_string(min) + ".." + std::to_string(max));
  }
  return value;
}

bool IsSet(const char* value) {
  return value != nullptr && value[0] != '\0';
}

Result<bool> ParseFlag(const char* value, const std::string& what) {
  if (!IsSet(value)) return false;
  std::string_view v(value);
  if (v == "1" || v == "yes" || v == "true") return true;
  if (v == "0" || v == "no" || v == "false") return false;
  return InvalidArgument(what + ": expected 0 or 1, got '" + std::string(v) + "'");
}

}  // namespace

Result<uint64_t> ParseSize(std::string_view text, const std::string& what) {
  std::string_view s = Trim(text);
  if (!s.empty() && (s.back() == 'B' || s.back() == 'b')) s.remove_suffix(1);
  uint64_t multiplier = 1;
  if (!s.empty()) {
    switch (s.back()) {
      case 'k':
      case 'K':
        multiplier = uint64_t{1} << 10;
        break;
      case 'm':
      case 'M':
        multiplier = uint64_t{1} << 20;
        break;
      case 'g':
      case 'G':
        multiplier = uint64_t{1} << 30;
        break;
      default:
        break;
    }
    if (multiplier != 1) s.remove_suffix(1);
  }
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
    return InvalidArgument(what + ": '" + std::string(text) +
                           "' is not a size (expected e.g. 64M, 512K, 1G or bytes)");
  }
  if (value > (UINT64_MAX >> 1) / multiplier) {
    return InvalidArgument(what + ": '" + std::string(text) + "' is too large");
  }
  return value * multiplier;
}

Result<RuntimeConfig> ParseRuntimeConfig(const EnvGetter& getenv) {
  RuntimeConfig config;
  if (const char* v = getenv("SCONE_FSPF"); IsSet(v)) config.fspf_path = v;
  if (const char* v = getenv("SCONE_FSPF_KEY"); IsSet(v)) {
    COVE_ASSIGN_OR_RETURN(config.fspf_key, HexDecodeSecret(v, 32, "SCONE_FSPF_KEY"));
  }
  if (const char* v = getenv("SCONE_FSPF_TAG"); IsSet(v)) {
    COVE_ASSIGN_OR_RETURN(auto tag, HexDecode(v, "SCONE_FSPF_TAG"));
    if (tag.size() != sizeof(shield::FspfTag)) {
      return InvalidArgument("SCONE_FSPF_TAG: expected 32 hex digits, got " +
                             std::to_string(std::strlen(v)));
    }
    shield::FspfTag expected{};
    std::memcpy(expected.data(), tag.data(), expected.size());
    config.fspf_tag = expected;
  }
  if ((!config.fspf_key.empty() || config.fspf_tag) && config.fspf_path.empty()) {
    return InvalidArgument("SCONE_FSPF_KEY/SCONE_FSPF_TAG are set but SCONE_FSPF is not");
  }
  if (const char* v = getenv("SCONE_MODE"); IsSet(v)) {
    std::string_view mode(v);
    if (mode == "sim" || mode == "SIM" || mode == "auto" || mode == "AUTO") {
      config.mode = RunMode::kSimulation;
    } else if (mode == "hw" || mode == "HW") {
      config.mode = RunMode::kHardware;
    } else {
      return InvalidArgument("SCONE_MODE: expected sim or hw, got '" + std::string(mode) + "'");
    }
  }
  if (const char* v = getenv("SCONE_LOG"); IsSet(v)) {
    COVE_ASSIGN_OR_RETURN(long level, ParseInteger(v, 0, 7, "SCONE_LOG"));
    config.log_level = static_cast<int>(level);
  }
  if (const char* v = getenv("SCONE_LOG_FILE"); IsSet(v)) config.log_file = v;
  COVE_ASSIGN_OR_RETURN(config.print_version, ParseFlag(getenv("SCONE_VERSION"), "SCONE_VERSION"));
  COVE_ASSIGN_OR_RETURN(config.strict, ParseFlag(getenv("SCONE_FSPF_STRICT"), "SCONE_FSPF_STRICT"));
  if (const char* v = getenv("SCONE_FSPF_TAG_FILE"); IsSet(v)) config.tag_file = v;
  if (const char* v = getenv("SCONE_HEAP"); IsSet(v)) {
    COVE_ASSIGN_OR_RETURN(config.heap_bytes, ParseSize(v, "SCONE_HEAP"));
  }
  if (const char* v = getenv("SCONE_STACK"); IsSet(v)) {
    COVE_ASSIGN_OR_RETURN(config.stack_bytes, ParseSize(v, "SCONE_STACK"));
    if (config.stack_bytes != 0 && config.stack_bytes < 16384) {
      return InvalidArgument("SCONE_STACK: " + std::string(v) + " is below the 16K minimum");
    }
  }
  // Read by the shield's ParallelCrypto itself; validated here so that a typo is refused before
  // main instead of silently meaning "no helper threads".
  if (const char* v = getenv("COVE_CRYPTO_THREADS"); IsSet(v)) {
    COVE_RETURN_IF_ERROR(ParseInteger(v, 1, 64, "COVE_CRYPTO_THREADS").status());
  }
  if (const char* v = getenv("SCONE_ALLOW_DLOPEN"); IsSet(v)) {
    COVE_ASSIGN_OR_RETURN(long policy, ParseInteger(v, 0, 2, "SCONE_ALLOW_DLOPEN"));
    config.dlopen = static_cast<DlopenPolicy>(policy);
  }
  const char* conf = getenv("SCONE_CONFIG");
  config.musl_conf_path = IsSet(conf) ? conf : "/etc/sgx-musl.conf";
  return config;
}

Result<MuslConf> ParseMuslConf(std::string_view text, const std::string& source) {
  MuslConf conf;
  conf.source = source;
  int number = 0;
  while (!text.empty()) {
    ++number;
    size_t eol = text.find('\n');
    std::string_view line = Trim(text.substr(0, eol));
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    if (line.empty() || line.front() == '#') continue;
    std::string where = source + ":" + std::to_string(number);
    MuslConfLine parsed;
    parsed.kind = line.front();
    parsed.line_number = number;
    size_t min_values = 0, max_values = 0;
    switch (parsed.kind) {
      case 'Q':  // number of syscall queues
        min_values = max_values = 1;
        break;
      case 'e':  // enclave thread: cpu, queue, flags
      case 's':  // syscall thread: cpu, queue, flags
        min_values = max_values = 3;
        break;
      case 'L':  // backoff: spin count, sleep
        min_values = 1;
        max_values = 2;
        break;
      case 'P':  // backoff: polling
        min_values = 1;
        max_values = 2;
        break;
      default:
        return InvalidArgument(where + ": unknown line type '" + std::string(1, parsed.kind) +
                               "' (expected Q, e, s, L or P)");
    }
    std::string_view rest = line.substr(1);
    if (!rest.empty() && rest.front() != ' ' && rest.front() != '\t') {
      return InvalidArgument(where + ": expected a space after '" + std::string(1, parsed.kind) +
                             "'");
    }
    while (!(rest = Trim(rest)).empty()) {
      size_t end = rest.find_first_of(" \t");
      std::string_view token = rest.substr(0, end);
      rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
      COVE_ASSIGN_OR_RETURN(long value, ParseInteger(token, -1, 1L << 30, where));
      parsed.values.push_back(value);
    }
    if (parsed.values.size() < min_values || parsed.values.size() > max_values) {
      std::string range = std::to_string(min_values);
      if (max_values != min_values) range.append("-").append(std::to_string(max_values));
      return InvalidArgument(where + ": '" + std::string(1, parsed.kind) + "' takes " + range +
                             " integer(s), got " + std::to_string(parsed.values.size()));
    }
    if (parsed.kind == 'Q' && parsed.values[0] < 1) {
      return InvalidArgument(where + ": Q needs at least 1 queue");
    }
    conf.lines.push_back(std::move(parsed));
  }
  return conf;
}

std::string DescribeConfig(const RuntimeConfig& config) {
  std::string out;
  auto add = [&out](const std::string& name, const std::string& value) {
    out += "  " + name + "=" + value + "\n";
  };
  add("SCONE_MODE", config.mode == RunMode::kHardware ? "hw" : "sim");
  add("SCONE_FSPF", config.fspf_path.empty() ? "(none)" : config.fspf_path);
  add("SCONE_FSPF_KEY", config.fspf_key.empty() ? "(none)" : "(set, not shown)");
  add("SCONE_FSPF_TAG", config.fspf_tag ? HexEncode(*config.fspf_tag) : "(none)");
  add("SCONE_FSPF_STRICT", config.strict ? "1" : "0");
  add("SCONE_FSPF_TAG_FILE", config.tag_file.empty() ? "(stderr at exit)" : config.tag_file);
  add("SCONE_LOG", std::to_string(config.log_level));
  add("SCONE_LOG_FILE", config.log_file.empty() ? "(stderr)" : config.log_file);
  add("SCONE_HEAP", config.heap_bytes ? std::to_string(config.heap_bytes) : "(unlimited)");
  add("SCONE_STACK", config.stack_bytes ? std::to_string(config.stack_bytes) : "(default)");
  add("SCONE_ALLOW_DLOPEN", std::to_string(static_cast<int>(config.dlopen)));
  add("SCONE_CONFIG", config.musl_conf_path);
  return out;
}

std::string DescribeMuslConf(const MuslConf& conf) {
  std::string out = conf.source + ":";
  for (const auto& line : conf.lines) {
    out += " [" + std::string(1, line.kind);
    for (long v : line.values) out.append(" ").append(std::to_string(v));
    out += "]";
  }
  if (conf.lines.empty()) out += " (empty)";
  return out;
}

}  // namespace cove::runtime
