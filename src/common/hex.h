// Lower-case hexadecimal encoding and strict decoding (used for keys, tags and measurements).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/secret_bytes.h"
#include "common/status.h"

namespace cove {

std::string HexEncode(std::span<const uint8_t> bytes);
// Decodes hex text (either case, optional surrounding whitespace); `what` names the field in
// errors.
Result<std::vector<uint8_t>> HexDecode(std::string_view text, std::string_view what);
// As HexDecode, into zeroizing storage and requiring exactly `size` bytes, for keys.
Result<SecretBytes> HexDecodeSecret(std::string_view text, size_t size, std::string_view what);

}  // namespace cove
