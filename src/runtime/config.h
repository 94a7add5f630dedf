// The runtime's configuration, read from SCONE's environment variables and SCONE's
// /etc/sgx-musl.conf. Pure parsing (no OS calls except through the getter the caller passes),
// so it is unit-tested without preloading anything; runtime_init.cc applies the result.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/secret_bytes.h"
#include "common/status.h"
#include "shield/fspf.h"

namespace cove::runtime {

enum class RunMode { kSimulation, kHardware };

// SCONE_ALLOW_DLOPEN: what dlopen may load once the program runs.
enum class DlopenPolicy {
  kNone = 0,       // unset/0: no dlopen after start
  kProtected = 1,  // only libraries inside authenticated or encrypted regions
  kAny = 2,        // protected and unprotected libraries
};

// One queue/thread line of sgx-musl.conf. SCONE's threads do not exist here: the lines are
// validated and reported, so that a SCONE configuration is accepted unchanged.
struct MuslConfLine {
  char kind = 0;  // 'Q', 'e', 's', 'L' or 'P'
  std::vector<long> values;
  int line_number = 0;
};

struct MuslConf {
  std::string source;  // path it was read from
  std::vector<MuslConfLine> lines;
};

struct RuntimeConfig {
  std::string fspf_path;  // empty: no file shield (the program runs unprotected)
  SecretBytes fspf_key;   // empty: plaintext fspf
  std::optional<shield::FspfTag> fspf_tag;
  RunMode mode = RunMode::kSimulation;
  int log_level = 0;  // SCONE_LOG 0..7
  std::string log_file;
  bool print_version = false;
  bool strict = false;       // SCONE_FSPF_STRICT (the fspf flag is or-ed in later)
  std::string tag_file;      // SCONE_FSPF_TAG_FILE
  uint64_t heap_bytes = 0;   // SCONE_HEAP, 0: unlimited
  uint64_t stack_bytes = 0;  // SCONE_STACK, 0: glibc default
  DlopenPolicy dlopen = DlopenPolicy::kNone;
  std::string musl_conf_path;  // SCONE_CONFIG or /etc/sgx-musl.conf
};

// Parses "64M", "4K", "1G", "4096" (K/M/G are powers of 1024, case-insensitive, optional
// trailing B). `what` names the variable in the error.
Result<uint64_t> ParseSize(std::string_view text, const std::string& what);

// Reads every SCONE_* variable through `getenv` (returns nullptr when unset). Fails naming
// the variable when a value is malformed.
using EnvGetter = std::function<const char*(const char*)>;
Result<RuntimeConfig> ParseRuntimeConfig(const EnvGetter& getenv);

// Parses the text of an sgx-musl.conf; an error names `source` and the line number.
Result<MuslConf> ParseMuslConf(std::string_view text, const std::string& source);

// Human-readable configuration for SCONE_VERSION=1 and SCONE_LOG>=5 (never prints the key).
std::string DescribeConfig(const RuntimeConfig& config);
std::string DescribeMuslConf(const MuslConf& conf);

}  // namespace cove::runtime
