// UniqueFd: owns a file descriptor and closes it exactly once, through CloseFd, which is not
// libc's close: the runtime interposes that, and provides its own CloseFd that issues the
// syscall through its trampoline (so that the syscall trap does not catch its own closes).
#pragma once

#include <utility>

namespace cove {

// Closes `fd` with a system call. common/unique_fd.cc defines it (weak) with libc's syscall();
// libcove-runtime.so overrides it.
void CloseFd(int fd);

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release() { return std::exchange(fd_, -1); }
  void Reset(int fd = -1) {
    if (fd_ >= 0) CloseFd(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace cove
