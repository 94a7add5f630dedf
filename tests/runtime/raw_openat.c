/* raw_openat PATH [openat2 | openat2-resolve | inline | dlopen LIBRARY]: opens PATH with a raw
 * syscall(SYS_openat, ...) (or SYS_openat2, which has no libc wrapper, without or with
 * RESOLVE_NO_SYMLINKS) and reads it with raw read syscalls, bypassing libc's open/read
 * wrappers, then prints what it read to stdout. "inline" issues the three syscalls from a
 * `syscall` instruction of this program itself, "dlopen" from one in LIBRARY (raw_syscall_lib.c),
 * loaded after start. The end-to-end tests run it under `cove run` on a protected file: the
 * runtime's syscall trap must either shield it (plaintext out) or refuse it (exit 1 with the
 * errno's text). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef long (*RawCall)(long nr, long a1, long a2, long a3);

/* A `syscall` instruction of this program's own code; errors as -1 with errno, like syscall(). */
static long InlineCall(long nr, long a1, long a2, long a3) {
  long result;
  register long r10 __asm__("r10") = 0;
  __asm__ volatile("syscall"
                   : "=a"(result)
                   : "0"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10)
                   : "rcx", "r11", "memory");
  if (result < 0 && result > -4096) {
    errno = (int)-result;
    return -1;
  }
  return result;
}

static RawCall g_library_call;
static void* library_handle;

static long LibraryCall(long nr, long a1, long a2, long a3) {
  long result = g_library_call(nr, a1, a2, a3);
  if (result < 0 && result > -4096) {
    errno = (int)-result;
    return -1;
  }
  return result;
}

static long LibcCall(long nr, long a1, long a2, long a3) {
  return syscall(nr, a1, a2, a3);
}

int main(int argc, char** argv) {
  if (argc < 2 || argc > 4) {
    fprintf(stderr, "usage: raw_openat PATH [openat2 | openat2-resolve | inline | dlopen LIB]\n");
    return 2;
  }
  RawCall call = LibcCall;
  if (argc >= 3 && strcmp(argv[2], "inline") == 0) {
    call = InlineCall;
  } else if (argc == 4 && strcmp(argv[2], "dlopen") == 0) {
    /* Loaded, used, closed and loaded again (often at the same address, where the runtime must
     * check it anew); the constructor's read of each load goes to stderr. */
    for (int round = 0; round < 2; ++round) {
      if (round > 0 && dlclose(library_handle) != 0) return 1;
      library_handle = dlopen(argv[3], RTLD_NOW);
      if (library_handle == NULL) {
        fprintf(stderr, "raw_openat: %s\n", dlerror());
        return 1;
      }
      const char* ctor_bytes = dlsym(library_handle, "raw_syscall_lib_ctor_bytes");
      fprintf(stderr, "constructor read: %s\n", ctor_bytes != NULL ? ctor_bytes : "?");
    }
    void* symbol = dlsym(library_handle, "raw_syscall_lib_call");
    if (symbol == NULL) return 1;
    memcpy(&g_library_call, &symbol, sizeof symbol); /* POSIX: a function pointer */
    call = LibraryCall;
  }
  long fd;
  if (argc == 3 && strncmp(argv[2], "openat2", 7) == 0) {
    struct open_how how = {.flags = O_RDONLY | O_CLOEXEC};
    if (strcmp(argv[2], "openat2-resolve") == 0) how.resolve = RESOLVE_NO_SYMLINKS;
    fd = syscall(SYS_openat2, AT_FDCWD, argv[1], &how, sizeof how);
  } else {
    fd = call(SYS_openat, AT_FDCWD, (long)argv[1], O_RDONLY | O_CLOEXEC);
  }
  if (fd < 0) {
    fprintf(stderr, "raw_openat: openat %s: %s\n", argv[1], strerror(errno));
    return 1;
  }
  char buffer[65536];
  for (;;) {
    long n = call(SYS_read, fd, (long)buffer, sizeof buffer);
    if (n < 0) {
      fprintf(stderr, "raw_openat: read %s: %s\n", argv[1], strerror(errno));
      return 1;
    }
    if (n == 0) break;
    if (fwrite(buffer, 1, (size_t)n, stdout) != (size_t)n) return 1;
  }
  call(SYS_close, fd, 0, 0);
  return fflush(stdout) == 0 ? 0 : 1;
}
