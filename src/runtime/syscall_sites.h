// Finds the system-call instructions (`syscall`, `sysenter`, `int $0x80`) in the code of a
// loaded ELF object, so that the trap can patch them (syscall_patch.h) instead of sending every
// syscall of the process through the kernel's Syscall User Dispatch path.
//
// How: every byte pair that could be such an instruction is a candidate. The function that
// contains it (its FDE in .eh_frame_hdr, which the loader maps for unwinding) is decoded from
// its first instruction with X86InstructionLength; the candidate is a site when the decoding
// lands on it. An instruction the decoder cannot size before it (or one running past the
// function's end) makes the object unresolved. Code outside every FDE is decoded the same way
// from the end of the previous one; a stretch there that does not decode is taken for data
// (OpenSSL's tables in .text: compilers and glibc's assembly give every function an unwind
// entry). Unresolved means the caller keeps the kernel trap: it never patches a guess.
// syscall_sites_test.cc checks the result against objdump on the system's libraries.
#pragma once

#include <link.h>

#include <cstdint>
#include <vector>

namespace cove::runtime {

struct SiteScanResult {
  bool resolved = true;
  // When not resolved: the candidate's address and why it could not be classified.
  uintptr_t candidate = 0;
  const char* why = nullptr;
};

// Appends to *sites the run-time addresses of the system-call instructions in the executable
// segments of `object` (as dl_iterate_phdr reports it), in increasing order. Allocates; not
// for signal context.
SiteScanResult FindSystemCallSites(const dl_phdr_info& object, std::vector<uintptr_t>* sites);

}  // namespace cove::runtime
