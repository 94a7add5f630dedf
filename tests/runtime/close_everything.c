/*
 * A program that closes or replaces descriptors it never opened, as daemons and shells do,
 * while it writes a protected file: the runtime's own descriptors (the file's host file and
 * lock, the fspf's watch) must survive, and the file must end up with every byte written.
 * Usage: close_everything FILE MODE, MODE one of
 *   loop      close() of every number from 3 to 4095 but the program's own
 *   raw       the same through syscall(SYS_close) (the syscall trap)
 *   closefrom glibc's closefrom (a raw close_range inside libc)
 *   dup2      dup2 of /dev/null onto every number from 3 to 1023 but its own, then closed
 *   badflags  a raw close_range of its own descriptor with a flag the kernel refuses (EINVAL:
 *             the descriptor must stay usable)
 *   signal    a timer's signal handler closes a number above 65535 and the runtime's
 *             descriptor of its log file (SCONE_LOG_FILE=.../signal.log) while the program
 *             writes other protected files: close in a handler must neither lock nor allocate.
 *             (Not the runtime's other numbers: a handler closing descriptors the interrupted
 *             code may be opening races with it, natively as under cove.)
 * Prints "MODE: N closed, M busy" and the file's content read back; exit status 1 on any
 * error other than the refusals the runtime documents (EBADF for close, EBUSY for dup2).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

static volatile sig_atomic_t g_signals;
static int g_log_fd = -1;

static void CloseInHandler(int sig) {
  (void)sig;
  int saved = errno;
  close(70000);
  close(g_log_fd);
  g_signals++;
  errno = saved;
}

/* The descriptor whose link ends in "/signal.log", or -1. */
static int FindLogFd(void) {
  for (int n = 3; n < 4096; n++) {
    char link[64], target[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", n);
    ssize_t length = readlink(link, target, sizeof target - 1);
    if (length <= 0) continue;
    target[length] = '\0';
    if (length >= 11 && strcmp(target + length - 11, "/signal.log") == 0) return n;
  }
  return -1;
}

static int fail(const char* what) {
  fprintf(stderr, "close_everything: %s: %s\n", what, strerror(errno));
  return 1;
}

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  const char* mode = argv[2];
  int fd = open(argv[1], O_CREAT | O_RDWR | O_TRUNC, 0600);
  if (fd < 0) return fail("open");
  if (write(fd, "hello", 5) != 5) return fail("first write");
  int closed = 0, busy = 0;
  if (strcmp(mode, "loop") == 0 || strcmp(mode, "raw") == 0) {
    int raw = strcmp(mode, "raw") == 0;
    for (int n = 3; n < 4096; n++) {
      if (n == fd) continue;
      long r = raw ? syscall(SYS_close, n) : close(n);
      if (r == 0)
        closed++;
      else if (errno != EBADF)
        return fail("close");
    }
  } else if (strcmp(mode, "closefrom") == 0) {
    closefrom(fd + 1);
  } else if (strcmp(mode, "dup2") == 0) {
    int null = open("/dev/null", O_WRONLY);
    if (null < 0) return fail("open /dev/null");
    for (int n = 3; n < 1024; n++) {
      if (n == fd || n == null) continue;
      if (dup2(null, n) == n) {
        close(n);
        closed++;
      } else if (errno == EBUSY) {
        busy++;
      } else {
        return fail("dup2");
      }
    }
    close(null);
  } else if (strcmp(mode, "badflags") == 0) {
    if (syscall(SYS_close_range, fd, fd, 0x1000) != -1 || errno != EINVAL) {
      return fail("close_range with a bad flag: expected EINVAL");
    }
  } else if (strcmp(mode, "signal") == 0) {
    g_log_fd = FindLogFd();
    if (g_log_fd < 0) return fail("no descriptor of signal.log (SCONE_LOG_FILE)");
    struct sigaction action = {.sa_handler = CloseInHandler};
    sigaction(SIGALRM, &action, NULL);
    struct itimerval every = {{0, 100}, {0, 100}};
    setitimer(ITIMER_REAL, &every, NULL);
    char other[4096];
    for (int i = 0; i < 300; i++) {
      snprintf(other, sizeof other, "%s.%d", argv[1], i % 10);
      int o = open(other, O_CREAT | O_WRONLY | O_TRUNC, 0600);
      if (o < 0 || write(o, "x", 1) != 1 || close(o) != 0) return fail("other file");
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    if (g_signals == 0) return fail("no signal arrived");
    if (fcntl(g_log_fd, F_GETFD) < 0) return fail("the runtime's log descriptor was closed");
  } else {
    return 2;
  }
  if (write(fd, " world", 6) != 6) return fail("second write");
  if (close(fd) != 0) return fail("close of the file");
  char buf[64] = {0};
  fd = open(argv[1], O_RDONLY);
  if (fd < 0) return fail("reopen");
  ssize_t n = read(fd, buf, sizeof buf - 1);
  if (n < 0) return fail("read back");
  printf("%s: %d closed, %d busy\n%s\n", mode, closed, busy, buf);
  return 0;
}
