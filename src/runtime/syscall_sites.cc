// FindSystemCallSites (syscall_sites.h): candidates by byte pattern, classified by decoding the
// function around them, bounded by the unwind tables (.eh_frame_hdr's sorted FDE table; DWARF
// encodings as in the LSB's "Exception Frames" chapter).
#include "runtime/syscall_sites.h"

#include <elf.h>
#include <emmintrin.h>

#include <algorithm>
#include <cstring>

#include "runtime/instruction_length.h"

namespace cove::runtime {

namespace {

constexpr uint8_t kEncOmit = 0xff;
constexpr uint8_t kEncDatarelSdata4 = 0x3b;  // DW_EH_PE_datarel | DW_EH_PE_sdata4

// Where the object's loaded segments may be read: every pointer taken from the unwind tables is
// checked against them before it is followed.
class ObjectMemory {
 public:
  explicit ObjectMemory(const dl_phdr_info& object) : object_(object) {}

  bool Readable(uintptr_t address, size_t size) const {
    for (int i = 0; i < object_.dlpi_phnum; ++i) {
      const ElfW(Phdr)& ph = object_.dlpi_phdr[i];
      if (ph.p_type != PT_LOAD || (ph.p_flags & PF_R) == 0) continue;
      uintptr_t begin = object_.dlpi_addr + ph.p_vaddr;
      if (address >= begin && address - begin <= ph.p_filesz && size <= ph.p_filesz &&
          address - begin + size <= ph.p_filesz) {
        return true;
      }
    }
    return false;
  }

 private:
  const dl_phdr_info& object_;
};

// Size in bytes of a value in DWARF pointer encoding `enc`; 0 for the variable-length ones.
size_t EncodedSize(uint8_t enc) {
  switch (enc & 0x0f) {
    case 0x00:  // absptr
    case 0x04:  // udata8
    case 0x0c:  // sdata8
      return 8;
    case 0x02:  // udata2
    case 0x0a:  // sdata2
      return 2;
    case 0x03:  // udata4
    case 0x0b:  // sdata4
      return 4;
    default:
      return 0;
  }
}

uint64_t ReadUnsigned(const uint8_t* p, size_t size) {
  uint64_t value = 0;
  std::memcpy(&value, p, size);  // little-endian
  return value;
}

bool ReadUleb(const uint8_t*& p, const uint8_t* end, uint64_t* value) {
  *value = 0;
  for (unsigned shift = 0; p < end && shift < 64; shift += 7) {
    uint8_t byte = *p++;
    *value |= uint64_t{byte & 0x7fu} << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

// The FDE pointer encoding of the CIE at `cie` (its 'R' augmentation; absptr without one), or
// kEncOmit when the CIE is not one this reader knows.
uint8_t FdeEncodingOfCie(const ObjectMemory& memory, uintptr_t cie) {
  if (!memory.Readable(cie, 8)) return kEncOmit;
  const auto* p = reinterpret_cast<const uint8_t*>(cie);
  uint32_t length = static_cast<uint32_t>(ReadUnsigned(p, 4));
  if (length == 0xffffffff || length < 8 || !memory.Readable(cie, 4 + size_t{length})) {
    return kEncOmit;
  }
  const uint8_t* end = p + 4 + length;
  if (ReadUnsigned(p + 4, 4) != 0) return kEncOmit;  // not a CIE
  uint8_t version = p[8];
  const auto* augmentation = reinterpret_cast<const char*>(p + 9);
  size_t augmentation_length = strnlen(augmentation, static_cast<size_t>(end - (p + 9)));
  p += 9 + augmentation_length + 1;
  if (p > end || std::strstr(augmentation, "eh") != nullptr) return kEncOmit;
  uint64_t code_alignment;
  uint64_t data_alignment;  // a SLEB128: only skipped, so read as unsigned
  uint64_t return_register;
  if (!ReadUleb(p, end, &code_alignment) || !ReadUleb(p, end, &data_alignment)) return kEncOmit;
  if (version == 1) {
    ++p;
  } else if (!ReadUleb(p, end, &return_register)) {
    return kEncOmit;
  }
  if (augmentation[0] != 'z') return 0x00;
  uint64_t data_length;
  if (!ReadUleb(p, end, &data_length) || data_length > static_cast<uint64_t>(end - p)) {
    return kEncOmit;
  }
  const uint8_t* data = p;
  const uint8_t* data_end = p + data_length;
  for (const char* c = augmentation + 1; *c != '\0'; ++c) {
    switch (*c) {
      case 'R':
        return data < data_end ? *data : kEncOmit;
      case 'L':
        ++data;
        break;
      case 'P': {
        if (data >= data_end) return kEncOmit;
        size_t size = EncodedSize(*data);
        if (size == 0) return kEncOmit;
        data += 1 + size;
        break;
      }
      case 'S':
      case 'B':
      case 'G':
        break;
      default:
        return kEncOmit;
    }
  }
  return 0x00;
}

// The FDE table of .eh_frame_hdr: (function start, FDE address) pairs sorted by start.
class FdeTable {
 public:
  FdeTable(const dl_phdr_info& object, const ObjectMemory& memory) : memory_(memory) {
    for (int i = 0; i < object.dlpi_phnum; ++i) {
      const ElfW(Phdr)& ph = object.dlpi_phdr[i];
      if (ph.p_type != PT_GNU_EH_FRAME) continue;
      uintptr_t hdr = object.dlpi_addr + ph.p_vaddr;
      if (!memory.Readable(hdr, 4)) return;
      const auto* p = reinterpret_cast<const uint8_t*>(hdr);
      if (p[0] != 1 || p[3] != kEncDatarelSdata4) return;
      size_t ptr_size = EncodedSize(p[1]);
      size_t count_size = EncodedSize(p[2]);
      if (ptr_size == 0 || count_size == 0 || !memory.Readable(hdr, 4 + ptr_size + count_size)) {
        return;
      }
      size_t count = ReadUnsigned(p + 4 + ptr_size, count_size);
      const uint8_t* table = p + 4 + ptr_size + count_size;
      if (!memory.Readable(reinterpret_cast<uintptr_t>(table), count * 8)) return;
      base_ = hdr;
      table_ = table;
      count_ = count;
    }
  }

  bool present() const { return table_ != nullptr; }
  size_t size() const { return count_; }
  uintptr_t Start(size_t i) const { return base_ + Entry(i, 0); }

  // Index of the last FDE starting at or before `address`, or size() when there is none.
  size_t Before(uintptr_t address) const {
    size_t low = 0;
    size_t high = count_;
    while (low < high) {
      size_t mid = low + (high - low) / 2;
      if (Start(mid) <= address) {
        low = mid + 1;
      } else {
        high = mid;
      }
    }
    return low == 0 ? count_ : low - 1;
  }

  // End of FDE i's function (start + pc_range), or 0 when its FDE cannot be read.
  uintptr_t End(size_t i) const {
    uintptr_t fde = base_ + Entry(i, 1);
    if (!memory_.Readable(fde, 8)) return 0;
    const auto* p = reinterpret_cast<const uint8_t*>(fde);
    uint32_t length = static_cast<uint32_t>(ReadUnsigned(p, 4));
    uint32_t cie_offset = static_cast<uint32_t>(ReadUnsigned(p + 4, 4));
    if (length == 0xffffffff || cie_offset == 0 || !memory_.Readable(fde, 4 + size_t{length})) {
      return 0;
    }
    uintptr_t cie = fde + 4 - cie_offset;
    if (cie != last_cie_) {  // an object's FDEs share one or two CIEs: parsed once each in turn
      last_cie_ = cie;
      last_encoding_ = FdeEncodingOfCie(memory_, cie);
    }
    uint8_t enc = last_encoding_;
    size_t size = enc == kEncOmit ? 0 : EncodedSize(enc);
    if (size == 0 || 8 + 2 * size > 4 + size_t{length}) return 0;
    uint64_t range = ReadUnsigned(p + 8 + size, size);
    return Start(i) + range;
  }

 private:
  int64_t Entry(size_t i, int field) const {
    int32_t value;
    std::memcpy(&value, table_ + i * 8 + static_cast<size_t>(field) * 4, 4);
    return value;
  }

  const ObjectMemory& memory_;
  uintptr_t base_ = 0;
  const uint8_t* table_ = nullptr;
  size_t count_ = 0;
  // The CIE End read last and its FDE pointer encoding.
  mutable uintptr_t last_cie_ = 0;
  mutable uint8_t last_encoding_ = kEncOmit;
};

// A function (or gap) decoded from its start as far as the candidates in it needed.
struct Decoding {
  uintptr_t begin = 0;
  uintptr_t end = 0;
  uintptr_t at = 0;  // the next instruction to decode
};

// Decodes `d` from d.at on until an instruction starts at or after `candidate`. Returns 1 when one
// starts exactly at it and is a system-call instruction, 0 when the candidate lies inside an
// instruction or is another instruction, -1 when an instruction is unknown or runs past d.end.
int DecodeTo(Decoding* d, uintptr_t candidate) {
  while (d->at < candidate) {
    int length = X86InstructionLength(reinterpret_cast<const uint8_t*>(d->at), d->end - d->at);
    if (length == 0) return -1;
    d->at += static_cast<uintptr_t>(length);
  }
  if (d->at != candidate) return 0;
  int length = X86InstructionLength(reinterpret_cast<const uint8_t*>(d->at), d->end - d->at);
  if (length == 0) return -1;
  return IsSystemCallInstruction(reinterpret_cast<const uint8_t*>(d->at), length) ? 1 : 0;
}

// Whether the bytes before the candidate at `at` (not before `floor`) set the syscall number as
// compilers and hand-written code do: `mov $imm32, %eax`, `mov $imm32, %rax`, `mov %reg, %eax`
// or `xor %eax, %eax`. Used only where decoding failed, to tell code from data.
bool LooksLikeSystemCall(uintptr_t at, uintptr_t floor) {
  const auto* p = reinterpret_cast<const uint8_t*>(at);
  auto before = [&](size_t n) { return at - floor >= n; };
  if (before(5) && p[-5] == 0xb8) return true;                                    // mov imm32, eax
  if (before(7) && p[-7] == 0x48 && p[-6] == 0xc7 && p[-5] == 0xc0) return true;  // ..., rax
  if (before(2) && (p[-2] == 0x89 || p[-2] == 0x31) && p[-1] >= 0xc0 && (p[-1] & 7) == 0) {
    return true;  // mov or xor of a register into eax
  }
  if (before(2) && p[-2] == 0x8b && p[-1] >= 0xc0 && p[-1] <= 0xc7) return true;  // mov r, eax
  if (before(3) && (p[-3] & 0xf0) == 0x40 && (p[-2] == 0x89 || p[-2] == 0x8b) && p[-1] >= 0xc0) {
    return (p[-2] == 0x89 ? (p[-1] & 7) : ((p[-1] >> 3) & 7)) == 0;  // the same with REX
  }
  return false;
}

// Addresses in [begin, end) where a system-call instruction's two bytes occur, in increasing
// order. Sixteen positions per step (SSE2): most of an object's text is read only here.
std::vector<uintptr_t> Candidates(uintptr_t begin, uintptr_t end) {
  std::vector<uintptr_t> candidates;
  const auto* p = reinterpret_cast<const uint8_t*>(begin);
  const auto* last = reinterpret_cast<const uint8_t*>(end);
  auto is_candidate = [](const uint8_t* at) {
    return (at[0] == 0x0f && (at[1] == 0x05 || at[1] == 0x34)) || (at[0] == 0xcd && at[1] == 0x80);
  };
  const __m128i k0f = _mm_set1_epi8(0x0f);
  const __m128i kcd = _mm_set1_epi8(static_cast<char>(0xcd));
  const __m128i k05 = _mm_set1_epi8(0x05);
  const __m128i k34 = _mm_set1_epi8(0x34);
  const __m128i k80 = _mm_set1_epi8(static_cast<char>(0x80));
  for (; last - p >= 17; p += 16) {
    __m128i lead = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __m128i next = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 1));
    __m128i syscall_pair =
        _mm_and_si128(_mm_cmpeq_epi8(lead, k0f),
                      _mm_or_si128(_mm_cmpeq_epi8(next, k05), _mm_cmpeq_epi8(next, k34)));
    __m128i int80_pair = _mm_and_si128(_mm_cmpeq_epi8(lead, kcd), _mm_cmpeq_epi8(next, k80));
    auto mask = static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(syscall_pair, int80_pair)));
    while (mask != 0) {
      candidates.push_back(reinterpret_cast<uintptr_t>(p) +
                           static_cast<unsigned>(__builtin_ctz(mask)));
      mask &= mask - 1;
    }
  }
  for (; last - p >= 2; ++p) {
    if (is_candidate(p)) candidates.push_back(reinterpret_cast<uintptr_t>(p));
  }
  return candidates;
}

}  // namespace

SiteScanResult FindSystemCallSites(const dl_phdr_info& object, std::vector<uintptr_t>* sites) {
  ObjectMemory memory(object);
  FdeTable fdes(object, memory);
  for (int i = 0; i < object.dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = object.dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || (ph.p_flags & PF_X) == 0) continue;
    uintptr_t segment_begin = object.dlpi_addr + ph.p_vaddr;
    uintptr_t segment_end = segment_begin + ph.p_filesz;
    // The function decoded last: a function often holds several candidates, in order.
    Decoding decoding;
    bool decoding_is_function = false;
    bool gap_skipped = false;  // the current region is a gap skipped as data
    for (uintptr_t candidate : Candidates(segment_begin, segment_end)) {
      if (candidate < decoding.begin || candidate >= decoding.at) {  // not decoded past yet
        if (candidate >= decoding.end) {
          // The function containing the candidate, or else the gap between two functions (the
          // whole segment when the object has no unwind table).
          uintptr_t begin = segment_begin;
          uintptr_t end = segment_end;
          bool in_function = false;
          if (fdes.present()) {
            size_t index = fdes.Before(candidate);
            if (index < fdes.size()) {
              uintptr_t function_end = fdes.End(index);
              if (function_end == 0) return {false, candidate, "unreadable unwind entry"};
              in_function = candidate < function_end;
              begin = in_function ? fdes.Start(index) : function_end;
              if (!in_function && index + 1 < fdes.size()) end = fdes.Start(index + 1);
              if (in_function) end = function_end;
            } else if (fdes.size() > 0) {
              end = fdes.Start(0);
            }
          }
          decoding.begin = std::max(begin, segment_begin);
          decoding.end = std::min(end, segment_end);
          decoding.at = decoding.begin;
          decoding_is_function = in_function || !fdes.present();
          gap_skipped = false;
        }
        int verdict = DecodeTo(&decoding, candidate);
        if (verdict == 1) sites->push_back(candidate);
        if (verdict >= 0) continue;
        if (decoding_is_function) return {false, candidate, "the code before it does not decode"};
        // Between functions and not code this decoder can follow: data (OpenSSL keeps tables
        // in .text). Compiler-made functions and glibc's assembly all have unwind entries. The
        // rest of the gap is taken for data too.
        decoding.at = decoding.end;
        gap_skipped = true;
      }
      // Inside an instruction decoded already (not a site), or in a gap taken for data: unless
      // it looks like a system call being made (hand-written code without unwind entry after a
      // table), which leaves the object unresolved.
      if (gap_skipped && LooksLikeSystemCall(candidate, decoding.begin)) {
        return {false, candidate, "it follows data outside every function and looks like code"};
      }
    }
  }
  return {};
}

}  // namespace cove::runtime
