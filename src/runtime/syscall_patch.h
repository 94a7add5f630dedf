// The patched form of the raw-syscall trap: every system-call instruction in the program's
// loaded code (its executable, libc, the dynamic loader, every library) becomes `int $0x81`,
// whose SIGSEGV the trap's handler turns into the syscall's emulation (sigsys_handler.cc). The
// kernel then sees no Syscall User Dispatch, so the syscalls the runtime issues for the program's
// interposed calls take the kernel's fast path: with dispatch armed, every syscall of the
// process pays its slow entry path (~20-35 ns here, 5-12% of a cheap call).
//
// The sites come from syscall_sites.h. The runtime itself (all its syscalls are in its allowed
// range, raw_syscall.h) and the vDSO (its syscalls are clock_gettime's fallbacks) are left as
// they are. Patching is all or
// nothing at start: if any object's code cannot be classified, nothing is patched and the
// caller arms Syscall User Dispatch instead.
#pragma once

#include <signal.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/status.h"

namespace cove::runtime {

// The instruction a site becomes: `int $0x81`, two bytes like `syscall`. Its vector has no gate
// for user code, so it raises #GP, which the kernel delivers as SIGSEGV (si_code SI_KERNEL) with
// rip at the instruction. Not `ud2`: under KVM every #UD exits to the hypervisor (7.4 us per trap
// on the machines measured, against 2.5 us for #GP and 2.3 us for Syscall User Dispatch's SIGSYS).
inline constexpr uint8_t kPatchedSiteBytes[2] = {0xcd, 0x81};
inline constexpr int kPatchedSiteSignal = SIGSEGV;

// What a patched site held before it was patched.
enum class PatchedKind : uint8_t {
  kSyscall,  // 0f 05: a 64-bit syscall
  kLegacy,   // int $0x80 or sysenter: the i386 ABI, refused
};

struct PatchedSite {
  uintptr_t address;
  PatchedKind kind;
};

struct PatchSummary {
  size_t objects = 0;  // objects scanned
  size_t sites = 0;    // instructions patched
  size_t pages = 0;    // pages written (each now a private copy in this process)
};

// Finds the sites of every loaded object and patches them, except in the object that contains
// `skip_address` (the runtime: its own syscalls are all in its allowed range) and the vDSO.
// kUnsupported, with the object, address and reason, when an object's code cannot be
// classified; nothing is patched then. Call once, from the runtime's constructor while the
// process has one thread.
Status PatchLoadedObjects(uintptr_t skip_address, PatchSummary* summary);

// Patches the objects loaded since the last call (after a dlopen). When one of them cannot be
// classified it is left unpatched and kUnsupported names it: its raw syscalls would bypass the
// shield, so the caller refuses the dlopen. No-op unless PatchLoadedObjects succeeded.
Status PatchNewlyLoadedObjects();

// After a dlclose: forgets the objects no longer loaded, so that one loaded again (perhaps at
// the same address) is checked and patched anew, and their sites leave the table.
void ForgetUnloadedObjects();

// Whether any site of this process was patched (by a PatchLoadedObjects that succeeded, or
// one that failed half-way).
bool SitesPatched();

// The patched site at `address`, or nullptr. Async-signal-safe, lock-free.
const PatchedSite* FindPatchedSite(uintptr_t address);

}  // namespace cove::runtime
