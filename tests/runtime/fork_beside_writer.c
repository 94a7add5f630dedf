/*
 * fork() while another thread works on protected files, as a threaded server that spawns
 * children does. Usage: fork_beside_writer MODE PATH FORKS, MODE one of
 *   pwrite   a thread rewrites FILE=PATH in 1 MiB pwrites; every child must get going (none may
 *            inherit the file's lock held by the writing thread, which it does not have), and
 *            no child may commit the writes the parent had not committed yet (the parent's own
 *            commit then failed: "another process sharing its descriptor committed it
 *            first"). Each child closes every number from 3 to 1023 but the file's (a daemon's
 *            child before its exec), then half of them _exit, half exit() (which runs the
 *            runtime's commit at exit). Prints "FORKS children exited, size N".
 *   fflush   a thread prints to a stdio stream on FILE=PATH and calls fflush(NULL) without
 *            pause (glibc's fork takes its stdio list lock after the fork handlers: a fork
 *            beside it hung). Prints "FORKS children exited".
 *   newfiles a thread creates files PATH/new0, new1... and keeps them open while children
 *            close every descriptor (close_range) and exit; the parent then appends to each
 *            and reads them back (a child staged and saved a file created just before its
 *            fork, and the parent's appends failed with EIO). Prints "N files, B bad".
 * Exit status 1 when a child hung (10 s) or a call failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

enum { kChunk = 1 << 20 };
static int g_fd;
static volatile int g_stop;
static volatile int g_failed;

static FILE* g_stream;
enum { kNewFiles = 2000 };
static const char* g_dir;
static int g_new_fds[kNewFiles];
static volatile int g_created;

static void* Flusher(void* arg) {
  (void)arg;
  for (long i = 0; !g_stop; ++i) {
    fprintf(g_stream, "line %ld\n", i);
    fflush(NULL);
  }
  return NULL;
}

static void* Creator(void* arg) {
  (void)arg;
  for (int i = 0; i < kNewFiles && !g_stop; ++i) {
    char path[4096], data[64];
    snprintf(path, sizeof path, "%s/new%d", g_dir, i);
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
    int n = snprintf(data, sizeof data, "content of %d\n", i);
    if (fd < 0 || write(fd, data, (size_t)n) != n) {
      perror("fork_beside_writer: new file");
      g_failed = 1;
      return NULL;
    }
    g_new_fds[i] = fd;
    g_created = i + 1;
  }
  return NULL;
}

/* The parent's appends to the new files after the forks, then each read back. */
static int CheckNewFiles(void) {
  int bad = 0, n = g_created;
  for (int i = 0; i < n; ++i) {
    if (write(g_new_fds[i], "tail\n", 5) != 5 || close(g_new_fds[i]) != 0) ++bad;
  }
  for (int i = 0; i < n; ++i) {
    char path[4096], want[64], got[64] = {0};
    snprintf(path, sizeof path, "%s/new%d", g_dir, i);
    snprintf(want, sizeof want, "content of %d\ntail\n", i);
    int fd = open(path, O_RDONLY);
    ssize_t r = fd < 0 ? -1 : read(fd, got, sizeof got - 1);
    if (fd >= 0) close(fd);
    if (r < 0 || strcmp(got, want) != 0) ++bad;
  }
  printf("%d files, %d bad\n", n, bad);
  return bad;
}

static void* Writer(void* arg) {
  (void)arg;
  static char buf[kChunk];
  memset(buf, 'a', sizeof buf);
  while (!g_stop) {
    if (pwrite(g_fd, buf, sizeof buf, 0) != (ssize_t)sizeof buf) {
      perror("fork_beside_writer: pwrite");
      g_failed = 1;
      return NULL;
    }
  }
  return NULL;
}

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  const char* mode = argv[1];
  int forks = atoi(argv[3]);
  void* (*thread)(void*) = Writer;
  if (strcmp(mode, "pwrite") == 0) {
    g_fd = open(argv[2], O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0600);
    if (g_fd < 0) {
      perror("fork_beside_writer: open");
      return 1;
    }
  } else if (strcmp(mode, "fflush") == 0) {
    g_stream = fopen(argv[2], "w");
    if (g_stream == NULL) return 1;
    thread = Flusher;
  } else if (strcmp(mode, "newfiles") == 0) {
    g_dir = argv[2];
    g_fd = -1;
    thread = Creator;
  } else {
    return 2;
  }
  pthread_t writer;
  pthread_create(&writer, NULL, thread, NULL);
  int hung = 0;
  for (int i = 0; i < forks && !hung && !g_failed; i++) {
    pid_t pid = fork();
    if (pid < 0) {
      perror("fork_beside_writer: fork");
      return 1;
    }
    if (pid == 0) {
      if (thread == Creator) {
        syscall(SYS_close_range, 3, ~0U, 0);  // a daemon-like child: every descriptor
      } else {
        for (int n = 3; n < 1024; n++) {
          if (n != g_fd) close(n);
        }
      }
      if (i % 2 == 0) _exit(0);
      exit(0);
    }
    int status = 0, waited = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
      if (++waited > 10000) {
        fprintf(stderr, "fork_beside_writer: child %d (fork %d) hung\n", (int)pid, i);
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        hung = 1;
        break;
      }
      usleep(1000);
    }
    if (!hung && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
      fprintf(stderr, "fork_beside_writer: child %d ended with status %d\n", (int)pid, status);
      g_failed = 1;
    }
  }
  g_stop = 1;
  pthread_join(writer, NULL);
  if (thread == Creator) return CheckNewFiles() != 0 || hung || g_failed;
  if (thread == Flusher) {
    if (fclose(g_stream) != 0) return 1;
    printf("%d children exited\n", forks);
    return hung || g_failed;
  }
  if (close(g_fd) != 0) {
    perror("fork_beside_writer: close");
    return 1;
  }
  struct stat st;
  if (stat(argv[2], &st) != 0) {
    perror("fork_beside_writer: stat");
    return 1;
  }
  printf("%d children exited, size %lld\n", forks, (long long)st.st_size);
  return hung || g_failed;
}
