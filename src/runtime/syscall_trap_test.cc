// Tests of the raw-syscall trap. Each test runs in a forked child (the trap changes the whole
// process) with a test-only dispatcher, so they do not depend on the shield.
#include "runtime/syscall_trap.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>

#include "runtime/raw_syscall.h"

extern char** environ;

namespace cove::runtime {
namespace {

// Inside the child: report the failed condition and exit with a distinctive status.
#define CHILD_CHECK(cond)                                                                         \
  do {                                                                                            \
    if (!(cond)) {                                                                                \
      dprintf(2, "%s:%d: child check failed: %s (errno %d)\n", __FILE__, __LINE__, #cond, errno); \
      _exit(3);                                                                                   \
    }                                                                                             \
  } while (0)

int g_protected_fd = -1;                  // what "/protected/x" opens to
std::atomic<int> g_dispatched_openat{0};  // openat calls the dispatcher emulated

// Emulates openat of "/protected/x" (a dup of g_protected_fd) and refuses "/protected/deny".
bool TestDispatcher(long nr, long args[6], long* result) {
  if (nr != SYS_openat) return false;
  const char* path = reinterpret_cast<const char*>(args[1]);
  if (strcmp(path, "/protected/x") == 0) {
    g_dispatched_openat.fetch_add(1);
    errno = 0;  // the trap must hide this from the program
    *result = RawSyscall1(SYS_dup, g_protected_fd);
    return true;
  }
  if (strcmp(path, "/protected/deny") == 0) {
    *result = -EACCES;
    return true;
  }
  return false;
}

// Runs `body` in a forked child after installing the trap (with `filter`, if any); expects a
// clean exit.
void RunTrapped(const std::function<void()>& body, TrappedSyscallFilter filter = nullptr) {
  fflush(nullptr);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    char name[] = "/tmp/cove-trap-test-XXXXXX";
    g_protected_fd = mkstemp(name);
    CHILD_CHECK(g_protected_fd >= 0);
    unlink(name);
    CHILD_CHECK(write(g_protected_fd, "plaintext", 9) == 9);
    SyscallTrapOptions options;
    // Patched sites only (a failure to patch fails the test), or COVE_TEST_TRAP=kernel.
    const char* mechanism = getenv("COVE_TEST_TRAP");
    options.mechanism = mechanism != nullptr && strcmp(mechanism, "kernel") == 0
                            ? TrapMechanism::kKernel
                            : TrapMechanism::kPatched;
    options.dispatcher = &TestDispatcher;
    options.filter = filter;
    options.log_fd = 2;
    Status s = InstallSyscallTrap(options);
    if (!s.ok()) {
      dprintf(2, "InstallSyscallTrap: %s\n", s.ToString().c_str());
      _exit(4);
    }
    body();
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "child killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// What a program reads through a raw openat of `path`, or "" with errno set.
std::string ReadThroughRawOpenat(const char* path) {
  long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY);
  if (fd < 0) return "";
  char buffer[64] = {};
  long n = syscall(SYS_pread64, fd, buffer, sizeof buffer - 1, 0);
  close(static_cast<int>(fd));
  return n > 0 ? std::string(buffer, n) : "";
}

TEST(SyscallTrap, RawOpenatOfProtectedPathReachesDispatcher) {
  RunTrapped([] {
    CHILD_CHECK(ReadThroughRawOpenat("/protected/x") == "plaintext");
    CHILD_CHECK(g_dispatched_openat.load() == 1);
  });
}

TEST(SyscallTrap, DispatcherRefusalReachesProgramAsErrno) {
  RunTrapped([] {
    errno = 0;
    CHILD_CHECK(syscall(SYS_openat, AT_FDCWD, "/protected/deny", O_RDONLY) == -1);
    CHILD_CHECK(errno == EACCES);
  });
}

// The filter is asked first: a call it turns away never reaches the dispatcher and is performed
// as it is (the kernel's ENOENT, not the dispatcher's EACCES); the others still are dispatched.
bool AllButDeny(long nr, const long args[6]) {
  return nr != SYS_openat || strcmp(reinterpret_cast<const char*>(args[1]), "/protected/deny") != 0;
}
TEST(SyscallTrap, FilterTurnsCallsAwayFromTheDispatcher) {
  RunTrapped(
      [] {
        errno = 0;
        CHILD_CHECK(syscall(SYS_openat, AT_FDCWD, "/protected/deny", O_RDONLY) == -1);
        CHILD_CHECK(errno == ENOENT);
        CHILD_CHECK(ReadThroughRawOpenat("/protected/x") == "plaintext");
        CHILD_CHECK(g_dispatched_openat.load() == 1);
      },
      &AllButDeny);
}

TEST(SyscallTrap, UnprotectedRawSyscallsAreTrappedAndStillWork) {
  RunTrapped([] {
    uint64_t before = TrappedSyscallCount();
    CHILD_CHECK(syscall(SYS_getpid) == RawSyscall0(SYS_getpid));
    int fds[2];
    CHILD_CHECK(pipe(fds) == 0);
    CHILD_CHECK(syscall(SYS_write, fds[1], "abc", 3) == 3);
    char buffer[4] = {};
    CHILD_CHECK(syscall(SYS_read, fds[0], buffer, 3) == 3);
    CHILD_CHECK(strcmp(buffer, "abc") == 0);
    CHILD_CHECK(syscall(SYS_openat, AT_FDCWD, "/nonexistent/cove", O_RDONLY) == -1);
    CHILD_CHECK(errno == ENOENT);
    CHILD_CHECK(TrappedSyscallCount() >= before + 5);
  });
}

TEST(SyscallTrap, RuntimeTrampolineIsNotTrapped) {
  RunTrapped([] {
    uint64_t before = TrappedSyscallCount();
    for (int i = 0; i < 10; ++i) RawSyscall0(SYS_getppid);
    CHILD_CHECK(TrappedSyscallCount() == before);
  });
}

TEST(SyscallTrap, ThreadsCreatedAfterInstallAreCovered) {
  RunTrapped([] {
    pthread_t threads[4];
    for (pthread_t& t : threads) {
      CHILD_CHECK(pthread_create(
                      &t, nullptr,
                      [](void*) -> void* {
                        uint64_t before = TrappedSyscallCount();
                        bool ok = ReadThroughRawOpenat("/protected/x") == "plaintext" &&
                                  TrappedSyscallCount() > before;
                        return ok ? reinterpret_cast<void*>(1) : nullptr;
                      },
                      nullptr) == 0);
    }
    for (pthread_t t : threads) {
      void* ok = nullptr;
      CHILD_CHECK(pthread_join(t, &ok) == 0);
      CHILD_CHECK(ok != nullptr);
    }
    CHILD_CHECK(g_dispatched_openat.load() == 4);
  });
}

TEST(SyscallTrap, ForkChildStillTraps) {
  RunTrapped([] {
    pid_t pid = fork();
    CHILD_CHECK(pid >= 0);
    if (pid == 0) {
      uint64_t before = TrappedSyscallCount();
      bool ok = ReadThroughRawOpenat("/protected/x") == "plaintext" &&
                g_dispatched_openat.load() == 1 && TrappedSyscallCount() > before;
      _exit(ok ? 0 : 1);
    }
    int status = 0;
    CHILD_CHECK(waitpid(pid, &status, 0) == pid);
    CHILD_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHILD_CHECK(g_dispatched_openat.load() == 0);  // the parent's count is its own
  });
}

TEST(SyscallTrap, ExecveAndPosixSpawnWork) {
  RunTrapped([] {
    pid_t pid = fork();
    CHILD_CHECK(pid >= 0);
    if (pid == 0) {
      char* argv[] = {const_cast<char*>("/bin/true"), nullptr};
      execve("/bin/true", argv, environ);
      _exit(127);
    }
    int status = 0;
    CHILD_CHECK(waitpid(pid, &status, 0) == pid);
    CHILD_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    // posix_spawn: glibc's clone(CLONE_VM | CLONE_VFORK) on a separate stack, then execve.
    char* argv[] = {const_cast<char*>("/bin/sh"), const_cast<char*>("-c"),
                    const_cast<char*>("exit 7"), nullptr};
    CHILD_CHECK(posix_spawn(&pid, "/bin/sh", nullptr, nullptr, argv, environ) == 0);
    CHILD_CHECK(waitpid(pid, &status, 0) == pid);
    CHILD_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 7);
  });
}

std::atomic<int> g_program_sigsys{0};

TEST(SyscallTrap, ProgramSigsysHandlerDoesNotRemoveOurs) {
  RunTrapped([] {
    struct sigaction theirs = {};
    theirs.sa_handler = [](int) { g_program_sigsys.fetch_add(1); };
    CHILD_CHECK(sigaction(SIGSYS, &theirs, nullptr) == 0);
    CHILD_CHECK(ReadThroughRawOpenat("/protected/x") == "plaintext");  // still trapped
    struct sigaction seen = {};
    CHILD_CHECK(sigaction(SIGSYS, nullptr, &seen) == 0);
    CHILD_CHECK(seen.sa_handler == theirs.sa_handler);  // the program sees its own handler
    CHILD_CHECK(raise(SIGSYS) == 0);                    // not from the trap: chained to theirs
    CHILD_CHECK(g_program_sigsys.load() == 1);
  });
}

TEST(SyscallTrap, BlockingAllSignalsKeepsTheTrapAlive) {
  RunTrapped([] {
    sigset_t all, current;
    sigfillset(&all);
    CHILD_CHECK(sigprocmask(SIG_BLOCK, &all, nullptr) == 0);
    CHILD_CHECK(sigprocmask(SIG_BLOCK, nullptr, &current) == 0);
    CHILD_CHECK(sigismember(&current, SIGUSR1) == 1);
    CHILD_CHECK(sigismember(&current, SIGSYS) == 0);
    CHILD_CHECK(ReadThroughRawOpenat("/protected/x") == "plaintext");
    CHILD_CHECK(sigprocmask(SIG_UNBLOCK, &all, nullptr) == 0);
  });
}

std::atomic<int> g_usr1{0};

TEST(SyscallTrap, ProgramSignalHandlersRunAndTrapInside) {
  RunTrapped([] {
    struct sigaction sa = {};
    sa.sa_handler = [](int) {
      if (ReadThroughRawOpenat("/protected/x") == "plaintext") g_usr1.fetch_add(1);
    };
    sigfillset(&sa.sa_mask);  // includes SIGSYS: the trap must drop it
    CHILD_CHECK(sigaction(SIGUSR1, &sa, nullptr) == 0);
    CHILD_CHECK(raise(SIGUSR1) == 0);
    CHILD_CHECK(g_usr1.load() == 1);
  });
}

TEST(SyscallTrap, SignalsInterruptTrappedBlockingSyscalls) {
  RunTrapped([] {
    struct sigaction sa = {};
    sa.sa_handler = [](int) {};  // no SA_RESTART: the read must fail with EINTR
    CHILD_CHECK(sigaction(SIGALRM, &sa, nullptr) == 0);
    int fds[2];
    CHILD_CHECK(pipe(fds) == 0);
    alarm(1);
    char c;
    errno = 0;
    CHILD_CHECK(syscall(SYS_read, fds[0], &c, 1) == -1);
    CHILD_CHECK(errno == EINTR);
  });
}

TEST(SyscallTrap, ProgramCannotSwitchTheTrapOff) {
  RunTrapped([] {
    CHILD_CHECK(syscall(SYS_prctl, 59 /* PR_SET_SYSCALL_USER_DISPATCH */, 0, 0, 0, 0) == -1);
    CHILD_CHECK(errno == EPERM);
    CHILD_CHECK(ReadThroughRawOpenat("/protected/x") == "plaintext");
  });
}

TEST(SyscallTrap, SecondInstallOnlyArmsTheCallingThread) {
  RunTrapped([] {
    CHILD_CHECK(SyscallTrapInstalled());
    CHILD_CHECK(InstallSyscallTrap({}).ok());
    CHILD_CHECK(ReadThroughRawOpenat("/protected/x") == "plaintext");  // dispatcher kept
  });
}

}  // namespace
}  // namespace cove::runtime
