// CRC-32C (Castagnoli, the iSCSI/ext4 polynomial): a checksum for torn-write detection (the
// redo journal), not an integrity check against an attacker. On x86-64 it runs on the SSE4.2
// crc32 instruction (~8 bytes per cycle here); elsewhere, or on a CPU without SSE4.2, bit by
// bit. No allocation, no state: safe anywhere.
#pragma once

#include <cstdint>
#include <span>

namespace cove {

// The CRC-32C of `data` continuing from `crc` (0 to start; the result of one call is the
// `crc` of the next, for data in pieces).
uint32_t Crc32c(std::span<const uint8_t> data, uint32_t crc = 0);

}  // namespace cove
