/* socket_calls: drives every socket, poll/select and epoll call the runtime interposes as a
 * pass-through (src/runtime/socket_interpose.cc) and checks each result, natively and under
 * `cove run` alike (socket_test.sh):
 *  - a TCP connection on loopback (socket, setsockopt, bind, listen, getsockname, connect,
 *    accept4 and accept, getpeername, getsockopt, shutdown) carrying send/recv, sendto/recvfrom
 *    and sendmsg/recvmsg; sendmmsg/recvmmsg on a datagram socketpair;
 *  - readiness through poll, ppoll, select, pselect, epoll_wait and epoll_pwait, and their
 *    timeouts (ppoll and pselect leave the caller's timeout as it was, select writes the time
 *    left);
 *  - ppoll, pselect and epoll_pwait with a wait mask that blocks every signal but SIGALRM, whose
 *    handler makes a raw syscall: under the runtime that syscall is trapped, which kills a
 *    process whose SIGSYS is blocked, so the runtime must take SIGSYS out of the wait mask;
 *  - ROUNDS round trips of send, poll and recv, and of write, epoll_wait and read: under the
 *    runtime none of them may go through the syscall trap (socket_test.sh reads the count);
 *  - with FILE (a protected file under the runtime), a regular file among the descriptors of
 *    poll, ppoll, select and pselect: ready to read and write at once, never exceptional, next
 *    to a disabled entry (-1) and a socket with nothing to read; epoll_ctl refuses it (EPERM).
 * Prints "ok" and exits 0, or names the first failed check and exits 1.
 *   socket_calls [ROUNDS [FILE]] */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "socket_calls: line %d: %s failed (errno %d: %s)\n", __LINE__, #cond, errno, \
              strerror(errno));                                                                    \
      exit(1);                                                                                     \
    }                                                                                              \
  } while (0)

static volatile sig_atomic_t g_alarms;
static volatile long g_ppid_in_handler;

/* A raw syscall in a signal handler: trapped under the runtime. */
static void on_alarm(int sig) {
  (void)sig;
  g_ppid_in_handler = syscall(SYS_getppid);
  g_alarms++;
}

/* Arms a one-shot SIGALRM in 20 ms. */
static void alarm_soon(void) {
  struct itimerval it = {{0, 0}, {0, 20000}};
  CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
}

static void tcp_connection(int* client, int* server) {
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHECK(listener >= 0);
  int one = 1;
  CHECK(setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(bind(listener, (struct sockaddr*)&addr, sizeof addr) == 0);
  CHECK(listen(listener, 4) == 0);
  socklen_t len = sizeof addr;
  CHECK(getsockname(listener, (struct sockaddr*)&addr, &len) == 0 && addr.sin_port != 0);

  *client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHECK(*client >= 0);
  CHECK(connect(*client, (struct sockaddr*)&addr, sizeof addr) == 0);
  struct sockaddr_in peer;
  len = sizeof peer;
  *server = accept4(listener, (struct sockaddr*)&peer, &len, SOCK_CLOEXEC);
  CHECK(*server >= 0 && len == sizeof peer && peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK));

  /* A second connection through plain accept. */
  int other = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(other >= 0 && connect(other, (struct sockaddr*)&addr, sizeof addr) == 0);
  int accepted = accept(listener, NULL, NULL);
  CHECK(accepted >= 0);
  struct sockaddr_in seen;
  len = sizeof seen;
  CHECK(getpeername(accepted, (struct sockaddr*)&seen, &len) == 0);
  CHECK(getsockname(other, (struct sockaddr*)&peer, &len) == 0 && peer.sin_port == seen.sin_port);
  CHECK(shutdown(other, SHUT_WR) == 0);
  char byte;
  CHECK(recv(accepted, &byte, 1, 0) == 0); /* end of stream after the peer's shutdown */
  close(other);
  close(accepted);
  close(listener);

  int type = 0;
  len = sizeof type;
  CHECK(getsockopt(*server, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM);
  CHECK(setsockopt(*client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0);
  /* Errors keep libc's convention. */
  errno = 0;
  CHECK(send(-1, "x", 1, 0) == -1 && errno == EBADF);
  CHECK(getsockopt(*server, SOL_SOCKET, 0x7fff, &type, &len) == -1 && errno == ENOPROTOOPT);
}

static void message_calls(int client, int server) {
  char buf[64];
  CHECK(send(client, "hello", 5, 0) == 5);
  CHECK(recv(server, buf, sizeof buf, 0) == 5 && memcmp(buf, "hello", 5) == 0);
  CHECK(sendto(server, "back", 4, 0, NULL, 0) == 4);
  CHECK(recvfrom(client, buf, sizeof buf, 0, NULL, NULL) == 4 && memcmp(buf, "back", 4) == 0);
  struct iovec out[2] = {{"ab", 2}, {"cde", 3}};
  struct msghdr msg = {.msg_iov = out, .msg_iovlen = 2};
  CHECK(sendmsg(client, &msg, 0) == 5);
  char part1[3], part2[8];
  struct iovec in[2] = {{part1, sizeof part1}, {part2, sizeof part2}};
  struct msghdr got = {.msg_iov = in, .msg_iovlen = 2};
  CHECK(recvmsg(server, &got, 0) == 5);
  CHECK(memcmp(part1, "abc", 3) == 0 && memcmp(part2, "de", 2) == 0);
  errno = 0;
  CHECK(recv(server, buf, sizeof buf, MSG_DONTWAIT) == -1 && errno == EAGAIN);

  int pair[2];
  CHECK(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair) == 0);
  struct iovec d1 = {"one", 3}, d2 = {"three", 5};
  struct mmsghdr sent[2] = {{.msg_hdr = {.msg_iov = &d1, .msg_iovlen = 1}},
                            {.msg_hdr = {.msg_iov = &d2, .msg_iovlen = 1}}};
  CHECK(sendmmsg(pair[0], sent, 2, 0) == 2 && sent[0].msg_len == 3 && sent[1].msg_len == 5);
  char r1[8], r2[8];
  struct iovec i1 = {r1, sizeof r1}, i2 = {r2, sizeof r2};
  struct mmsghdr recvd[2] = {{.msg_hdr = {.msg_iov = &i1, .msg_iovlen = 1}},
                             {.msg_hdr = {.msg_iov = &i2, .msg_iovlen = 1}}};
  struct timespec timeout = {1, 0};
  CHECK(recvmmsg(pair[1], recvd, 2, MSG_WAITFORONE, &timeout) == 2);
  CHECK(recvd[0].msg_len == 3 && memcmp(r1, "one", 3) == 0);
  CHECK(recvd[1].msg_len == 5 && memcmp(r2, "three", 5) == 0);
  close(pair[0]);
  close(pair[1]);
}

static void readiness_calls(int client, int server) {
  char buf[16];
  /* Nothing to read yet: every wait times out. */
  struct pollfd pfd = {.fd = server, .events = POLLIN};
  CHECK(poll(&pfd, 1, 0) == 0);
  struct timespec ts = {0, 1000000};
  CHECK(ppoll(&pfd, 1, &ts, NULL) == 0 && ts.tv_sec == 0 && ts.tv_nsec == 1000000);
  fd_set readable;
  FD_ZERO(&readable);
  FD_SET(server, &readable);
  struct timeval tv = {0, 1000};
  CHECK(select(server + 1, &readable, NULL, NULL, &tv) == 0 && tv.tv_usec == 0);
  FD_SET(server, &readable);
  CHECK(pselect(server + 1, &readable, NULL, NULL, &ts, NULL) == 0 && ts.tv_nsec == 1000000);

  CHECK(send(client, "r", 1, 0) == 1);
  CHECK(poll(&pfd, 1, 1000) == 1 && (pfd.revents & POLLIN));
  CHECK(ppoll(&pfd, 1, &ts, NULL) == 1 && (pfd.revents & POLLIN));
  FD_SET(server, &readable);
  tv.tv_sec = 1;
  CHECK(select(server + 1, &readable, NULL, NULL, &tv) == 1 && FD_ISSET(server, &readable));
  FD_SET(server, &readable);
  CHECK(pselect(server + 1, &readable, NULL, NULL, NULL, NULL) == 1);

  int ep = epoll_create1(EPOLL_CLOEXEC);
  CHECK(ep >= 0);
  int old_ep = epoll_create(1);
  CHECK(old_ep >= 0);
  close(old_ep);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = server};
  CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, server, &ev) == 0);
  errno = 0;
  CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, server, &ev) == -1 && errno == EEXIST);
  struct epoll_event ready[4];
  CHECK(epoll_wait(ep, ready, 4, 1000) == 1 && ready[0].data.fd == server);
  CHECK(epoll_pwait(ep, ready, 4, 0, NULL) == 1);
  CHECK(recv(server, buf, sizeof buf, 0) == 1);
  CHECK(epoll_wait(ep, ready, 4, 0) == 0);

  /* Waits whose mask blocks SIGSYS (every signal but SIGALRM): the SIGALRM handler's raw
   * syscall must work, and each wait ends with EINTR. */
  struct sigaction sa = {.sa_handler = on_alarm};
  sigemptyset(&sa.sa_mask);
  CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
  sigset_t all_but_alarm;
  sigfillset(&all_but_alarm);
  sigdelset(&all_but_alarm, SIGALRM);
  struct timespec long_wait = {5, 0};
  alarm_soon();
  errno = 0;
  CHECK(ppoll(&pfd, 1, &long_wait, &all_but_alarm) == -1 && errno == EINTR);
  CHECK(long_wait.tv_sec == 5); /* the caller's timeout is left as it was */
  alarm_soon();
  FD_SET(server, &readable);
  errno = 0;
  CHECK(pselect(server + 1, &readable, NULL, NULL, &long_wait, &all_but_alarm) == -1 &&
        errno == EINTR);
  alarm_soon();
  errno = 0;
  CHECK(epoll_pwait(ep, ready, 4, 5000, &all_but_alarm) == -1 && errno == EINTR);
  CHECK(g_alarms == 3 && g_ppid_in_handler == getppid());
  close(ep);
}

/* The hot loops of a server: none of these calls may trap under the runtime. */
static void round_trips(int client, int server, long rounds) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  CHECK(ep >= 0);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = server};
  CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, server, &ev) == 0);
  char buf[64];
  memset(buf, 'p', sizeof buf);
  struct pollfd pfd = {.fd = server, .events = POLLIN};
  for (long i = 0; i < rounds; i++) {
    CHECK(send(client, buf, sizeof buf, 0) == (ssize_t)sizeof buf);
    CHECK(poll(&pfd, 1, 1000) == 1);
    CHECK(recv(server, buf, sizeof buf, MSG_WAITALL) == (ssize_t)sizeof buf);
    CHECK(write(client, buf, sizeof buf) == (ssize_t)sizeof buf);
    struct epoll_event ready;
    CHECK(epoll_wait(ep, &ready, 1, 1000) == 1);
    CHECK(read(server, buf, sizeof buf) == (ssize_t)sizeof buf);
  }
  close(ep);
}

/* A regular file is always ready for reading and writing, and epoll cannot watch it. */
static void regular_file_readiness(const char* path, int quiet_socket) {
  int file = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  CHECK(file >= 0);
  CHECK(write(file, "data", 4) == 4);
  struct pollfd fds[3] = {{.fd = quiet_socket, .events = POLLIN},
                          {.fd = -1, .events = POLLIN},
                          {.fd = file, .events = POLLIN | POLLOUT}};
  CHECK(poll(fds, 3, 5000) == 1);
  CHECK(fds[0].revents == 0 && fds[1].fd == -1 && fds[1].revents == 0);
  CHECK(fds[2].fd == file && fds[2].revents == (POLLIN | POLLOUT));
  fds[2].events = POLLOUT;
  struct timespec five = {5, 0};
  CHECK(ppoll(fds, 3, &five, NULL) == 1 && fds[2].revents == POLLOUT && five.tv_sec == 5);
  fds[2].events = 0; /* asks for nothing: not ready, the socket decides (times out) */
  CHECK(poll(fds, 3, 10) == 0 && fds[2].revents == 0 && fds[2].fd == file);

  int nfds = (file > quiet_socket ? file : quiet_socket) + 1;
  fd_set readable, writable, exceptional;
  FD_ZERO(&readable);
  FD_ZERO(&writable);
  FD_ZERO(&exceptional);
  FD_SET(file, &readable);
  FD_SET(quiet_socket, &readable);
  FD_SET(file, &writable);
  FD_SET(file, &exceptional);
  struct timeval tv = {5, 0};
  CHECK(select(nfds, &readable, &writable, &exceptional, &tv) == 2);
  CHECK(FD_ISSET(file, &readable) && !FD_ISSET(quiet_socket, &readable));
  CHECK(FD_ISSET(file, &writable) && !FD_ISSET(file, &exceptional));
  FD_ZERO(&writable);
  FD_SET(file, &readable);
  FD_SET(quiet_socket, &writable); /* a connected socket can be written: both count */
  CHECK(pselect(nfds, &readable, &writable, NULL, &five, NULL) == 2);
  CHECK(FD_ISSET(file, &readable) && FD_ISSET(quiet_socket, &writable) && five.tv_sec == 5);

  int ep = epoll_create1(EPOLL_CLOEXEC);
  CHECK(ep >= 0);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = file};
  errno = 0;
  CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, file, &ev) == -1 && errno == EPERM);
  close(ep);
  close(file);
}

int main(int argc, char** argv) {
  long rounds = argc > 1 ? atol(argv[1]) : 2000;
  int client, server;
  tcp_connection(&client, &server);
  message_calls(client, server);
  readiness_calls(client, server);
  round_trips(client, server, rounds);
  if (argc > 2) regular_file_readiness(argv[2], server);
  close(client);
  close(server);
  puts("ok");
  return 0;
}
