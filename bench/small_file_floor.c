/* small_file_floor: the kernel's share of cove's small-file cost, without cove. Replays, in plain
 * C on the same file system, the system calls the runtime makes per 4 KiB protected file (and
 * nothing else: no crypto, no bookkeeping, no syscall trap), next to the native sequence, so
 * that the small-file target of bench/runtime_bench.sh (<= 3x native) can be read against what
 * the design's calls alone cost. Layouts:
 *   native   open(O_CREAT|O_TRUNC) + write 4 KiB + close; open + read + close
 *   design   what cove does today (strace of runtime_bench_files): the fspf's fstat, an
 *            O_EXCL create (or O_RDWR open) of the host file, flock, a dup for the file, a
 *            12 KiB host file (4 KiB header, 4 KiB tag block, the chunk) written or read in
 *            one call, the program's O_PATH descriptor opened by path, three closes
 *   compact  the same with a 4,200-byte host file (header and tag entry beside the chunk)
 *   +dup     compact, and the program's descriptor made by dup instead of an open by path
 * Prints microseconds per file, the best of ROUNDS rounds of N files (noise only adds time).
 *   small_file_floor DIR FSPF [N] [ROUNDS]   DIR: scratch directory (emptied), FSPF: any file */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { kHostDesign = 12288, kHostCompact = 4200, kPlain = 4096 };
enum Layout { kNative, kDesign, kCompact, kCompactDup, kLayouts };
static const char* const kNames[kLayouts] = {"native", "design", "compact", "+dup"};

static char g_buffer[kHostDesign + 1];
static char g_path[4096];
static int g_fspf_fd;

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void die(const char* what) {
  fprintf(stderr, "small_file_floor: %s %s: %s\n", what, g_path, strerror(errno));
  exit(1);
}

static const char* file_path(const char* dir, enum Layout layout, long i) {
  snprintf(g_path, sizeof g_path, "%s/%s-%ld", dir, kNames[layout], i);
  return g_path;
}

/* The program's descriptor: an O_PATH open by path (design, compact) or a dup (+dup). */
static int placeholder(enum Layout layout, const char* path) {
  return layout == kCompactDup ? fcntl(g_fspf_fd, F_DUPFD_CLOEXEC, 0)
                               : open(path, O_PATH | O_CLOEXEC);
}

static void create_one(enum Layout layout, const char* path) {
  if (layout == kNative) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, g_buffer, kPlain) != kPlain || close(fd) != 0) die("native create");
    return;
  }
  size_t host = layout == kDesign ? kHostDesign : kHostCompact;
  struct stat st;
  if (fstat(g_fspf_fd, &st) != 0) die("fstat fspf");
  int lock = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) != 0) die("create");
  int file = fcntl(lock, F_DUPFD_CLOEXEC, 0);
  int program = placeholder(layout, path);
  if (file < 0 || program < 0 || pwrite(file, g_buffer, host, 0) != (ssize_t)host) die("write");
  if (close(program) != 0 || close(file) != 0 || close(lock) != 0) die("close");
}

static void read_one(enum Layout layout, const char* path) {
  if (layout == kNative) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, g_buffer, kPlain + 1) != kPlain || close(fd) != 0) die("native read");
    return;
  }
  size_t host = layout == kDesign ? kHostDesign : kHostCompact;
  struct stat st;
  if (fstat(g_fspf_fd, &st) != 0) die("fstat fspf");
  int lock = open(path, O_RDWR | O_CLOEXEC);
  if (lock < 0 || flock(lock, LOCK_SH | LOCK_NB) != 0) die("open");
  int file = fcntl(lock, F_DUPFD_CLOEXEC, 0);
  int program = placeholder(layout, path);
  if (file < 0 || program < 0 || pread(file, g_buffer, host + 1, 0) != (ssize_t)host) die("read");
  if (close(program) != 0 || close(file) != 0 || close(lock) != 0) die("close");
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: small_file_floor DIR FSPF [N] [ROUNDS]\n");
    return 2;
  }
  const char* dir = argv[1];
  long n = argc > 3 ? atol(argv[3]) : 3000;
  int rounds = argc > 4 ? atoi(argv[4]) : 5;
  g_fspf_fd = open(argv[2], O_RDONLY | O_CLOEXEC);
  if (g_fspf_fd < 0 || n <= 0 || rounds <= 0) die("open fspf (or bad N, ROUNDS)");
  memset(g_buffer, 'a', sizeof g_buffer);
  if (mkdir(dir, 0755) != 0 && errno != EEXIST) die("mkdir");
  double best_create[kLayouts], best_read[kLayouts];
  for (int l = 0; l < kLayouts; l++) best_create[l] = best_read[l] = 1e300;
  for (int round = 0; round < rounds; round++) {
    for (int l = 0; l < kLayouts; l++) { /* layouts interleaved: a noisy spell hits all */
      for (long i = 0; i < n; i++) unlink(file_path(dir, (enum Layout)l, i));
      double start = now_us();
      for (long i = 0; i < n; i++) create_one((enum Layout)l, file_path(dir, (enum Layout)l, i));
      double created = now_us();
      for (long i = 0; i < n; i++) read_one((enum Layout)l, file_path(dir, (enum Layout)l, i));
      double read_back = now_us();
      if ((created - start) / n < best_create[l]) best_create[l] = (created - start) / n;
      if ((read_back - created) / n < best_read[l]) best_read[l] = (read_back - created) / n;
    }
  }
  for (int l = 0; l < kLayouts; l++) {
    for (long i = 0; i < n; i++) unlink(file_path(dir, (enum Layout)l, i));
  }
  printf("| layout | create us/file | x native | read us/file | x native |\n");
  printf("| --- | --- | --- | --- | --- |\n");
  for (int l = 0; l < kLayouts; l++) {
    printf("| %s | %.1f | %.2fx | %.1f | %.2fx |\n", kNames[l], best_create[l],
           best_create[l] / best_create[kNative], best_read[l], best_read[l] / best_read[kNative]);
  }
  return 0;
}
