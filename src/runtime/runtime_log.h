// SCONE_LOG: levelled runtime logging to stderr or SCONE_LOG_FILE. Formats into a stack buffer
// and writes it with one direct write(2): no allocation, no lock, usable from signal handlers
// and after fork. Never writes into a protected file (runtime_init refuses such a log file;
// a protected descriptor is an O_PATH descriptor, so even a stray write cannot reach one).
#pragma once

namespace cove::runtime {

// SCONE_LOG levels (0: silent).
enum LogLevel : int {
  kLogFatal = 1,    // refusals to start
  kLogError = 2,    // integrity failures, failed commits
  kLogWarning = 3,  // degraded behaviour
  kLogInfo = 4,     // lifecycle (volume opened, tag written)
  kLogConfig = 5,   // configuration report (sgx-musl.conf)
  kLogDebug = 6,    // every protected open/close/commit
  kLogDenied = 7,   // every unsupported or denied call with its name and errno
};

void SetLogTarget(int level, int fd);
// The descriptor logs go to (2, or SCONE_LOG_FILE's).
int LogTargetFd();
int LogLevelNow();
inline bool LogEnabled(int level) {
  return level <= LogLevelNow();
}
// Writes "cove[pid]: <message>\n" when `level` is enabled.
void Log(int level, const char* format, ...) __attribute__((format(printf, 2, 3)));
// Always writes "cove: <message>\n" to stderr (startup refusals, the exit tag line).
void Say(const char* format, ...) __attribute__((format(printf, 1, 2)));

}  // namespace cove::runtime
