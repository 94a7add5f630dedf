// ByteBuffer: a std::vector<uint8_t> whose resize() leaves new bytes uninitialized, for
// buffers that a read or a decryption is about to overwrite whole (value-initializing them is a
// memset per use: 12 KiB per small protected file opened).
#pragma once

#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

namespace cove {

// std::allocator, except that a value-initialization (construct(p) with no arguments) is a
// default-initialization: for uint8_t, nothing.
template <typename T>
class DefaultInitAllocator : public std::allocator<T> {
 public:
  template <typename U>
  struct rebind {  // NOLINT(readability-identifier-naming): the name the allocator protocol uses
    using other = DefaultInitAllocator<U>;
  };
  using std::allocator<T>::allocator;

  template <typename U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

using ByteBuffer = std::vector<uint8_t, DefaultInitAllocator<uint8_t>>;

}  // namespace cove
