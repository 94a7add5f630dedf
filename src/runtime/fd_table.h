// FdTable: which kernel descriptors of the program are protected files, and their open-file
// descriptions. A fixed-size array so that the check made on EVERY interposed call on an
// unprotected descriptor is one relaxed atomic load (no lock, no allocation, no syscall);
// only protected descriptors take the table lock to copy their description's shared_ptr.
// Descriptors at or above kMaxFds are never protected (open refuses them with EMFILE).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

namespace cove::runtime {

template <typename Description>
class FdTable {
 public:
  static constexpr int kMaxFds = 1 << 16;

  // True when `fd` is a protected descriptor: the fast path, safe in signal handlers.
  bool IsProtected(int fd) const {
    return fd >= 0 && fd < kMaxFds && marks_[fd].load(std::memory_order_acquire);
  }

  // The description of protected `fd`, or nullptr.
  std::shared_ptr<Description> Get(int fd) const {
    if (!IsProtected(fd)) return nullptr;
    std::lock_guard lock(mutex_);
    return slots_[fd];
  }

  // Makes `fd` refer to `description`; returns the description it replaces (nullptr if none),
  // or fails (false in *ok) when fd is outside the table.
  std::shared_ptr<Description> Install(int fd, std::shared_ptr<Description> description, bool* ok) {
    *ok = fd >= 0 && fd < kMaxFds;
    if (!*ok) return nullptr;
    std::lock_guard lock(mutex_);
    std::shared_ptr<Description> previous = std::move(slots_[fd]);
    slots_[fd] = std::move(description);
    marks_[fd].store(slots_[fd] != nullptr, std::memory_order_release);
    return previous;
  }

  // Forgets `fd`; returns its description (nullptr if it was not protected).
  std::shared_ptr<Description> Remove(int fd) {
    if (!IsProtected(fd)) return nullptr;
    std::lock_guard lock(mutex_);
    marks_[fd].store(false, std::memory_order_release);
    return std::move(slots_[fd]);
  }

  // The protected descriptors and their descriptions (a snapshot).
  std::vector<std::pair<int, std::shared_ptr<Description>>> Snapshot() const {
    std::vector<std::pair<int, std::shared_ptr<Description>>> out;
    std::lock_guard lock(mutex_);
    for (int fd = 0; fd < kMaxFds; ++fd) {
      if (slots_[fd]) out.emplace_back(fd, slots_[fd]);
    }
    return out;
  }

 private:
  std::atomic<bool> marks_[kMaxFds] = {};
  std::shared_ptr<Description> slots_[kMaxFds];
  mutable std::mutex mutex_;
};

}  // namespace cove::runtime
