// x86-64 instruction lengths (instruction_length.h). The tables follow the Intel SDM, volume 2,
// appendix A (opcode maps); instruction_length_test.cc checks them against objdump on the
// system's libraries.
#include "runtime/instruction_length.h"

namespace cove::runtime {

namespace {

// One bit per opcode (256 bits).
struct OpcodeBits {
  uint64_t words[4];
  constexpr bool Has(uint8_t op) const { return (words[op >> 6] >> (op & 63)) & 1; }
};

// Builds an OpcodeBits from a list of [first, last] ranges at compile time.
struct Range {
  uint8_t first;
  uint8_t last;
};
template <size_t N>
constexpr OpcodeBits Bits(const Range (&ranges)[N]) {
  OpcodeBits bits{};
  for (const Range& r : ranges) {
    for (unsigned op = r.first; op <= r.last; ++op) bits.words[op >> 6] |= uint64_t{1} << (op & 63);
  }
  return bits;
}

// One-byte map: opcodes followed by a ModRM byte.
constexpr Range kOneByteModRmRanges[] = {{0x00, 0x03}, {0x08, 0x0b}, {0x10, 0x13}, {0x18, 0x1b},
                                         {0x20, 0x23}, {0x28, 0x2b}, {0x30, 0x33}, {0x38, 0x3b},
                                         {0x63, 0x63}, {0x69, 0x69}, {0x6b, 0x6b}, {0x80, 0x81},
                                         {0x83, 0x8f}, {0xc0, 0xc1}, {0xc6, 0xc7}, {0xd0, 0xd3},
                                         {0xd8, 0xdf}, {0xf6, 0xf7}, {0xfe, 0xff}};
constexpr OpcodeBits kOneByteModRm = Bits(kOneByteModRmRanges);

// One-byte map: opcodes that do not exist in 64-bit mode (or are handled as prefixes elsewhere:
// 0x62 EVEX, 0xc4/0xc5 VEX are decoded before this table is consulted).
constexpr Range kOneByteInvalidRanges[] = {{0x06, 0x07}, {0x0e, 0x0e}, {0x16, 0x17}, {0x1e, 0x1f},
                                           {0x27, 0x27}, {0x2f, 0x2f}, {0x37, 0x37}, {0x3f, 0x3f},
                                           {0x60, 0x62}, {0x82, 0x82}, {0x9a, 0x9a}, {0xc4, 0xc5},
                                           {0xce, 0xce}, {0xd4, 0xd6}, {0xea, 0xea}};
constexpr OpcodeBits kOneByteInvalid = Bits(kOneByteInvalidRanges);

// Two-byte map (0f xx): opcodes without a ModRM byte. 0f 38 and 0f 3a are escapes.
constexpr Range kTwoByteNoModRmRanges[] = {{0x05, 0x09}, {0x0b, 0x0b}, {0x0e, 0x0e},
                                           {0x30, 0x37}, {0x77, 0x77}, {0x80, 0x8f},
                                           {0xa0, 0xa2}, {0xa8, 0xaa}, {0xc8, 0xcf}};
constexpr OpcodeBits kTwoByteNoModRm = Bits(kTwoByteNoModRmRanges);

// Two-byte map: opcodes that take an 8-bit immediate after ModRM.
constexpr Range kTwoByteImm8Ranges[] = {{0x70, 0x73}, {0xa4, 0xa4}, {0xac, 0xac},
                                        {0xba, 0xba}, {0xc2, 0xc2}, {0xc4, 0xc6}};
constexpr OpcodeBits kTwoByteImm8 = Bits(kTwoByteImm8Ranges);

// Two-byte map: undefined opcodes and 3DNow! (0f 0f), which this decoder does not size. (0f a6
// and 0f a7 are VIA PadLock's xsha/xcrypt, with a ModRM byte.)
constexpr Range kTwoByteUnknownRanges[] = {{0x04, 0x04}, {0x0a, 0x0a}, {0x0c, 0x0c},
                                           {0x0f, 0x0f}, {0x24, 0x27}, {0x36, 0x36},
                                           {0x39, 0x39}, {0x3b, 0x3f}, {0x7a, 0x7b}};
constexpr OpcodeBits kTwoByteUnknown = Bits(kTwoByteUnknownRanges);

// Size of ModRM plus SIB plus displacement starting at p (32/64-bit addressing), or 0 when the
// bytes run out.
int ModRmLength(const uint8_t* p, size_t available) {
  if (available < 1) return 0;
  uint8_t modrm = p[0];
  unsigned mod = modrm >> 6;
  unsigned rm = modrm & 7;
  int length = 1;
  if (mod == 3) return length;
  if (rm == 4) {  // SIB
    if (available < 2) return 0;
    uint8_t sib = p[1];
    ++length;
    if (mod == 0 && (sib & 7) == 5) length += 4;
  } else if (mod == 0 && rm == 5) {
    length += 4;  // RIP-relative
  }
  if (mod == 1) length += 1;
  if (mod == 2) length += 4;
  return static_cast<size_t>(length) <= available ? length : 0;
}

// Immediate size of a one-byte-map opcode; -1 when the opcode is unknown here.
int OneByteImmediate(uint8_t op, uint8_t modrm, bool operand16, bool rex_w, bool address32) {
  int imm_z = operand16 ? 2 : 4;                 // "Iz": 16 or 32 bits, 32 bits also with REX.W
  if (op < 0x40 && (op & 7) == 4) return 1;      // ALU AL, imm8
  if (op < 0x40 && (op & 7) == 5) return imm_z;  // ALU eAX, imm
  if ((op >= 0x70 && op <= 0x7f) || (op >= 0xe0 && op <= 0xe3)) return 1;  // jcc, loop rel8
  if (op >= 0xa0 && op <= 0xa3) return address32 ? 4 : 8;                  // mov moffs
  if (op >= 0xb0 && op <= 0xb7) return 1;                                  // mov r8, imm8
  if (op >= 0xb8 && op <= 0xbf) return rex_w ? 8 : imm_z;                  // mov r, imm
  switch (op) {
    case 0x68:
    case 0x69:
    case 0x81:
    case 0xa9:
    case 0xc7:
      return imm_z;
    case 0x6a:
    case 0x6b:
    case 0x80:
    case 0x83:
    case 0xa8:
    case 0xc0:
    case 0xc1:
    case 0xc6:
    case 0xcd:
    case 0xe4:
    case 0xe5:
    case 0xe6:
    case 0xe7:
    case 0xeb:
      return 1;
    case 0xe8:
    case 0xe9:
      // rel32. With 66 and without REX.W, AMD reads rel16 and Intel rel32: unknown. (The TLS
      // general-dynamic sequence is 66 66 48 e8, REX.W set: rel32 on both.)
      return operand16 && !rex_w ? -1 : 4;
    case 0xc2:
    case 0xca:
      return 2;
    case 0xc8:
      return 3;  // enter imm16, imm8
    case 0xf6:
      return ((modrm >> 3) & 7) < 2 ? 1 : 0;  // test r/m8, imm8
    case 0xf7:
      return ((modrm >> 3) & 7) < 2 ? imm_z : 0;
    default:
      return 0;
  }
}

// Length of a VEX- or EVEX-encoded instruction: `map` 1..3 (0f, 0f38, 0f3a), `rest` at the
// opcode byte. Returns 0 when unknown or truncated.
int VexTail(unsigned map, const uint8_t* rest, size_t available, bool evex) {
  if (available < 1) return 0;
  uint8_t op = rest[0];
  if (map == 1 && op == 0x77 && !evex) return 1;  // vzeroupper / vzeroall
  int imm;
  switch (map) {
    case 1:
      imm = kTwoByteImm8.Has(op) ? 1 : 0;
      break;
    case 2:
      imm = 0;
      break;
    case 3:
      imm = 1;
      break;
    case 5:
    case 6:
      if (!evex) return 0;  // AVX512-FP16 maps: ModRM, no immediate
      imm = 0;
      break;
    default:
      return 0;
  }
  int modrm = ModRmLength(rest + 1, available - 1);
  if (modrm == 0) return 0;
  size_t length = 1 + static_cast<size_t>(modrm) + static_cast<size_t>(imm);
  return length <= available ? static_cast<int>(length) : 0;
}

}  // namespace

int X86InstructionLength(const uint8_t* code, size_t available) {
  constexpr size_t kMaxLength = 15;
  if (available > kMaxLength) available = kMaxLength;
  size_t i = 0;
  bool operand16 = false;
  bool address32 = false;
  bool rex_w = false;
  bool repne = false;
  // Legacy prefixes, in any order, then at most one REX right before the opcode.
  for (; i < available; ++i) {
    uint8_t b = code[i];
    if (b == 0x66) {
      operand16 = true;
    } else if (b == 0x67) {
      address32 = true;
    } else if (b == 0xf2) {
      repne = true;
    } else if (b != 0xf0 && b != 0xf2 && b != 0xf3 && b != 0x2e && b != 0x36 && b != 0x3e &&
               b != 0x26 && b != 0x64 && b != 0x65) {
      break;
    }
  }
  if (i < available && (code[i] & 0xf0) == 0x40) {
    rex_w = (code[i] & 0x08) != 0;
    ++i;
  }
  if (i >= available) return 0;
  uint8_t op = code[i];
  // A prefix after REX (which then does not apply): never emitted by compilers.
  if ((op & 0xf0) == 0x40 || op == 0x66 || op == 0x67 || op == 0xf0 || op == 0xf2 || op == 0xf3 ||
      op == 0x2e || op == 0x36 || op == 0x3e || op == 0x26 || op == 0x64 || op == 0x65) {
    return 0;
  }
  size_t left = available - i;

  if (op == 0xc5 || op == 0xc4 || op == 0x62) {  // VEX2, VEX3, EVEX (always, in 64-bit mode)
    size_t header = op == 0xc5 ? 2 : op == 0xc4 ? 3 : 4;
    if (left <= header) return 0;
    unsigned map = op == 0xc5 ? 1 : op == 0xc4 ? (code[i + 1] & 0x1f) : (code[i + 1] & 0x07);
    if (op == 0x62 && (code[i + 2] & 0x04) == 0) return 0;  // EVEX.P1 bit 2 is always 1
    int tail = VexTail(map, code + i + header, left - header, op == 0x62);
    return tail == 0 ? 0 : static_cast<int>(i + header + static_cast<size_t>(tail));
  }

  if (op == 0x0f) {
    if (left < 2) return 0;
    uint8_t op2 = code[i + 1];
    if (op2 == 0x38 || op2 == 0x3a) {  // three-byte maps: ModRM always, imm8 for 0f 3a
      int modrm = ModRmLength(code + i + 3, left >= 3 ? left - 3 : 0);
      if (left < 3 || modrm == 0) return 0;
      size_t length = i + 3 + static_cast<size_t>(modrm) + (op2 == 0x3a ? 1 : 0);
      return length <= available ? static_cast<int>(length) : 0;
    }
    if (kTwoByteUnknown.Has(op2)) return 0;
    if ((op2 == 0x78 || op2 == 0x79) && (operand16 || repne)) return 0;  // SSE4a extrq/insertq
    if (kTwoByteNoModRm.Has(op2)) {
      size_t length = i + 2;
      if (op2 >= 0x80 && op2 <= 0x8f) {  // jcc rel32 (see 0xe8 for the 66 prefix)
        if (operand16 && !rex_w) return 0;
        length += 4;
      }
      return length <= available ? static_cast<int>(length) : 0;
    }
    // mov to/from control and debug registers: the ModRM byte is always read as a register
    // form, whatever its mod bits say.
    int modrm =
        op2 >= 0x20 && op2 <= 0x23 ? (left > 2 ? 1 : 0) : ModRmLength(code + i + 2, left - 2);
    if (modrm == 0) return 0;
    size_t length = i + 2 + static_cast<size_t>(modrm) + (kTwoByteImm8.Has(op2) ? 1 : 0);
    return length <= available ? static_cast<int>(length) : 0;
  }

  if (kOneByteInvalid.Has(op)) return 0;
  if (op == 0x8f && left >= 2 && ((code[i + 1] >> 3) & 7) != 0) {  // AMD XOP, not pop r/m
    // 8f RXB.mmmmm W.vvvv.L.pp opcode ModRM: map 8 takes imm8, map 9 none, map 10 imm32.
    unsigned map = code[i + 1] & 0x1f;
    if (map < 8 || map > 10 || left < 4) return 0;
    int modrm = ModRmLength(code + i + 4, left - 4);
    if (modrm == 0) return 0;
    size_t length = i + 4 + static_cast<size_t>(modrm) + (map == 8 ? 1 : map == 10 ? 4 : 0);
    return length <= available ? static_cast<int>(length) : 0;
  }
  size_t length = i + 1;
  uint8_t modrm_byte = 0;
  if (kOneByteModRm.Has(op)) {
    int modrm = ModRmLength(code + i + 1, left - 1);
    if (modrm == 0) return 0;
    modrm_byte = code[i + 1];
    length += static_cast<size_t>(modrm);
  }
  int imm = OneByteImmediate(op, modrm_byte, operand16, rex_w, address32);
  if (imm < 0) return 0;
  length += static_cast<size_t>(imm);
  return length <= available ? static_cast<int>(length) : 0;
}

}  // namespace cove::runtime
