// StartHelperThread: a detached thread of cove's own inside a program (the shield's crypto
// helpers, the runtime's commit thread) that never takes the program's signals: it starts with
// every signal blocked but SIGSYS and SIGSEGV, which the syscall trap raises synchronously (a
// blocked one would kill the process at the thread's first trapped syscall).
#pragma once

#include <pthread.h>
#include <signal.h>

#include <cstddef>

namespace cove {

// Returns pthread_create's result (0 on success).
inline int StartHelperThread(void* (*body)(void*), void* arg, size_t stack_bytes) {
  sigset_t all, old;
  sigfillset(&all);
  sigdelset(&all, SIGSYS);
  sigdelset(&all, SIGSEGV);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, stack_bytes);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t thread;
  int created = pthread_create(&thread, &attr, body, arg);
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return created;
}

}  // namespace cove
