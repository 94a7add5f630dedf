// UniqueFd: owns a file descriptor and closes it exactly once. The close is a raw syscall so that
// the runtime, which interposes libc's close, can use this type without re-entering itself.
#pragma once

#include <sys/syscall.h>
#include <unistd.h>

#include <utility>

namespace cove {

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
    if (fd_ >= 0) ::syscall(SYS_close, fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace cove
