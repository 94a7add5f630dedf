/* own_malloc: an executable with an allocator of its own, as one linked statically with
 * tcmalloc or mimalloc: every block it hands out carries a magic word, and free() of any
 * other block aborts. Under the runtime (which allocates too, through the program's malloc)
 * it writes 100 lines to the protected file given, reads them back and prints "ok".
 *   own_malloc FILE */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { kArenaBytes = 64 << 20, kHeader = 16 };
static const uint64_t kMagic = 0xC0FFEE1234567890ull;
static _Alignas(16) char arena[kArenaBytes];
static size_t used;

static void* take(size_t size) {
  size_t need = (size + kHeader + 15) & ~(size_t)15;
  size_t at = __atomic_fetch_add(&used, need, __ATOMIC_RELAXED);
  if (at + need > sizeof arena) return NULL;
  uint64_t* header = (uint64_t*)(arena + at);
  header[0] = kMagic;
  header[1] = size;
  return arena + at + kHeader;
}

static int ours(const void* p) {
  return (const char*)p >= arena + kHeader && (const char*)p < arena + sizeof arena &&
         ((const uint64_t*)p)[-2] == kMagic;
}

void* malloc(size_t size) {
  return take(size);
}
void* calloc(size_t count, size_t size) {
  void* p = take(count * size);
  if (p != NULL) memset(p, 0, count * size);
  return p;
}
void free(void* p) {
  if (p == NULL || ours(p)) return;
  static const char message[] = "own_malloc: free() of a block another allocator handed out\n";
  write(2, message, sizeof message - 1);
  abort();
}
void* realloc(void* old, size_t size) {
  void* p = take(size);
  if (p != NULL && old != NULL) {
    size_t old_size = ((uint64_t*)old)[-1];
    memcpy(p, old, old_size < size ? old_size : size);
    free(old);
  }
  return p;
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return perror("open"), 1;
  for (int i = 0; i < 100; i++) {
    if (write(fd, "hello\n", 6) != 6) return perror("write"), 1;
  }
  if (close(fd) != 0) return perror("close"), 1;
  char buffer[700];
  fd = open(argv[1], O_RDONLY | O_CLOEXEC);
  ssize_t got = fd < 0 ? -1 : read(fd, buffer, sizeof buffer);
  if (got != 600) return fprintf(stderr, "read back %zd bytes\n", got), 1;
  close(fd);
  puts("ok");
  return 0;
}
