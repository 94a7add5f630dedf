// SCONE_LOG output (see runtime_log.h): vsnprintf into a stack buffer, one direct write.
#include "runtime/runtime_log.h"

#include <cerrno>
#include <cstdarg>
#include <cstdio>

#include "runtime/direct_syscall.h"

namespace cove::runtime {
namespace {

int g_level = 0;
int g_fd = 2;

void WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    long n = DirectSyscall(SYS_write, fd, data, size);
    if (n == -EINTR) continue;
    if (n <= 0) return;
    data += n;
    size -= static_cast<size_t>(n);
  }
}

void Emit(int fd, const char* prefix_format, long pid, const char* format, va_list args) {
  char buffer[1024];
  int used = pid > 0 ? snprintf(buffer, sizeof(buffer), prefix_format, pid)
                     : snprintf(buffer, sizeof(buffer), "%s", prefix_format);
  if (used < 0) return;
  int more = vsnprintf(buffer + used, sizeof(buffer) - used - 1, format, args);
  if (more < 0) return;
  size_t length = static_cast<size_t>(used + more);
  if (length > sizeof(buffer) - 2) length = sizeof(buffer) - 2;
  buffer[length++] = '\n';
  WriteAll(fd, buffer, length);
}

}  // namespace

void SetLogTarget(int level, int fd) {
  g_level = level;
  g_fd = fd;
}

int LogTargetFd() {
  return g_fd;
}

int LogLevelNow() {
  return g_level;
}

void Log(int level, const char* format, ...) {
  if (level > g_level) return;
  va_list args;
  va_start(args, format);
  Emit(g_fd, "cove[%ld]: ", DirectSyscall(SYS_getpid), format, args);
  va_end(args);
}

void Say(const char* format, ...) {
  va_list args;
  va_start(args, format);
  Emit(2, "cove: ", 0, format, args);
  va_end(args);
}

}  // namespace cove::runtime
