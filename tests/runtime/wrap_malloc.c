/* wrap_malloc: an executable that wraps malloc (as leak checkers and profilers linked into a
 * program do): its malloc, calloc and realloc count the call and forward to the next
 * definition with dlsym(RTLD_NEXT), which under cove is the runtime's, which calls the
 * executable's own again unless it knows the call came back. Writes and reads a protected
 * file, then prints how many allocations it saw.
 *   wrap_malloc FILE */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static unsigned long calls;

void* malloc(size_t size) {
  static void* (*next)(size_t);
  if (next == NULL) *(void**)&next = dlsym(RTLD_NEXT, "malloc"); /* POSIX's idiom */
  __atomic_fetch_add(&calls, 1, __ATOMIC_RELAXED);
  return next(size);
}
void* calloc(size_t count, size_t size) {
  static void* (*next)(size_t, size_t);
  if (next == NULL) *(void**)&next = dlsym(RTLD_NEXT, "calloc");
  __atomic_fetch_add(&calls, 1, __ATOMIC_RELAXED);
  return next(count, size);
}
void* realloc(void* old, size_t size) {
  static void* (*next)(void*, size_t);
  if (next == NULL) *(void**)&next = dlsym(RTLD_NEXT, "realloc");
  __atomic_fetch_add(&calls, 1, __ATOMIC_RELAXED);
  return next(old, size);
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || write(fd, "wrapped\n", 8) != 8 || close(fd) != 0) return perror("write"), 1;
  char buffer[16];
  fd = open(argv[1], O_RDONLY | O_CLOEXEC);
  if (fd < 0 || read(fd, buffer, sizeof buffer) != 8) return perror("read"), 1;
  close(fd);
  printf("ok %s\n", calls > 0 ? "counted" : "none");
  return 0;
}
