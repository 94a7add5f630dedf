// The default CloseFd: a plain close system call through libc (weak, see unique_fd.h).
#include "common/unique_fd.h"

#include <sys/syscall.h>
#include <unistd.h>

namespace cove {

__attribute__((weak)) void CloseFd(int fd) {
  ::syscall(SYS_close, fd);
}

}  // namespace cove
