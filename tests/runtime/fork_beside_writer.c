/*
 * fork() while another thread writes a protected file, as a threaded server that spawns
 * children does: every child must get going (none may inherit the file's lock held by the
 * writing thread, which it does not have), and no child may commit the writes the parent had
 * not committed yet (the parent's own commit then failed: "another process sharing its
 * descriptor committed it first").
 * Usage: fork_beside_writer FILE FORKS. Each child closes every number from 3 to 1023 but the
 * file's (a daemon's child before its exec), then half of them _exit, half exit() (which runs
 * the runtime's commit at exit). Prints "FORKS children exited" and the file's size; exit
 * status 1 when a child hung (10 s) or a call failed.
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
#include <sys/wait.h>
#include <unistd.h>

enum { kChunk = 1 << 20 };
static int g_fd;
static volatile int g_stop;
static volatile int g_failed;

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
  if (argc != 3) return 2;
  int forks = atoi(argv[2]);
  g_fd = open(argv[1], O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0600);
  if (g_fd < 0) {
    perror("fork_beside_writer: open");
    return 1;
  }
  pthread_t writer;
  pthread_create(&writer, NULL, Writer, NULL);
  int hung = 0;
  for (int i = 0; i < forks && !hung && !g_failed; i++) {
    pid_t pid = fork();
    if (pid < 0) {
      perror("fork_beside_writer: fork");
      return 1;
    }
    if (pid == 0) {
      for (int n = 3; n < 1024; n++) {
        if (n != g_fd) close(n);
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
  if (close(g_fd) != 0) {
    perror("fork_beside_writer: close");
    return 1;
  }
  struct stat st;
  if (stat(argv[1], &st) != 0) {
    perror("fork_beside_writer: stat");
    return 1;
  }
  printf("%d children exited, size %lld\n", forks, (long long)st.st_size);
  return hung || g_failed;
}
