// Children stay shielded. A program under the runtime that starts another one (exec, spawn,
// system) may give it an environment of its own (`env -i`, Python's subprocess with env=...,
// an unsetenv("LD_PRELOAD")), or start a program the runtime cannot be loaded into (static,
// 32-bit): either way the child would run unshielded, see ciphertext, and write plaintext into
// protected regions. While a volume is open, the runtime therefore gives every child its own
// configuration back (LD_PRELOAD with this library, the SCONE_* and COVE_* variables the process
// started with, where the child's environment lacks them) and refuses, with EACCES and a log
// line, an exec of a program that would run without it.
#pragma once

#include <cstddef>
#include <string>

namespace cove::runtime {

// At start, while a volume opens (before the program's main can change its environment):
// records the configuration entries of the environment, this library's path and the dynamic
// loader's identity.
void CaptureExecConfiguration();
// True once CaptureExecConfiguration ran.
bool ExecPolicyActive();

// 0 when an exec of `path` (execveat's dirfd and flags; AT_EMPTY_PATH with "" for fexecve)
// with arguments `argv` and environment `envp` may run, -EACCES (said on stderr) when it would
// run unshielded. No allocation (vfork children, the SIGSYS handler).
long RefuseUnshieldedExec(int dirfd, const char* path, int flags, char* const argv[],
                          char* const envp[]);
// An exec of a file that a protected region records: the kernel would load its host file (the
// region's format, not the program or script). Returns the arguments of the exec that replaces
// it, `cove exec-protected -- PATH ARGV[1]...` (the helper `cove run` names in
// COVE_EXEC_HELPER), which reads the file through the shield and runs its #! interpreter; its
// first element is the helper's path. nullptr for any other file or without a helper. Valid
// until the calling thread's next exec; allocates (as EnvironmentForExec does).
char* const* ProtectedExecArgv(int dirfd, const char* path, char* const argv[]);
// RefuseUnshieldedExec for posix_spawnp's `file`, found through PATH as the spawn will.
long RefuseUnshieldedSpawnp(const char* file, char* const argv[], char* const envp[]);

// The recorded configuration entries ("NAME=value"), in static storage.
size_t CarriedEnvCount();
const char* CarriedEnvEntry(size_t index);
// Whether environment entry `entry` is LD_PRELOAD's.
bool IsPreloadEntry(const char* entry);
// `entry` ("LD_PRELOAD=...") with this library first unless it is in the list already: `entry`
// itself, or a new entry in `storage`.
const char* PreloadEntryWithRuntime(const char* entry, std::string& storage);
// "LD_PRELOAD=<this library>" in static storage (nullptr when its path is unknown).
const char* RuntimePreloadEntry();

}  // namespace cove::runtime
