// The length of one x86-64 instruction, for finding the `syscall` instructions of the code a
// program loaded (syscall_sites.h). Only lengths are decoded, not operands. Covers the legacy
// one-, two- and three-byte opcode maps with their prefixes, VEX, EVEX and XOP; anything else
// (3DNow!, opcodes invalid in 64-bit mode, 16-bit near branches) is reported as unknown, so that
// the caller falls back to the kernel trap instead of guessing. Pure, allocation-free and
// async-signal-safe.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cove::runtime {

// Bytes in the instruction that starts at `code` (1..15), or 0 when it is unknown, invalid in
// 64-bit mode or longer than `available`.
int X86InstructionLength(const uint8_t* code, size_t available);

// Whether the instruction of `length` bytes at `code` enters the kernel: `syscall` (0f 05),
// `sysenter` (0f 34) or `int $0x80` (cd 80), without prefixes.
inline bool IsSystemCallInstruction(const uint8_t* code, int length) {
  if (length != 2) return false;
  return (code[0] == 0x0f && (code[1] == 0x05 || code[1] == 0x34)) ||
         (code[0] == 0xcd && code[1] == 0x80);
}

}  // namespace cove::runtime
