/* raw_openat PATH [openat2 | openat2-resolve]: opens PATH with a raw syscall(SYS_openat, ...)
 * (or SYS_openat2, which has no libc wrapper, without or with RESOLVE_NO_SYMLINKS) and reads it
 * with raw read syscalls, bypassing libc's open/read wrappers, then prints what it read to
 * stdout. The end-to-end tests run it under `cove run` on a protected file: the runtime's
 * syscall trap must either shield it (plaintext out) or refuse it (exit 1 with the errno's
 * text). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc != 2 && argc != 3) {
    fprintf(stderr, "usage: raw_openat PATH [openat2 | openat2-resolve]\n");
    return 2;
  }
  long fd;
  if (argc == 3) {
    struct open_how how = {.flags = O_RDONLY | O_CLOEXEC};
    if (strcmp(argv[2], "openat2-resolve") == 0) how.resolve = RESOLVE_NO_SYMLINKS;
    fd = syscall(SYS_openat2, AT_FDCWD, argv[1], &how, sizeof how);
  } else {
    fd = syscall(SYS_openat, AT_FDCWD, argv[1], O_RDONLY | O_CLOEXEC);
  }
  if (fd < 0) {
    fprintf(stderr, "raw_openat: openat %s: %s\n", argv[1], strerror(errno));
    return 1;
  }
  char buffer[65536];
  for (;;) {
    long n = syscall(SYS_read, fd, buffer, sizeof buffer);
    if (n < 0) {
      fprintf(stderr, "raw_openat: read %s: %s\n", argv[1], strerror(errno));
      return 1;
    }
    if (n == 0) break;
    if (fwrite(buffer, 1, (size_t)n, stdout) != (size_t)n) return 1;
  }
  syscall(SYS_close, fd);
  return fflush(stdout) == 0 ? 0 : 1;
}
