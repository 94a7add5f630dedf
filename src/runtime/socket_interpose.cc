// Pass-through versions of the libc calls that servers and event loops make on every request
// or loop turn: sockets, poll/select and epoll. They are interposed only so that their syscall
// is issued from the syscall trap's allowed range. glibc's own versions issue it from libc's
// code, where the trap caught every one of them: a SIGSYS round trip of 1-2 us added to a call
// of 0.1-1 us (a socket ping-pong in Python took 4x as long under `cove run`).
//
// None of these calls touches a file the shield serves: to the kernel a protected descriptor is
// an O_PATH placeholder, on which they fail (EBADF, ENOTSOCK) exactly as they did through the
// trap, which performs them without asking the shield. Where glibc's version is a cancellation
// point, so is this one. Where it takes a signal mask for the wait, SIGSYS is taken out of it, as
// the trap does for the same syscalls (a signal handler that ran during the wait with SIGSYS
// blocked would be killed by its first trapped syscall). Calls that glibc makes internally (its
// own send in syslog, sleep's nanosleep, the futex of a contended mutex) still go through the
// trap; docs/runtime-syscalls.md lists what remains.
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <cstdint>

#include "runtime/interpose_syscall.h"
#include "runtime/syscall_trap.h"

using cove::runtime::CancellationPoint;
using cove::runtime::KernelHere;
using cove::runtime::LibcResult;

namespace {

// The kernel's signal mask size on x86-64 (glibc's sigset_t is larger).
constexpr long kKernelSigsetBytes = 8;

// `mask`, or a copy of it without SIGSYS while the trap is installed.
const sigset_t* MaskForWait(const sigset_t* mask, sigset_t* copy) {
  if (mask == nullptr || !cove::runtime::SyscallTrapInstalled()) return mask;
  *copy = *mask;
  sigdelset(copy, SIGSYS);
  return copy;
}

}  // namespace

// ---- sockets ----
COVE_EXPORT_IN_RANGE int socket(int domain, int type, int protocol) {
  return static_cast<int>(LibcResult(KernelHere(SYS_socket, domain, type, protocol)));
}
COVE_EXPORT_IN_RANGE int socketpair(int domain, int type, int protocol, int fds[2]) {
  return static_cast<int>(LibcResult(KernelHere(SYS_socketpair, domain, type, protocol, fds)));
}
COVE_EXPORT_IN_RANGE int bind(int fd, const struct sockaddr* addr, socklen_t len) {
  return static_cast<int>(LibcResult(KernelHere(SYS_bind, fd, addr, len)));
}
COVE_EXPORT_IN_RANGE int listen(int fd, int backlog) {
  return static_cast<int>(LibcResult(KernelHere(SYS_listen, fd, backlog)));
}
COVE_EXPORT_IN_RANGE int accept(int fd, struct sockaddr* addr, socklen_t* len) {
  return static_cast<int>(LibcResult(CancellationPoint(SYS_accept, fd, addr, len)));
}
COVE_EXPORT_IN_RANGE int accept4(int fd, struct sockaddr* addr, socklen_t* len, int flags) {
  return static_cast<int>(LibcResult(CancellationPoint(SYS_accept4, fd, addr, len, flags)));
}
COVE_EXPORT_IN_RANGE int connect(int fd, const struct sockaddr* addr, socklen_t len) {
  return static_cast<int>(LibcResult(CancellationPoint(SYS_connect, fd, addr, len)));
}
COVE_EXPORT_IN_RANGE int shutdown(int fd, int how) {
  return static_cast<int>(LibcResult(KernelHere(SYS_shutdown, fd, how)));
}
COVE_EXPORT_IN_RANGE int getsockname(int fd, struct sockaddr* addr, socklen_t* len) {
  return static_cast<int>(LibcResult(KernelHere(SYS_getsockname, fd, addr, len)));
}
COVE_EXPORT_IN_RANGE int getpeername(int fd, struct sockaddr* addr, socklen_t* len) {
  return static_cast<int>(LibcResult(KernelHere(SYS_getpeername, fd, addr, len)));
}
COVE_EXPORT_IN_RANGE int setsockopt(int fd, int level, int name, const void* value, socklen_t len) {
  return static_cast<int>(LibcResult(KernelHere(SYS_setsockopt, fd, level, name, value, len)));
}
COVE_EXPORT_IN_RANGE int getsockopt(int fd, int level, int name, void* value, socklen_t* len) {
  return static_cast<int>(LibcResult(KernelHere(SYS_getsockopt, fd, level, name, value, len)));
}

// send and recv are sendto and recvfrom without an address, as in glibc.
COVE_EXPORT_IN_RANGE ssize_t send(int fd, const void* buf, size_t len, int flags) {
  return LibcResult(CancellationPoint(SYS_sendto, fd, buf, len, flags, 0, 0));
}
COVE_EXPORT_IN_RANGE ssize_t recv(int fd, void* buf, size_t len, int flags) {
  return LibcResult(CancellationPoint(SYS_recvfrom, fd, buf, len, flags, 0, 0));
}
COVE_EXPORT_IN_RANGE ssize_t sendto(int fd, const void* buf, size_t len, int flags,
                                    const struct sockaddr* addr, socklen_t addr_len) {
  return LibcResult(CancellationPoint(SYS_sendto, fd, buf, len, flags, addr, addr_len));
}
COVE_EXPORT_IN_RANGE ssize_t recvfrom(int fd, void* buf, size_t len, int flags,
                                      struct sockaddr* addr, socklen_t* addr_len) {
  return LibcResult(CancellationPoint(SYS_recvfrom, fd, buf, len, flags, addr, addr_len));
}
COVE_EXPORT_IN_RANGE ssize_t sendmsg(int fd, const struct msghdr* msg, int flags) {
  return LibcResult(CancellationPoint(SYS_sendmsg, fd, msg, flags));
}
COVE_EXPORT_IN_RANGE ssize_t recvmsg(int fd, struct msghdr* msg, int flags) {
  return LibcResult(CancellationPoint(SYS_recvmsg, fd, msg, flags));
}
COVE_EXPORT_IN_RANGE int sendmmsg(int fd, struct mmsghdr* msgs, unsigned int count, int flags) {
  return static_cast<int>(LibcResult(CancellationPoint(SYS_sendmmsg, fd, msgs, count, flags)));
}
COVE_EXPORT_IN_RANGE int recvmmsg(int fd, struct mmsghdr* msgs, unsigned int count, int flags,
                                  struct timespec* timeout) {
  return static_cast<int>(
      LibcResult(CancellationPoint(SYS_recvmmsg, fd, msgs, count, flags, timeout)));
}

// ---- waiting for descriptors ----
COVE_EXPORT_IN_RANGE int poll(struct pollfd* fds, nfds_t count, int timeout_ms) {
  return static_cast<int>(LibcResult(CancellationPoint(SYS_poll, fds, count, timeout_ms)));
}
// The kernel writes the time left into the timeout; glibc's ppoll and pselect pass it a copy,
// since theirs is const.
COVE_EXPORT_IN_RANGE int ppoll(struct pollfd* fds, nfds_t count, const struct timespec* timeout,
                               const sigset_t* mask) {
  struct timespec timeout_copy {};
  if (timeout != nullptr) timeout_copy = *timeout;
  sigset_t mask_copy;
  return static_cast<int>(LibcResult(
      CancellationPoint(SYS_ppoll, fds, count, timeout != nullptr ? &timeout_copy : nullptr,
                        MaskForWait(mask, &mask_copy), kKernelSigsetBytes)));
}
// Linux's select, like glibc's, writes the time left into `timeout`.
COVE_EXPORT_IN_RANGE int select(int nfds, fd_set* readable, fd_set* writable, fd_set* exceptional,
                                struct timeval* timeout) {
  return static_cast<int>(
      LibcResult(CancellationPoint(SYS_select, nfds, readable, writable, exceptional, timeout)));
}
COVE_EXPORT_IN_RANGE int pselect(int nfds, fd_set* readable, fd_set* writable, fd_set* exceptional,
                                 const struct timespec* timeout, const sigset_t* mask) {
  struct timespec timeout_copy {};
  if (timeout != nullptr) timeout_copy = *timeout;
  sigset_t mask_copy;
  // pselect6's sixth argument: {const sigset_t* mask; size_t size}.
  const long mask_and_size[2] = {reinterpret_cast<long>(MaskForWait(mask, &mask_copy)),
                                 kKernelSigsetBytes};
  return static_cast<int>(
      LibcResult(CancellationPoint(SYS_pselect6, nfds, readable, writable, exceptional,
                                   timeout != nullptr ? &timeout_copy : nullptr, mask_and_size)));
}

// ---- epoll ----
COVE_EXPORT_IN_RANGE int epoll_create(int size) {
  return static_cast<int>(LibcResult(KernelHere(SYS_epoll_create, size)));
}
COVE_EXPORT_IN_RANGE int epoll_create1(int flags) {
  return static_cast<int>(LibcResult(KernelHere(SYS_epoll_create1, flags)));
}
COVE_EXPORT_IN_RANGE int epoll_ctl(int epfd, int op, int fd, struct epoll_event* event) {
  return static_cast<int>(LibcResult(KernelHere(SYS_epoll_ctl, epfd, op, fd, event)));
}
COVE_EXPORT_IN_RANGE int epoll_wait(int epfd, struct epoll_event* events, int max_events,
                                    int timeout_ms) {
  return static_cast<int>(
      LibcResult(CancellationPoint(SYS_epoll_wait, epfd, events, max_events, timeout_ms)));
}
COVE_EXPORT_IN_RANGE int epoll_pwait(int epfd, struct epoll_event* events, int max_events,
                                     int timeout_ms, const sigset_t* mask) {
  sigset_t mask_copy;
  return static_cast<int>(
      LibcResult(CancellationPoint(SYS_epoll_pwait, epfd, events, max_events, timeout_ms,
                                   MaskForWait(mask, &mask_copy), kKernelSigsetBytes)));
}
