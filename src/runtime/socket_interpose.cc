// Pass-through versions of the libc calls that servers and event loops make on every request
// or loop turn: sockets, poll/select and epoll. They are interposed only so that their syscall
// is issued from the syscall trap's allowed range. glibc's own versions issue it from libc's
// code, where the trap caught every one of them: a SIGSYS round trip of 1-2 us added to a call
// of 0.1-1 us (a socket ping-pong in Python took 4x as long under `cove run`).
//
// The socket calls never concern a file the shield serves: to the kernel a protected descriptor
// is an O_PATH placeholder, on which they fail (EBADF, ENOTSOCK). poll, select and epoll_ctl
// answer for protected descriptors as for the regular files they are to the program (below),
// which the kernel would not (POLLNVAL, EBADF). Where glibc's version is a cancellation
// point, so is this one. Where it takes a signal mask for the wait, the trap's signals are taken
// out of it, as the trap does for the same syscalls (a signal handler that ran during the wait with
// them blocked would be killed by its first trapped syscall). Calls that glibc makes internally
// (its own send in syslog, sleep's nanosleep, the futex of a contended mutex) still go through the
// trap; docs/runtime-syscalls.md lists what remains.
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <climits>
#include <cstdint>

#include "runtime/interpose_syscall.h"
#include "runtime/shielded_files.h"
#include "runtime/syscall_trap.h"

using cove::runtime::CancellationPoint;
using cove::runtime::CancellationPointAnywhere;
using cove::runtime::KernelHere;
using cove::runtime::LibcResult;
using cove::runtime::ShieldedFiles;

namespace {

// The kernel's signal mask size on x86-64 (glibc's sigset_t is larger).
constexpr long kKernelSigsetBytes = 8;

// `mask`, or a copy of it without the trap's signals while the trap is installed.
const sigset_t* MaskForWait(const sigset_t* mask, sigset_t* copy) {
  if (mask == nullptr || !cove::runtime::SyscallTrapInstalled()) return mask;
  *copy = *mask;
  cove::runtime::RemoveTrapSignals(copy);
  return copy;
}

// ---- protected descriptors in poll, select and epoll ----
// To the program a protected descriptor is a regular file, which poll and select report ready
// to read and write at once and never exceptional, and which epoll refuses (EPERM). To the
// kernel it is an O_PATH placeholder (poll: POLLNVAL; select and epoll_ctl: EBADF). A wait that
// names one has the kernel wait for the others only, without waiting at all when a protected
// one is ready, and adds the protected ones to the result.

// The shield while any protected descriptor is open (else nothing to look for: one load).
inline ShieldedFiles* FilesIfAnyProtected() {
  ShieldedFiles* files = ShieldedFiles::Instance();
  return files != nullptr && files->AnyProtectedFd() ? files : nullptr;
}

// What poll reports for a regular file (the kernel's DEFAULT_POLLMASK).
constexpr short kRegularFileReady = POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM;
// A protected entry is hidden from the kernel as fd | INT_MIN: poll ignores negative
// descriptors (revents 0), and the values programs use to disable an entry (-1) stay theirs.
constexpr int kHiddenFdBit = INT_MIN;

// Calls wait(no_wait) (the kernel's poll or ppoll on `fds`) with the protected entries hidden,
// then restores them with a regular file's readiness and counts them in the result.
template <typename Wait>
[[gnu::noinline]] long PollAroundProtected(ShieldedFiles* files, struct pollfd* fds, nfds_t count,
                                           Wait wait) {
  bool hidden = false;
  bool ready = false;
  for (nfds_t i = 0; i < count; ++i) {
    if (!files->IsProtectedFd(fds[i].fd)) continue;
    hidden = true;
    ready = ready || (fds[i].events & kRegularFileReady) != 0;
    fds[i].fd |= kHiddenFdBit;
  }
  if (!hidden) return wait(false);
  long result = wait(ready);
  for (nfds_t i = 0; i < count; ++i) {
    int fd = fds[i].fd;
    if (fd >= 0 || fd - kHiddenFdBit >= ShieldedFiles::kMaxProtectedFds) continue;
    fds[i].fd = fd & ~kHiddenFdBit;
    fds[i].revents = static_cast<short>(fds[i].events & kRegularFileReady);
    if (result >= 0 && fds[i].revents != 0) ++result;
  }
  return result;
}

constexpr int kFdSetWords = FD_SETSIZE / 64;
inline uint64_t* Words(fd_set* set) {
  return reinterpret_cast<uint64_t*>(set->fds_bits);
}

// select's counterpart: protected descriptors are taken out of the three sets, those asked for
// reading or writing are ready, and they are put back after wait(no_wait).
template <typename Wait>
[[gnu::noinline]] long SelectAroundProtected(ShieldedFiles* files, int nfds, fd_set* readable,
                                             fd_set* writable, fd_set* exceptional, Wait wait) {
  if (nfds <= 0 || nfds > FD_SETSIZE) return wait(false);
  fd_set* sets[3] = {readable, writable, exceptional};
  uint64_t ready[2][kFdSetWords] = {};
  bool hidden = false;
  bool any_ready = false;
  int words = (nfds + 63) / 64;
  for (int w = 0; w < words; ++w) {
    uint64_t in_range = w < nfds / 64 ? ~uint64_t{0} : (uint64_t{1} << (nfds % 64)) - 1;
    uint64_t marks = files->ProtectedFdWord(w) & in_range;
    if (marks == 0) continue;
    for (int s = 0; s < 3; ++s) {
      if (sets[s] == nullptr) continue;
      uint64_t protected_bits = Words(sets[s])[w] & marks;
      if (protected_bits == 0) continue;
      hidden = true;
      Words(sets[s])[w] &= ~protected_bits;
      if (s < 2) {
        ready[s][w] = protected_bits;
        any_ready = true;
      }
    }
  }
  if (!hidden) return wait(false);
  long result = wait(any_ready);
  if (result < 0) return result;
  for (int s = 0; s < 2; ++s) {
    if (sets[s] == nullptr) continue;
    for (int w = 0; w < words; ++w) {
      Words(sets[s])[w] |= ready[s][w];
      result += __builtin_popcountll(ready[s][w]);
    }
  }
  return result;
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
// (The lambdas serve only the rare calls that name a protected descriptor; they lie outside the
// trap's allowed range, hence CancellationPointAnywhere.)
COVE_EXPORT_IN_RANGE int poll(struct pollfd* fds, nfds_t count, int timeout_ms) {
  if (ShieldedFiles* files = FilesIfAnyProtected(); files != nullptr) [[unlikely]] {
    return static_cast<int>(LibcResult(PollAroundProtected(files, fds, count, [=](bool no_wait) {
      return CancellationPointAnywhere(SYS_poll, fds, count, no_wait ? 0 : timeout_ms);
    })));
  }
  return static_cast<int>(LibcResult(CancellationPoint(SYS_poll, fds, count, timeout_ms)));
}
// The kernel writes the time left into the timeout; glibc's ppoll and pselect pass it a copy,
// since theirs is const.
COVE_EXPORT_IN_RANGE int ppoll(struct pollfd* fds, nfds_t count, const struct timespec* timeout,
                               const sigset_t* mask) {
  struct timespec timeout_copy {};
  if (timeout != nullptr) timeout_copy = *timeout;
  sigset_t mask_copy;
  const sigset_t* wait_mask = MaskForWait(mask, &mask_copy);
  if (ShieldedFiles* files = FilesIfAnyProtected(); files != nullptr) [[unlikely]] {
    return static_cast<int>(LibcResult(PollAroundProtected(files, fds, count, [&](bool no_wait) {
      if (no_wait) timeout_copy = {};
      return CancellationPointAnywhere(SYS_ppoll, fds, count,
                                       timeout != nullptr || no_wait ? &timeout_copy : nullptr,
                                       wait_mask, kKernelSigsetBytes);
    })));
  }
  return static_cast<int>(LibcResult(CancellationPoint(SYS_ppoll, fds, count,
                                                       timeout != nullptr ? &timeout_copy : nullptr,
                                                       wait_mask, kKernelSigsetBytes)));
}
// Linux's select, like glibc's, writes the time left into `timeout` (left as it was when a
// protected descriptor answers at once).
COVE_EXPORT_IN_RANGE int select(int nfds, fd_set* readable, fd_set* writable, fd_set* exceptional,
                                struct timeval* timeout) {
  if (ShieldedFiles* files = FilesIfAnyProtected(); files != nullptr) [[unlikely]] {
    return static_cast<int>(LibcResult(
        SelectAroundProtected(files, nfds, readable, writable, exceptional, [=](bool no_wait) {
          struct timeval zero {};
          return CancellationPointAnywhere(SYS_select, nfds, readable, writable, exceptional,
                                           no_wait ? &zero : timeout);
        })));
  }
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
  if (ShieldedFiles* files = FilesIfAnyProtected(); files != nullptr) [[unlikely]] {
    return static_cast<int>(LibcResult(
        SelectAroundProtected(files, nfds, readable, writable, exceptional, [&](bool no_wait) {
          if (no_wait) timeout_copy = {};
          return CancellationPointAnywhere(SYS_pselect6, nfds, readable, writable, exceptional,
                                           timeout != nullptr || no_wait ? &timeout_copy : nullptr,
                                           mask_and_size);
        })));
  }
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
  if (ShieldedFiles* files = FilesIfAnyProtected(); files != nullptr && files->IsProtectedFd(fd))
      [[unlikely]] {
    return static_cast<int>(LibcResult(-EPERM));  // a regular file: epoll cannot watch it
  }
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
