/* A library whose code issues its own `syscall` instructions (as Go's runtime or a static
 * library would), for raw_openat's "dlopen" mode: loaded after the program started, they must
 * be trapped like the program's own, in its constructor too (which runs before the library can
 * be patched: the runtime traps the loading thread meanwhile). */
#include <stdlib.h>
#include <sys/syscall.h>

long raw_syscall_lib_call(long nr, long a1, long a2, long a3) {
  long result;
  register long r10 __asm__("r10") = 0;
  __asm__ volatile("syscall"
                   : "=a"(result)
                   : "0"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10)
                   : "rcx", "r11", "memory");
  return result;
}

/* What the constructor read of $RAW_SYSCALL_LIB_CTOR_PATH (raw openat and read). */
char raw_syscall_lib_ctor_bytes[32];

__attribute__((constructor)) static void ReadAtLoad(void) {
  const char* path = getenv("RAW_SYSCALL_LIB_CTOR_PATH");
  if (path == NULL) return;
  long fd = raw_syscall_lib_call(SYS_openat, -100 /* AT_FDCWD */, (long)path, 0);
  if (fd < 0) return;
  raw_syscall_lib_call(SYS_read, fd, (long)raw_syscall_lib_ctor_bytes,
                       sizeof raw_syscall_lib_ctor_bytes - 1);
  raw_syscall_lib_call(SYS_close, fd, 0, 0);
}
