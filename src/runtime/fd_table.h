// FdTable: which kernel descriptors of the program are protected files, and their open-file
// descriptions. The check made on EVERY interposed call on an unprotected descriptor is one
// relaxed-cost atomic load from a fixed bitmap (no lock, no allocation, no syscall); only
// protected descriptors take the table lock to copy their description's shared_ptr.
// Descriptors at or above kMaxFds are never protected (open refuses them with EMFILE).
//
// Start-up cost: the table is built in every program's constructor, so it is small until used:
// the bitmap is 8 KiB, and the description slots come in chunks of kChunk descriptors that are
// allocated on first install (a table of 65,536 shared_ptrs zeroed at start cost ~270 page
// faults, about a tenth of a millisecond, in every process).
#pragma once

#include <atomic>
#include <cstdint>
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
    return static_cast<unsigned>(fd) < static_cast<unsigned>(kMaxFds) &&
           ((marks_[fd >> 6].load(std::memory_order_acquire) >> (fd & 63)) & 1) != 0;
  }

  // True while any descriptor is protected: lets a call that names many descriptors (poll,
  // select) skip looking at each one. Safe in signal handlers.
  bool AnyProtected() const { return marked_.load(std::memory_order_acquire) != 0; }

  // The protected marks of descriptors 64*index .. 64*index+63, bit i for descriptor
  // 64*index+i (the layout of fd_set's words on x86-64). 0 beyond the table.
  uint64_t ProtectedWord(int index) const {
    return static_cast<unsigned>(index) < static_cast<unsigned>(kMaxFds / 64)
               ? marks_[index].load(std::memory_order_acquire)
               : 0;
  }

  // The description of protected `fd`, or nullptr.
  std::shared_ptr<Description> Get(int fd) const {
    if (!IsProtected(fd)) return nullptr;
    std::lock_guard lock(mutex_);
    const Chunk* chunk = chunks_[fd / kChunk].get();
    return chunk != nullptr ? chunk->slots[fd % kChunk] : nullptr;
  }

  // Makes `fd` refer to `description`; returns the description it replaces (nullptr if none),
  // or fails (false in *ok) when fd is outside the table or memory runs out.
  std::shared_ptr<Description> Install(int fd, std::shared_ptr<Description> description, bool* ok) {
    *ok = static_cast<unsigned>(fd) < static_cast<unsigned>(kMaxFds);
    if (!*ok) return nullptr;
    std::lock_guard lock(mutex_);
    std::unique_ptr<Chunk>& chunk = chunks_[fd / kChunk];
    if (chunk == nullptr) {
      if (description == nullptr) return nullptr;
      chunk.reset(new (std::nothrow) Chunk());
      if (chunk == nullptr) {
        *ok = false;
        return nullptr;
      }
    }
    std::shared_ptr<Description>& slot = chunk->slots[fd % kChunk];
    std::shared_ptr<Description> previous = std::move(slot);
    slot = std::move(description);
    SetMarkLocked(fd, slot != nullptr);
    return previous;
  }

  // Forgets `fd`; returns its description (nullptr if it was not protected).
  std::shared_ptr<Description> Remove(int fd) {
    if (!IsProtected(fd)) return nullptr;
    std::lock_guard lock(mutex_);
    SetMarkLocked(fd, false);
    std::unique_ptr<Chunk>& chunk = chunks_[fd / kChunk];
    return chunk != nullptr ? std::move(chunk->slots[fd % kChunk]) : nullptr;
  }

  // The protected descriptors and their descriptions (a snapshot).
  std::vector<std::pair<int, std::shared_ptr<Description>>> Snapshot() const {
    std::vector<std::pair<int, std::shared_ptr<Description>>> out;
    std::lock_guard lock(mutex_);
    for (int c = 0; c < kMaxFds / kChunk; ++c) {
      if (chunks_[c] == nullptr) continue;
      for (int i = 0; i < kChunk; ++i) {
        if (chunks_[c]->slots[i]) out.emplace_back(c * kChunk + i, chunks_[c]->slots[i]);
      }
    }
    return out;
  }

 private:
  static constexpr int kChunk = 1024;
  struct Chunk {
    std::shared_ptr<Description> slots[kChunk];
  };

  // Writers hold mutex_, so a load-modify-store of the word cannot lose another writer's bit;
  // readers see the word before or after.
  void SetMarkLocked(int fd, bool protected_fd) {
    std::atomic<uint64_t>& word = marks_[fd >> 6];
    uint64_t bit = uint64_t{1} << (fd & 63);
    uint64_t value = word.load(std::memory_order_relaxed);
    if (((value & bit) != 0) == protected_fd) return;
    word.store(protected_fd ? (value | bit) : (value & ~bit), std::memory_order_release);
    marked_.fetch_add(protected_fd ? 1 : -1, std::memory_order_release);
  }

  std::atomic<uint64_t> marks_[kMaxFds / 64] = {};
  std::atomic<int> marked_{0};  // bits set in marks_
  std::unique_ptr<Chunk> chunks_[kMaxFds / kChunk];
  mutable std::mutex mutex_;
};

}  // namespace cove::runtime
