// Bounds-checked little-endian reading and writing of binary formats (fspf, file headers,
// journals). Every read names the field, so a malformed input yields "fspf: truncated at <field>".
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace cove {

class ByteWriter {
 public:
  void U8(uint8_t v) { out_.push_back(v); }
  void U32(uint32_t v) { Le(v, 4); }
  void U64(uint64_t v) { Le(v, 8); }
  void Bytes(std::span<const uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }
  // A length-prefixed (u32) string.
  void String(std::string_view s) {
    U32(static_cast<uint32_t>(s.size()));
    out_.insert(out_.end(), s.begin(), s.end());
  }
  std::vector<uint8_t>& buffer() { return out_; }

 private:
  void Le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  std::vector<uint8_t> out_;
};

class ByteReader {
 public:
  ByteReader(std::span<const uint8_t> in, std::string context)
      : in_(in), context_(std::move(context)) {}

  Result<uint8_t> U8(std::string_view field) {
    COVE_RETURN_IF_ERROR(Need(1, field));
    return in_[pos_++];
  }
  Result<uint32_t> U32(std::string_view field) { return Le<uint32_t>(4, field); }
  Result<uint64_t> U64(std::string_view field) { return Le<uint64_t>(8, field); }
  // Copies exactly out.size() bytes.
  Status Bytes(std::span<uint8_t> out, std::string_view field) {
    COVE_RETURN_IF_ERROR(Need(out.size(), field));
    if (!out.empty()) std::memcpy(out.data(), in_.data() + pos_, out.size());
    pos_ += out.size();
    return Status::Ok();
  }
  // A length-prefixed string of at most max_size bytes.
  Result<std::string> String(std::string_view field, size_t max_size) {
    COVE_ASSIGN_OR_RETURN(std::string_view view, StringView(field, max_size));
    return std::string(view);
  }
  // The same, viewed in place: valid as long as the input.
  Result<std::string_view> StringView(std::string_view field, size_t max_size) {
    COVE_ASSIGN_OR_RETURN(uint32_t size, U32(field));
    if (size > max_size) {
      return Error(std::string(field) + " is " + std::to_string(size) + " bytes, limit " +
                   std::to_string(max_size));
    }
    COVE_RETURN_IF_ERROR(Need(size, field));
    std::string_view view(reinterpret_cast<const char*>(in_.data() + pos_), size);
    pos_ += size;
    return view;
  }
  // Steps over `n` bytes.
  Status Skip(size_t n, std::string_view field) {
    COVE_RETURN_IF_ERROR(Need(n, field));
    pos_ += n;
    return Status::Ok();
  }
  // A count of items of at least `item_size` bytes each: refuses counts the input cannot hold.
  Result<uint32_t> Count(std::string_view field, size_t item_size) {
    COVE_ASSIGN_OR_RETURN(uint32_t n, U32(field));
    if (item_size != 0 && n > remaining() / item_size) {
      return Error(std::string(field) + " = " + std::to_string(n) + " exceeds the remaining input");
    }
    return n;
  }
  size_t remaining() const { return in_.size() - pos_; }
  size_t position() const { return pos_; }
  Status ExpectEnd() {
    if (remaining() != 0) return Error(std::to_string(remaining()) + " trailing bytes");
    return Status::Ok();
  }
  Status Error(const std::string& what) const {
    return DataLoss(context_ + ": " + what + " (at byte " + std::to_string(pos_) + ")");
  }

 private:
  Status Need(size_t n, std::string_view field) const {
    if (remaining() < n) return Error("truncated at " + std::string(field));
    return Status::Ok();
  }
  template <typename T>
  Result<T> Le(int n, std::string_view field) {
    COVE_RETURN_IF_ERROR(Need(n, field));
    T v = 0;
    for (int i = 0; i < n; ++i) v |= static_cast<T>(in_[pos_ + i]) << (8 * i);
    pos_ += n;
    return v;
  }

  std::span<const uint8_t> in_;
  size_t pos_ = 0;
  std::string context_;
};

}  // namespace cove
