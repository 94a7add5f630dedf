/* cancel_blocked: pthread_cancel of a thread blocked in a call the runtime interposes (read and
 * write on a pipe, open of a FIFO without a writer, fcntl(F_SETLKW) on a lock another process
 * holds) or that reaches it through the syscall trap (recv, poll: glibc's own wrappers) must end
 * the thread, as with glibc's own functions, which are cancellation points.
 * Prints one line per case; exits 1 when a thread was not cancelled within 5 seconds.
 * Usage: cancel_blocked WORK_DIR */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int pipe_fds[2];
static int socket_fds[2];
static char fifo_path[4096];
static char lock_path[4096];

static void* blocked_read(void* arg) {
  char c;
  (void)arg;
  read(pipe_fds[0], &c, 1);
  return NULL;
}

static void* blocked_write(void* arg) {
  static char chunk[65536];
  (void)arg;
  for (;;) write(pipe_fds[1], chunk, sizeof chunk); /* fills the pipe, then blocks */
  return NULL;
}

static void* blocked_open(void* arg) {
  (void)arg;
  open(fifo_path, O_RDONLY); /* no writer: blocks */
  return NULL;
}

static void* blocked_recv(void* arg) {
  char c;
  (void)arg;
  recv(socket_fds[0], &c, 1, 0);
  return NULL;
}

static void* blocked_poll(void* arg) {
  struct pollfd wait_for = {.fd = socket_fds[0], .events = POLLIN};
  (void)arg;
  poll(&wait_for, 1, -1);
  return NULL;
}

static void* blocked_lock(void* arg) {
  (void)arg;
  int fd = open(lock_path, O_RDWR);
  struct flock lock = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
  fcntl(fd, F_SETLKW, &lock); /* another process holds it: blocks */
  return NULL;
}

/* Starts `body`, lets it block, cancels it; 0 when it ended as cancelled within 5 s. */
static int cancel_case(const char* name, void* (*body)(void*)) {
  pthread_t thread;
  if (pthread_create(&thread, NULL, body, NULL) != 0) return 1;
  usleep(200000);
  pthread_cancel(thread);
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 5;
  void* result = NULL;
  int joined = pthread_timedjoin_np(thread, &result, &deadline);
  int ok = joined == 0 && result == PTHREAD_CANCELED;
  printf("%s: %s\n", name,
         ok            ? "cancelled"
         : joined != 0 ? "NOT cancelled (still blocked)"
                       : "ended, not cancelled");
  return ok ? 0 : 1;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: cancel_blocked WORK_DIR\n");
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  snprintf(fifo_path, sizeof fifo_path, "%s/fifo", argv[1]);
  snprintf(lock_path, sizeof lock_path, "%s/lock", argv[1]);
  if (pipe(pipe_fds) != 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, socket_fds) != 0 ||
      mkfifo(fifo_path, 0600) != 0) {
    perror("cancel_blocked: pipe/mkfifo");
    return 2;
  }
  int failed = 0;
  failed |= cancel_case("read on an empty pipe", blocked_read);
  failed |= cancel_case("write on a full pipe", blocked_write);
  failed |= cancel_case("open of a FIFO without a writer", blocked_open);
  failed |= cancel_case("recv on a socket (trapped)", blocked_recv);
  failed |= cancel_case("poll (trapped)", blocked_poll);

  int ready[2];
  int lock_fd = open(lock_path, O_RDWR | O_CREAT, 0600);
  if (lock_fd < 0 || pipe(ready) != 0) return 2;
  pid_t holder = fork();
  if (holder == 0) {
    struct flock lock = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    fcntl(lock_fd, F_SETLK, &lock);
    write(ready[1], "x", 1);
    pause();
    _exit(0);
  }
  char byte;
  read(ready[0], &byte, 1);
  failed |= cancel_case("fcntl(F_SETLKW) on a lock another process holds", blocked_lock);
  kill(holder, SIGKILL);
  waitpid(holder, NULL, 0);
  return failed;
}
