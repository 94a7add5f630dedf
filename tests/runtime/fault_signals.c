/* fault_signals: what a program sees of SIGSEGV and of its alternate signal stack, which the
 * runtime's syscall trap also uses (patched sites raise SIGSEGV; its handler runs on the
 * thread's alternate stack). Prints one line per check; the test compares it with the same run
 * without the runtime.
 * - a SIGSEGV handler runs with its sa_mask blocked and recovers with siglongjmp, twice;
 * - SA_RESETHAND: after the first fault the disposition reads SIG_DFL;
 * - sigaltstack can be replaced and disabled (also from a handler running on it);
 * - a system call made inside the SIGSEGV handler works. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static sigjmp_buf g_jump;
/* A bad address the compiler does not see through (a literal one draws -Warray-bounds). */
static volatile int* volatile g_bad_address = (volatile int*)24;
static volatile int g_usr1_blocked = -1;
static volatile long g_pid_in_handler;

static void OnFault(int sig, siginfo_t* info, void* context) {
  (void)sig;
  (void)info;
  (void)context;
  sigset_t now;
  sigprocmask(SIG_SETMASK, NULL, &now);
  g_usr1_blocked = sigismember(&now, SIGUSR1);
  g_pid_in_handler = syscall(SYS_getpid);
  siglongjmp(g_jump, 1);
}

static volatile int g_altstack_disable_result = -2;
static void OnUsr2(int sig) {
  (void)sig;
  stack_t disable = {.ss_flags = SS_DISABLE};
  g_altstack_disable_result = sigaltstack(&disable, NULL);  // on that stack: EPERM natively
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = OnFault;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGUSR1);
  sigaction(SIGSEGV, &sa, NULL);
  volatile int recovered = 0;
  for (volatile int i = 0; i < 2; ++i) {
    if (sigsetjmp(g_jump, 1) == 0) {
      *g_bad_address = 1;
    } else {
      ++recovered;
    }
  }
  printf("recovered %d, SIGUSR1 blocked in handler %d, getpid there %s\n", recovered,
         g_usr1_blocked, g_pid_in_handler == getpid() ? "ok" : "wrong");

  sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
  sigaction(SIGSEGV, &sa, NULL);
  if (sigsetjmp(g_jump, 1) == 0) *g_bad_address = 1;
  struct sigaction after;
  sigaction(SIGSEGV, NULL, &after);
  printf("SA_RESETHAND leaves %s\n", after.sa_handler == SIG_DFL ? "SIG_DFL" : "a handler");

  stack_t first = {.ss_sp = malloc(65536), .ss_size = 65536};
  stack_t second = {.ss_sp = malloc(65536), .ss_size = 65536};
  stack_t disable = {.ss_flags = SS_DISABLE};
  int set = sigaltstack(&first, NULL);
  int replace = sigaltstack(&second, NULL);
  struct sigaction usr2;
  memset(&usr2, 0, sizeof usr2);
  usr2.sa_handler = OnUsr2;
  usr2.sa_flags = SA_ONSTACK;
  sigaction(SIGUSR2, &usr2, NULL);
  raise(SIGUSR2);
  int disabled = sigaltstack(&disable, NULL);
  printf("sigaltstack set %d, replaced %d, disabled %d, disable on it %d\n", set, replace, disabled,
         g_altstack_disable_result);
  return 0;
}
