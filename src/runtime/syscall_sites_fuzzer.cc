// libFuzzer target: FindSystemCallSites and X86InstructionLength on arbitrary bytes. The input
// is one loaded "object": a readable, executable segment holding the bytes, whose first two
// bytes place an .eh_frame_hdr inside it (or none). Checks that nothing is read outside the
// segment (ASan), that lengths stay within 1..15 and the bytes given, and that every site found
// lies in the segment, in increasing order, on a system-call instruction's bytes.
#include <link.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "runtime/instruction_length.h"
#include "runtime/syscall_sites.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  std::vector<uint8_t> bytes(data, data + size);  // a heap copy: ASan sees its exact bounds
  for (size_t at = 0; at < size; ++at) {
    int length = cove::runtime::X86InstructionLength(bytes.data() + at, size - at);
    if (length < 0 || length > 15 || static_cast<size_t>(length) > size - at) abort();
  }
  size_t hdr_offset = (size_t{bytes[0]} << 8 | bytes[1]) % size;
  ElfW(Phdr) phdrs[2] = {};
  phdrs[0].p_type = PT_LOAD;
  phdrs[0].p_flags = PF_R | PF_X;
  phdrs[0].p_filesz = size;
  phdrs[0].p_memsz = size;
  phdrs[1].p_type = (bytes[0] & 1) != 0 ? PT_GNU_EH_FRAME : PT_NULL;
  phdrs[1].p_vaddr = hdr_offset;
  dl_phdr_info info{};
  info.dlpi_addr = reinterpret_cast<ElfW(Addr)>(bytes.data());
  info.dlpi_name = "fuzz";
  info.dlpi_phdr = phdrs;
  info.dlpi_phnum = 2;
  std::vector<uintptr_t> sites;
  cove::runtime::FindSystemCallSites(info, &sites);
  uintptr_t begin = info.dlpi_addr;
  for (size_t i = 0; i < sites.size(); ++i) {
    if (sites[i] < begin || sites[i] + 2 > begin + size) abort();
    if (i > 0 && sites[i] <= sites[i - 1]) abort();
    if (!cove::runtime::IsSystemCallInstruction(reinterpret_cast<const uint8_t*>(sites[i]), 2)) {
      abort();
    }
  }
  return 0;
}
