// UniqueFd: owns a file descriptor and closes it exactly once, through CloseFd, which is not
// libc's close: the runtime interposes that, and provides its own CloseFd that issues the
// syscall through its trampoline (so that the syscall trap does not catch its own closes).
#pragma once

#include <memory>
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

// One descriptor held by several owners, closed (once) when the last lets go. The runtime's
// lock on a protected host file and the file's reads and writes use one descriptor this way:
// a dup per open would cost two more system calls and a third descriptor per open file.
class SharedFd {
 public:
  SharedFd() = default;
  SharedFd(UniqueFd fd)  // NOLINT(google-explicit-constructor): a UniqueFd is given away here
      : owner_(fd.valid() ? std::make_shared<const UniqueFd>(std::move(fd)) : nullptr) {}

  int get() const { return owner_ ? owner_->get() : -1; }
  bool valid() const { return owner_ != nullptr; }
  // Lets go of this owner's share (closing the descriptor if it was the last), then owns `fd`.
  void Reset(int fd = -1) { *this = SharedFd(UniqueFd(fd)); }

 private:
  std::shared_ptr<const UniqueFd> owner_;
};

}  // namespace cove
