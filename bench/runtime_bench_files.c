/* runtime_bench_files: the small-file workload of bench/runtime_bench.sh in ONE process, so that
 * what is timed is the file work (and, under `cove run`, the runtime), not fork/exec per file.
 *   runtime_bench_files create DIR N SIZE   creates DIR/f0..f(N-1), SIZE bytes each
 *   runtime_bench_files read   DIR N SIZE   reads them back and checks size and content
 * Plain libc open/write/read/close, as an unmodified program does; no fsync (the program does
 * not ask for durability; `cove run` commits each file on its last close anyway). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(const char* what, const char* path) {
  fprintf(stderr, "runtime_bench_files: %s %s: %s\n", what, path, strerror(errno));
  return 1;
}

int main(int argc, char** argv) {
  if (argc != 5 || (strcmp(argv[1], "create") != 0 && strcmp(argv[1], "read") != 0)) {
    fprintf(stderr, "usage: runtime_bench_files create|read DIR N SIZE\n");
    return 2;
  }
  const int create = strcmp(argv[1], "create") == 0;
  const char* dir = argv[2];
  const long n = atol(argv[3]);
  const size_t size = (size_t)atol(argv[4]);
  char* expected = malloc(size + 1);
  char* buffer = malloc(size + 1);
  if (expected == NULL || buffer == NULL) return 1;
  if (create && mkdir(dir, 0755) != 0 && errno != EEXIST) return fail("mkdir", dir);

  char path[4096];
  for (long i = 0; i < n; i++) {
    snprintf(path, sizeof path, "%s/f%ld", dir, i);
    memset(expected, 'a' + (int)(i % 26), size);
    if (create) {
      int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0) return fail("open", path);
      if (write(fd, expected, size) != (ssize_t)size) return fail("write", path);
      if (close(fd) != 0) return fail("close", path);
    } else {
      int fd = open(path, O_RDONLY | O_CLOEXEC);
      if (fd < 0) return fail("open", path);
      ssize_t got = read(fd, buffer, size + 1); /* one byte more: detects a longer file */
      if (got != (ssize_t)size || memcmp(buffer, expected, size) != 0) {
        fprintf(stderr, "runtime_bench_files: %s: wrong content (%zd bytes)\n", path, got);
        return 1;
      }
      if (close(fd) != 0) return fail("close", path);
    }
  }
  free(expected);
  free(buffer);
  return 0;
}
