/* runtime_bench_calls: the cost of a call on an UNPROTECTED path, run natively and under
 * `cove run` by bench/runtime_bench.sh. Prints one line per operation: "NAME NS_PER_CALL".
 *   runtime_bench_calls FILE [CALLS]   FILE: a small file outside every region (>= 4 KiB)
 * Interposed calls (stat, open+close, read, pread, and a socket round trip of send, poll and recv
 * on a socketpair, which the runtime passes through) should cost the same under the runtime; the
 * last two rows are NOT interposed and reach the kernel through the syscall trap under cove:
 * getppid (a libc wrapper the runtime does not export) and stdio (glibc's fopen/fread issue
 * their syscalls internally). Each operation runs in 20 batches timed by the thread's CPU clock
 * (time spent descheduled while other processes run does not count) and the fastest batch is
 * reported, which filters out most of what neighbours on a shared machine add. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { kBatches = 20 };
static const char* g_file;
static int g_zero_fd, g_file_fd, g_socket_pair[2];
static volatile long g_sink;

static long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static void op_stat(void) {
  struct stat st;
  if (stat(g_file, &st) != 0) abort();
  g_sink += st.st_size;
}
static void op_open_close(void) {
  int fd = open(g_file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) abort();
  close(fd);
}
static void op_read_devzero(void) {
  char c;
  if (read(g_zero_fd, &c, 1) != 1) abort();
  g_sink += c;
}
static void op_pread_64(void) {
  char buf[64];
  if (pread(g_file_fd, buf, sizeof buf, 0) != (ssize_t)sizeof buf) abort();
  g_sink += buf[0];
}
static void op_socket_round_trip(void) {
  char buf[64] = {0};
  struct pollfd pfd = {.fd = g_socket_pair[1], .events = POLLIN};
  if (send(g_socket_pair[0], buf, sizeof buf, 0) != (ssize_t)sizeof buf) abort();
  if (poll(&pfd, 1, 1000) != 1) abort();
  if (recv(g_socket_pair[1], buf, sizeof buf, 0) != (ssize_t)sizeof buf) abort();
  g_sink += buf[0];
}
static void op_getppid(void) {
  g_sink += getppid();
}
static void op_stdio_4k(void) {
  char buf[4096];
  FILE* f = fopen(g_file, "r");
  if (f == NULL) abort();
  g_sink += (long)fread(buf, 1, sizeof buf, f);
  fclose(f);
}

static void measure(const char* name, void (*op)(void), long calls) {
  long per_batch = calls / kBatches > 0 ? calls / kBatches : 1;
  double best = 1e300;
  for (int b = 0; b < kBatches; b++) {
    long start = now_ns();
    for (long i = 0; i < per_batch; i++) op();
    double ns = (double)(now_ns() - start) / (double)per_batch;
    if (ns < best) best = ns;
  }
  printf("%s %.1f\n", name, best);
  fflush(stdout);
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: runtime_bench_calls FILE [CALLS]\n");
    return 2;
  }
  g_file = argv[1];
  long calls = argc > 2 ? atol(argv[2]) : 1000000;
  g_zero_fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
  g_file_fd = open(g_file, O_RDONLY | O_CLOEXEC);
  if (g_zero_fd < 0 || g_file_fd < 0 ||
      socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, g_socket_pair) != 0) {
    perror("runtime_bench_calls: open or socketpair");
    return 1;
  }
  measure("stat", op_stat, calls);
  measure("open+close", op_open_close, calls);
  measure("read_1B_devzero", op_read_devzero, calls);
  measure("pread_64B", op_pread_64, calls);
  measure("socket_send_poll_recv_64B", op_socket_round_trip, calls / 4);
  /* The trapped rows cost microseconds each under cove: fewer calls keep the run short. */
  measure("getppid_trapped", op_getppid, calls / 4);
  measure("stdio_fopen_fread4k_fclose", op_stdio_4k, calls / 20);
  return 0;
}
