// Hex encoding/decoding.
#include "common/hex.h"

#include <cctype>

namespace cove {
namespace {

int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  return text;
}

// Decodes into `out` (which has room for text.size()/2 bytes).
Status DecodeInto(std::string_view text, std::string_view what, uint8_t* out) {
  for (size_t i = 0; i < text.size(); i += 2) {
    int hi = HexDigitValue(text[i]);
    int lo = HexDigitValue(text[i + 1]);
    if (hi < 0 || lo < 0) {
      return InvalidArgument(std::string(what) + ": not hexadecimal (character " +
                             std::to_string(hi < 0 ? i + 1 : i + 2) + ")");
    }
    out[i / 2] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return Status::Ok();
}

}  // namespace

std::string HexEncode(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0xf];
  }
  return out;
}

Result<std::vector<uint8_t>> HexDecode(std::string_view text, std::string_view what) {
  text = Trim(text);
  if (text.size() % 2 != 0)
    return InvalidArgument(std::string(what) + ": odd number of hex digits");
  std::vector<uint8_t> out(text.size() / 2);
  COVE_RETURN_IF_ERROR(DecodeInto(text, what, out.data()));
  return out;
}

Result<SecretBytes> HexDecodeSecret(std::string_view text, size_t size, std::string_view what) {
  text = Trim(text);
  if (text.size() != size * 2) {
    return InvalidArgument(std::string(what) + ": expected " + std::to_string(size * 2) +
                           " hex digits, got " + std::to_string(text.size()));
  }
  SecretBytes out(size);
  COVE_RETURN_IF_ERROR(DecodeInto(text, what, out.data()));
  return out;
}

}  // namespace cove
