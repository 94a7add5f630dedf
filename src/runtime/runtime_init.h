// What the runtime's constructor established, for the interposed process-level calls
// (exec, spawn, dlopen, malloc): the start flag, the dlopen policy, the heap limit, and the
// fspf tag entry kept current in the environment for children.
#pragma once

#include <cstdint>

#include "runtime/config.h"

namespace cove::runtime {

// True once the constructor finished (before it, dlopen is the loader's business).
bool RuntimeStarted();
DlopenPolicy CurrentDlopenPolicy();
// SCONE_HEAP in bytes (0: unlimited).
uint64_t HeapLimit();
// "SCONE_FSPF_TAG=<32 hex digits>" for the fspf as last committed, in static storage (it is
// the very string in environ, updated in place); nullptr when the fspf is not sealed.
const char* CurrentTagEnvEntry();
// Commits every modified protected file, so that a child (exec, spawn) sees it, and shares
// the offsets of the descriptors it may inherit with it.
void CommitBeforeChild();
// True in a thread inside fork() after fork's prepare handler ran CommitBeforeChild: the
// clone syscall that follows must not do that work again. By then the allocator's fork locks
// are held, and another thread that holds the runtime's locks may be waiting for one of them.
bool ForkPrepared();
// After the process changed its user (setuid and friends: nginx's workers drop to www-data):
// logs an error naming what the new user may not write when its commits would fail.
void WarnIfUserCannotCommit(const char* call);
// Before execve, which may run in a vfork child sharing memory with its parent (see
// ShieldedFiles::CommitBeforeExec).
void CommitBeforeExec();
// The environment for an execve, interposed or reached through the syscall trap
// (process_interpose.cc): `envp` with COVE_INHERITED_FDS and the current SCONE_FSPF_TAG, or
// `envp` itself when there is nothing to add.
char* const* EnvironmentForExec(char* const envp[]);

}  // namespace cove::runtime
