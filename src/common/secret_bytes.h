// SecretBytes: an owned buffer for key material (and decrypted file content) that is zeroized
// (explicit_bzero: glibc's vectorized memset, never optimized away) whenever it is released,
// resized or moved from. Keys never live in a std::string or std::vector<uint8_t>.
#pragma once

#include <openssl/crypto.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <span>

namespace cove {

class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(size_t size) : data_(new uint8_t[size]()), size_(size) {}
  // `size` bytes left uninitialized, for a buffer the caller fills whole at once.
  static SecretBytes ForOverwrite(size_t size) {
    SecretBytes bytes;
    bytes.data_ = std::make_unique_for_overwrite<uint8_t[]>(size);
    bytes.size_ = size;
    return bytes;
  }
  // The same, or an empty buffer when memory is short (a limit such as SCONE_HEAP's), for a
  // buffer the caller can do without.
  static SecretBytes TryForOverwrite(size_t size) {
    SecretBytes bytes;
    bytes.data_.reset(new (std::nothrow) uint8_t[size]);
    if (bytes.data_) bytes.size_ = size;
    return bytes;
  }
  SecretBytes(const uint8_t* bytes, size_t size) : SecretBytes(size) {
    if (size != 0) std::memcpy(data_.get(), bytes, size);
  }
  ~SecretBytes() { Wipe(); }

  SecretBytes(const SecretBytes& other) : SecretBytes(other.data(), other.size()) {}
  SecretBytes& operator=(const SecretBytes& other) {
    if (this != &other) {
      SecretBytes copy(other);
      *this = std::move(copy);
    }
    return *this;
  }
  SecretBytes(SecretBytes&& other) noexcept : data_(std::move(other.data_)), size_(other.size_) {
    other.size_ = 0;
  }
  SecretBytes& operator=(SecretBytes&& other) noexcept {
    if (this != &other) {
      Wipe();
      data_ = std::move(other.data_);
      size_ = other.size_;
      other.size_ = 0;
    }
    return *this;
  }

  uint8_t* data() { return data_.get(); }
  const uint8_t* data() const { return data_.get(); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::span<const uint8_t> span() const { return {data_.get(), size_}; }
  std::span<uint8_t> mutable_span() { return {data_.get(), size_}; }

  // Constant-time comparison, so that key checks do not leak through timing.
  bool Equals(std::span<const uint8_t> other) const {
    return other.size() == size_ &&
           (size_ == 0 || CRYPTO_memcmp(data_.get(), other.data(), size_) == 0);
  }

 private:
  void Wipe() {
    if (data_ && size_ != 0) explicit_bzero(data_.get(), size_);
    data_.reset();
    size_ = 0;
  }

  std::unique_ptr<uint8_t[]> data_;
  size_t size_ = 0;
};

}  // namespace cove
