/* exec_variants: hands a protected file to a child as its stdout through every way of starting
 * a program, and checks that the parent's own stdout is untouched afterwards (exec_test.sh):
 *  - fork, then execve/execv/execvp/execl/execlp/execvpe (each interposed: glibc's would
 *    reach the kernel's execve directly, through the syscall trap);
 *  - system() with stdout redirected around it (glibc's system spawns with vfork);
 *  - posix_spawn with a dup2 file action (the child runs on the parent's memory until it
 *    execs: its dup2 must not change the parent's view of its descriptors);
 *  - posix_spawn with an open file action on a protected path: refused (EPERM), since such a
 *    child cannot open protected files; the parent goes on.
 * Each child is /bin/echo NAME writing DIR/NAME.out. Prints one "NAME: status" line per way,
 * then "parent stdout ok".
 *   exec_variants DIR */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

static int open_output(const char* dir, const char* name) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.out", dir, name);
  return open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

static int wait_status(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void exec_in_child(const char* dir, const char* name) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open_output(dir, name);
    if (fd < 0 || dup2(fd, 1) != 1) _exit(90);
    close(fd);
    char* argv[] = {"echo", (char*)name, NULL};
    if (strcmp(name, "execve") == 0) execve("/bin/echo", argv, environ);
    if (strcmp(name, "execv") == 0) execv("/bin/echo", argv);
    if (strcmp(name, "execvp") == 0) execvp("echo", argv);
    if (strcmp(name, "execl") == 0) execl("/bin/echo", "echo", name, (char*)NULL);
    if (strcmp(name, "execlp") == 0) execlp("echo", "echo", name, (char*)NULL);
    if (strcmp(name, "execvpe") == 0) execvpe("echo", argv, environ);
    _exit(91);
  }
  printf("%s: %d\n", name, wait_status(pid));
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: exec_variants DIR\n");
    return 2;
  }
  const char* dir = argv[1];
  const char* execs[] = {"execve", "execv", "execvp", "execl", "execlp", "execvpe"};
  for (size_t i = 0; i < sizeof execs / sizeof execs[0]; i++) exec_in_child(dir, execs[i]);

  fflush(stdout);
  int fd = open_output(dir, "system");
  int saved = dup(1);
  dup2(fd, 1);
  close(fd);
  int status = system("echo system");
  dup2(saved, 1);
  close(saved);
  printf("system: %d\n", WEXITSTATUS(status));

  fd = open_output(dir, "posix_spawn");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fd, 1);
  char* spawn_argv[] = {"echo", "posix_spawn", NULL};
  pid_t pid;
  int spawned = posix_spawn(&pid, "/bin/echo", &actions, NULL, spawn_argv, environ);
  printf("posix_spawn: %d\n", spawned == 0 ? wait_status(pid) : -spawned);
  posix_spawn_file_actions_destroy(&actions);
  close(fd);

  char path[4096];
  snprintf(path, sizeof path, "%s/spawn_open.out", dir);
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  char* open_argv[] = {"echo", "spawn_open", NULL};
  spawned = posix_spawn(&pid, "/bin/echo", &actions, NULL, open_argv, environ);
  printf("posix_spawn_open: %s\n",
         spawned == 0 ? (wait_status(pid) == 0 ? "ran" : "failed") : strerror(spawned));
  posix_spawn_file_actions_destroy(&actions);
  printf("parent stdout ok\n");
  return 0;
}
