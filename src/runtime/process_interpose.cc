// Process-level interposition: exec and spawn (commit first, hand the child the CURRENT fspf
// tag), dlopen (SCONE_ALLOW_DLOPEN; encrypted libraries are decrypted into a memfd), and
// malloc failure (a clear "heap exhausted, raise SCONE_HEAP" instead of a silent failure).
// execve runs between fork and exec: it allocates (glibc's malloc is safe in a fork child),
// into storage per thread that the thread's next exec reuses.
#include <alloca.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <spawn.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "runtime/commit_flusher.h"
#include "runtime/direct_syscall.h"
#include "runtime/exec_policy.h"
#include "runtime/next_symbol.h"
#include "runtime/raw_syscall_env.h"
#include "runtime/runtime_init.h"
#include "runtime/runtime_log.h"
#include "runtime/shielded_files.h"
#include "runtime/syscall_dispatch.h"
#include "runtime/syscall_trap.h"

#define COVE_EXPORT extern "C" __attribute__((visibility("default")))

using namespace cove::runtime;

extern "C" {
void* __libc_malloc(size_t size);
void* __libc_calloc(size_t count, size_t size);
void* __libc_realloc(void* ptr, size_t size);
}

namespace {

constexpr char kTagName[] = "SCONE_FSPF_TAG=";

constexpr char kInheritedName[] = "COVE_INHERITED_FDS=";

// Entries PatchEnvironment may add to an environment of `count` entries (the tag, LD_PRELOAD,
// COVE_INHERITED_FDS, the carried configuration), and the terminating null.
size_t PatchedCapacity(size_t count) {
  return count + 4 + CarriedEnvCount();
}

bool HasName(char* const* entries, size_t count, const char* entry) {
  size_t name = std::strcspn(entry, "=") + 1;  // "NAME="
  for (size_t i = 0; i < count; ++i) {
    if (std::strncmp(entries[i], entry, name) == 0) return true;
  }
  return false;
}

// envp for a child, in `out` (PatchedCapacity entries): SCONE_FSPF_TAG replaced by (or
// extended with) the current tag, COVE_INHERITED_FDS set to `inherited` (when not null), and,
// while a volume is open, the runtime's own configuration where envp lacks it (exec_policy.h):
// LD_PRELOAD with this library, the SCONE_* and COVE_* entries the process started with.
// `preload` holds a rewritten LD_PRELOAD entry.
char* const* PatchEnvironment(char* const envp[], char** out, std::string& preload,
                              const char* inherited = nullptr) {
  const char* tag = CurrentTagEnvEntry();
  bool carry = ExecPolicyActive();
  if (tag == nullptr && inherited == nullptr && !carry) return envp;
  size_t kept = 0;
  bool replaced = false;
  bool has_preload = false;
  for (size_t n = 0; envp != nullptr && envp[n] != nullptr; ++n) {
    if (strncmp(envp[n], kInheritedName, sizeof(kInheritedName) - 1) == 0) continue;
    if (tag != nullptr && strncmp(envp[n], kTagName, sizeof(kTagName) - 1) == 0) {
      out[kept++] = const_cast<char*>(tag);
      replaced = true;
    } else if (carry && IsPreloadEntry(envp[n])) {
      out[kept++] = const_cast<char*>(PreloadEntryWithRuntime(envp[n], preload));
      has_preload = true;
    } else {
      out[kept++] = envp[n];
    }
  }
  if (tag != nullptr && !replaced) out[kept++] = const_cast<char*>(tag);
  if (carry) {
    if (!has_preload && RuntimePreloadEntry() != nullptr) {
      out[kept++] = const_cast<char*>(RuntimePreloadEntry());
    }
    for (size_t i = 0; i < CarriedEnvCount(); ++i) {
      if (!HasName(out, kept, CarriedEnvEntry(i)))
        out[kept++] = const_cast<char*>(CarriedEnvEntry(i));
    }
  }
  if (inherited != nullptr) out[kept++] = const_cast<char*>(inherited);
  out[kept] = nullptr;
  return out;
}

// Protected descriptors the new program inherits (a shell's `> file` before exec), as an
// environment entry; nullptr when there are none.
const char* InheritedEntry(std::string& storage) {
  ShieldedFiles* files = ShieldedFiles::Instance();
  if (files == nullptr) return nullptr;
  std::string spec = files->DescribeInheritable();
  if (spec.empty()) return nullptr;
  storage = kInheritedName + spec;
  return storage.c_str();
}

size_t CountEntries(char* const envp[]) {
  size_t n = 0;
  while (envp != nullptr && envp[n] != nullptr) ++n;
  return n;
}

void ReportHeapExhausted(size_t size) {
  static bool reported = false;
  if (HeapLimit() == 0 || reported) return;
  reported = true;
  Say("heap exhausted (allocation of %zu bytes failed; SCONE_HEAP=%llu bytes), raise SCONE_HEAP",
      size, static_cast<unsigned long long>(HeapLimit()));
}

// fexecve of a protected descriptor: the kernel and the exec policy look at the file behind it.
void NameHostFileForFexecve(int fd) {
  if (ShieldedFiles* files = ShieldedFiles::Instance(); files != nullptr) files->NameHostFileOf(fd);
}

}  // namespace

char* const* cove::runtime::EnvironmentForExec(char* const envp[]) {
  // Until the exec: kept per thread and reused by the thread's next exec (execvp tries each
  // PATH directory in turn).
  static thread_local std::string inherited_storage;
  static thread_local std::string preload_storage;
  static thread_local std::vector<char*> patched;
  const char* inherited = InheritedEntry(inherited_storage);
  patched.resize(PatchedCapacity(CountEntries(envp)));
  return PatchEnvironment(envp, patched.data(), preload_storage, inherited);
}

COVE_EXPORT int execve(const char* path, char* const argv[], char* const envp[]) {
  if (char* const* helper = ProtectedExecArgv(AT_FDCWD, path, argv); helper != nullptr) {
    path = helper[0];  // a protected file: through `cove exec-protected`
    argv = helper;
  }
  if (long refused = RefuseUnshieldedExec(AT_FDCWD, path, 0, argv, envp); refused != 0) {
    return static_cast<int>(ToLibcResult(refused));
  }
  CommitBeforeExec();
  PerformDeferredTraceme();
  long r = DirectSyscall(SYS_execve, path, argv, EnvironmentForExec(envp));
  CommitFlusher::Resume();  // the exec failed: this program goes on
  return static_cast<int>(ToLibcResult(r));
}

COVE_EXPORT int execveat(int dirfd, const char* path, char* const argv[], char* const envp[],
                         int flags) {
  if ((flags & AT_EMPTY_PATH) == 0 || path[0] != '\0') {
    if (char* const* helper = ProtectedExecArgv(dirfd, path, argv); helper != nullptr) {
      dirfd = AT_FDCWD;  // a protected file: through `cove exec-protected`
      path = helper[0];
      argv = helper;
      flags = 0;
    }
  }
  if ((flags & AT_EMPTY_PATH) != 0 && path[0] == '\0') NameHostFileForFexecve(dirfd);
  if (long refused = RefuseUnshieldedExec(dirfd, path, flags, argv, envp); refused != 0) {
    return static_cast<int>(ToLibcResult(refused));
  }
  CommitBeforeExec();
  PerformDeferredTraceme();
  long r = DirectSyscall(SYS_execveat, dirfd, path, argv, EnvironmentForExec(envp), flags);
  CommitFlusher::Resume();  // the exec failed: this program goes on
  return static_cast<int>(ToLibcResult(r));
}

COVE_EXPORT int fexecve(int fd, char* const argv[], char* const envp[]) {
  return execveat(fd, "", argv, envp, AT_EMPTY_PATH);
}

// The other exec functions: glibc's issue execve inside libc, which reached the kernel
// through the syscall trap (a SIGSYS per exec, and gdb's traced vfork child stopped on that
// signal for good). These end in the execve above. The PATH search is glibc's (execvpe(3)).

namespace {

// execve of `path`, and for a file the kernel cannot execute (ENOEXEC: a script without #!)
// the shell on it, as glibc's exec*p do.
int ExecOrShell(const char* path, char* const argv[], char* const envp[]) {
  execve(path, argv, envp);
  if (errno != ENOEXEC) return -1;
  size_t count = 0;  // argv[0] gives way to "/bin/sh PATH"
  while (argv != nullptr && argv[count] != nullptr) ++count;
  size_t rest = count > 1 ? count - 1 : 0;
  auto** shell = static_cast<char**>(alloca((rest + 3) * sizeof(char*)));
  shell[0] = const_cast<char*>("/bin/sh");
  shell[1] = const_cast<char*>(path);
  for (size_t i = 0; i < rest; ++i) shell[2 + i] = argv[1 + i];
  shell[2 + rest] = nullptr;
  execve(shell[0], shell, envp);
  return -1;
}

// Runs `exec(argv, rest)` with the argv of an execl-style call: `first` and the variadic
// arguments up to the terminating null, collected on the stack (an exec may run in a vfork
// child, where nothing may be allocated); `rest` is left after that null (execle's envp).
template <typename Exec>
int WithListArguments(const char* first, va_list rest, Exec exec) {
  size_t count = 0;
  if (first != nullptr) {
    va_list counting;
    va_copy(counting, rest);
    for (count = 1; va_arg(counting, const char*) != nullptr; ++count) {
    }
    va_end(counting);
  }
  auto** argv = static_cast<char**>(alloca((count + 1) * sizeof(char*)));
  if (count > 0) argv[0] = const_cast<char*>(first);
  for (size_t i = 1; i < count; ++i) argv[i] = va_arg(rest, char*);
  if (count > 0) (void)va_arg(rest, char*);  // the terminating null
  argv[count] = nullptr;
  return exec(argv, rest);
}

}  // namespace

COVE_EXPORT int execv(const char* path, char* const argv[]) {
  return execve(path, argv, environ);
}

COVE_EXPORT int execvpe(const char* file, char* const argv[], char* const envp[]) {
  if (file[0] == '\0') {
    errno = ENOENT;
    return -1;
  }
  if (std::strchr(file, '/') != nullptr) return ExecOrShell(file, argv, envp);
  const char* search = getenv("PATH");  // NOLINT(concurrency-mt-unsafe): as glibc's execvp
  if (search == nullptr) search = "/bin:/usr/bin";
  size_t name_length = std::strlen(file);
  if (name_length > NAME_MAX) {
    errno = ENAMETOOLONG;
    return -1;
  }
  bool denied = false;  // some candidate answered EACCES: the answer if none runs
  int last = ENOENT;
  char candidate[PATH_MAX];
  for (const char* dir = search;; ++dir) {
    const char* end = strchrnul(dir, ':');
    size_t dir_length = static_cast<size_t>(end - dir);
    if (dir_length + 1 + name_length < sizeof(candidate)) {
      // An empty element is the current directory, as in glibc.
      size_t at = 0;
      if (dir_length != 0) {
        std::memcpy(candidate, dir, dir_length);
        candidate[dir_length] = '/';
        at = dir_length + 1;
      }
      std::memcpy(candidate + at, file, name_length + 1);
      ExecOrShell(candidate, argv, envp);
      switch (errno) {
        case EACCES:
          denied = true;
          [[fallthrough]];
        case ENOENT:
        case ESTALE:
        case ENOTDIR:
        case ENODEV:
        case ETIMEDOUT:
          last = errno;
          break;
        default:
          return -1;  // found, but it could not run: that error
      }
    }
    if (*end == '\0') break;
    dir = end;
  }
  errno = denied ? EACCES : last;
  return -1;
}

COVE_EXPORT int execvp(const char* file, char* const argv[]) {
  return execvpe(file, argv, environ);
}

COVE_EXPORT int execl(const char* path, const char* arg, ...) {
  va_list args;
  va_start(args, arg);
  int result = WithListArguments(arg, args,
                                 [&](char** argv, va_list) { return execve(path, argv, environ); });
  va_end(args);
  return result;
}

COVE_EXPORT int execlp(const char* file, const char* arg, ...) {
  va_list args;
  va_start(args, arg);
  int result = WithListArguments(
      arg, args, [&](char** argv, va_list) { return execvpe(file, argv, environ); });
  va_end(args);
  return result;
}

COVE_EXPORT int execle(const char* path, const char* arg, ...) {
  va_list args;
  va_start(args, arg);
  int result = WithListArguments(arg, args, [&](char** argv, va_list rest) {
    return execve(path, argv, va_arg(rest, char* const*));
  });
  va_end(args);
  return result;
}

COVE_EXPORT int posix_spawn(pid_t* pid, const char* path, const posix_spawn_file_actions_t* actions,
                            const posix_spawnattr_t* attr, char* const argv[], char* const envp[]) {
  using SpawnFn = int (*)(pid_t*, const char*, const posix_spawn_file_actions_t*,
                          const posix_spawnattr_t*, char* const[], char* const[]);
  static SpawnFn real = NextSymbol<SpawnFn>("posix_spawn");
  // (The child's execve is checked again through the syscall trap; this covers a process
  // without it.)
  if (long refused = RefuseUnshieldedExec(AT_FDCWD, path, 0, argv, envp); refused != 0) {
    return static_cast<int>(-refused);
  }
  CommitBeforeChild();
  char** patched = static_cast<char**>(alloca(PatchedCapacity(CountEntries(envp)) * sizeof(char*)));
  std::string preload;
  return real(pid, path, actions, attr, argv, PatchEnvironment(envp, patched, preload));
}

COVE_EXPORT int posix_spawnp(pid_t* pid, const char* file,
                             const posix_spawn_file_actions_t* actions,
                             const posix_spawnattr_t* attr, char* const argv[],
                             char* const envp[]) {
  using SpawnFn = int (*)(pid_t*, const char*, const posix_spawn_file_actions_t*,
                          const posix_spawnattr_t*, char* const[], char* const[]);
  static SpawnFn real = NextSymbol<SpawnFn>("posix_spawnp");
  if (long refused = RefuseUnshieldedSpawnp(file, argv, envp); refused != 0) {
    return static_cast<int>(-refused);
  }
  CommitBeforeChild();
  char** patched = static_cast<char**>(alloca(PatchedCapacity(CountEntries(envp)) * sizeof(char*)));
  std::string preload;
  return real(pid, file, actions, attr, argv, PatchEnvironment(envp, patched, preload));
}

COVE_EXPORT int system(const char* command) {
  using SystemFn = int (*)(const char*);
  static SystemFn real = NextSymbol<SystemFn>("system");
  CommitBeforeChild();  // the child inherits environ, whose tag entry is kept current
  return real(command);
}

// The message dlerror() returns after a dlopen this runtime refused (per thread, like dlerror).
thread_local char t_dlopen_refusal[512];
thread_local bool t_dlopen_refused = false;

COVE_EXPORT char* dlerror() {
  using DlerrorFn = char* (*)();
  static DlerrorFn real = NextSymbol<DlerrorFn>("dlerror");
  if (t_dlopen_refused) {
    t_dlopen_refused = false;
    return t_dlopen_refusal;
  }
  return real();
}

namespace {

// Ends a dlopen or dlmopen refused with t_dlopen_refusal, which dlerror() returns and the log
// shows: programs print dlerror(), so the refusal must explain itself there.
void* RefuseLoad() {
  t_dlopen_refused = true;
  Log(kLogDenied, "%s", t_dlopen_refusal);
  errno = EPERM;
  return nullptr;
}

// Whether dlopen's `filename` names a file of a protected region, its absolute path in *abs. A
// name without a slash is left to the loader's search, as before this runtime.
bool IsProtectedLibrary(ShieldedFiles* files, const char* filename, std::string* abs) {
  return files != nullptr && strchr(filename, '/') != nullptr &&
         files->Resolve(AT_FDCWD, filename, abs) && files->IsProtectedPath(*abs);
}

// Patches the system-call instructions of what a dlopen loaded (syscall_trap.h), and ends the
// loading thread's TrapLoadingThread. A library whose code cannot be checked is unloaded again
// and refused: its raw syscalls would bypass the shield.
void* CoverLoadedCode(const char* filename, void* handle, bool trapped) {
  if (handle == nullptr) {
    cove::runtime::UntrapLoadingThread(trapped);
    return nullptr;
  }
  cove::Status covered = cove::runtime::CoverNewlyLoadedCode();
  cove::runtime::UntrapLoadingThread(trapped);
  if (covered.ok()) return handle;
  dlclose(handle);
  snprintf(t_dlopen_refusal, sizeof(t_dlopen_refusal),
           "cove: dlopen of %s refused: %s (COVE_SYSCALL_TRAP=kernel traps its system calls "
           "instead)",
           filename, covered.ToString().c_str());
  return RefuseLoad();
}

}  // namespace

COVE_EXPORT void* dlopen(const char* filename, int flags) {
  using DlopenFn = void* (*)(const char*, int);
  static DlopenFn real = NextSymbol<DlopenFn>("dlopen");
  ShieldedFiles* files = ShieldedFiles::Instance();
  if (filename == nullptr || !RuntimeStarted() || (flags & RTLD_NOLOAD)) {
    return real(filename, flags);
  }
  DlopenPolicy policy = CurrentDlopenPolicy();
  std::string abs;
  bool is_protected = IsProtectedLibrary(files, filename, &abs);
  if (policy == DlopenPolicy::kNone || (policy == DlopenPolicy::kProtected && !is_protected)) {
    snprintf(t_dlopen_refusal, sizeof(t_dlopen_refusal),
             "cove: dlopen of %s refused by SCONE_ALLOW_DLOPEN=%d (%s)", filename,
             static_cast<int>(policy),
             policy == DlopenPolicy::kNone
                 ? "no library may be loaded after start; 1 allows libraries in protected "
                   "regions, 2 any library"
                 : "only libraries in authenticated or encrypted regions; 2 allows any library");
    return RefuseLoad();
  }
  if (!is_protected) {
    bool trapped = cove::runtime::TrapLoadingThread();
    return CoverLoadedCode(filename, real(filename, flags), trapped);
  }
  // The loader reads the file itself: give it the verified plaintext in memory.
  long memfd = files->DecryptToMemfd(abs);
  if (memfd <= 0) {
    Log(kLogError, "dlopen %s: cannot read the protected library (%s)", abs.c_str(),
        strerror(memfd < 0 ? static_cast<int>(-memfd) : EIO));
    errno = memfd < 0 ? static_cast<int>(-memfd) : EIO;
    return nullptr;
  }
  char proc_path[40];
  snprintf(proc_path, sizeof(proc_path), "/proc/self/fd/%ld", memfd);
  bool trapped = cove::runtime::TrapLoadingThread();
  void* handle = real(proc_path, flags);
  CloseDescriptor(memfd);
  Log(kLogDebug, "dlopen %s: loaded from its verified plaintext in memory", abs.c_str());
  return CoverLoadedCode(filename, handle, trapped);
}

// dlmopen loads into a new namespace, with its own copy of libc: the same policy and patching
// as dlopen. A protected library is refused here (only dlopen decrypts into memory).
COVE_EXPORT void* dlmopen(Lmid_t namespace_id, const char* filename, int flags) {
  using DlmopenFn = void* (*)(Lmid_t, const char*, int);
  static DlmopenFn real = NextSymbol<DlmopenFn>("dlmopen");
  ShieldedFiles* files = ShieldedFiles::Instance();
  if (filename == nullptr || !RuntimeStarted() || (flags & RTLD_NOLOAD)) {
    return real(namespace_id, filename, flags);
  }
  DlopenPolicy policy = CurrentDlopenPolicy();
  std::string abs;
  bool is_protected = IsProtectedLibrary(files, filename, &abs);
  // A new namespace has a C library of its own, which dl_iterate_phdr does not show to the
  // patching: with patched sites its system calls would bypass the shield.
  bool unseen = namespace_id != LM_ID_BASE && cove::runtime::SyscallTrapPatchesSites();
  if (policy != DlopenPolicy::kAny || is_protected || unseen) {
    snprintf(t_dlopen_refusal, sizeof(t_dlopen_refusal), "cove: dlmopen of %s refused (%s)",
             filename,
             is_protected ? "a library in a protected region is loaded with dlopen only"
             : unseen     ? "a new namespace's own C library would escape the patched syscall "
                            "trap; COVE_SYSCALL_TRAP=kernel traps it"
                          : "a new namespace needs SCONE_ALLOW_DLOPEN=2");
    return RefuseLoad();
  }
  bool trapped = cove::runtime::TrapLoadingThread();
  return CoverLoadedCode(filename, real(namespace_id, filename, flags), trapped);
}

// dlclose: what it unloaded is forgotten by the patching, so that a library loaded again at the
// same address is checked anew.
COVE_EXPORT int dlclose(void* handle) {
  using DlcloseFn = int (*)(void*);
  static DlcloseFn real = NextSymbol<DlcloseFn>("dlclose");
  int result = real(handle);
  cove::runtime::ForgetUnloadedCode();
  return result;
}

// ---- setuid and friends: the real call, then a word when the new user cannot commit ----
namespace {

// Calls the next definition of `name`, then, when it succeeded, checks the new user's access.
template <typename... Ids>
int ChangeUser(const char* name, Ids... ids) {
  using Fn = int (*)(Ids...);
  Fn real = NextSymbol<Fn>(name);
  if (real == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  int r = real(ids...);
  if (r == 0) WarnIfUserCannotCommit(name);
  return r;
}

}  // namespace

COVE_EXPORT int setuid(uid_t uid) {
  return ChangeUser("setuid", uid);
}
COVE_EXPORT int seteuid(uid_t euid) {
  return ChangeUser("seteuid", euid);
}
COVE_EXPORT int setreuid(uid_t ruid, uid_t euid) {
  return ChangeUser("setreuid", ruid, euid);
}
COVE_EXPORT int setresuid(uid_t ruid, uid_t euid, uid_t suid) {
  return ChangeUser("setresuid", ruid, euid, suid);
}

// ---- SCONE_HEAP: the limit is RLIMIT_DATA (set at start); these only name the cause ----
// They forward to the allocator the program would have used without the runtime, and the
// runtime's own allocations (bound to these by -Bsymbolic) go there too: memory must reach the
// free() of the allocator it came from, and the runtime does not interpose free. That is the
// first definition in the lookup order when it is not this library's (an executable that
// defines malloc itself, such as one linked statically with tcmalloc), else the next one
// after this library (glibc's, or a jemalloc the program links: Debian's redis-server, which
// crashed before main when memory from glibc's malloc reached jemalloc's free). Resolved at
// the first call; dlsym does not allocate when it finds the symbol, and should it ever call
// back in, that nested call is served by glibc's allocator.
namespace {

using MallocFn = void* (*)(size_t);
using CallocFn = void* (*)(size_t, size_t);
using ReallocFn = void* (*)(void*, size_t);

// One function of the allocator: the program's definition (`first`) and the one after this
// library (`after`); they differ when the executable defines it.
template <typename Fn>
struct AllocatorFunction {
  std::atomic<Fn> first{nullptr};
  std::atomic<Fn> after{nullptr};
};
struct NextAllocator {
  AllocatorFunction<MallocFn> malloc;
  AllocatorFunction<CallocFn> calloc;
  AllocatorFunction<ReallocFn> realloc;
};
NextAllocator g_next_allocator;
thread_local bool t_resolving_allocator = false;
// Inside the executable's own allocator, called from here: when it forwards in turn (with
// RTLD_NEXT, as a wrapper does), it reaches this library again, which must then go on to the
// next definition instead of calling it back forever.
thread_local bool t_in_programs_allocator = false;

// The executable's own definition of `name`, or nullptr.
template <typename Fn>
Fn ExecutablesDefinition(const char* name, Fn ours) {
  // The program's lookup scope (the executable, then the preloaded libraries and its
  // dependencies). Not RTLD_DEFAULT: from this library, -Bsymbolic puts its own symbols first.
  static void* const program = dlopen(nullptr, RTLD_LAZY | RTLD_NOLOAD);
  void* first = program != nullptr ? dlsym(program, name) : nullptr;
  Dl_info found{};
  void* symbol_entry = nullptr;
  // A definition, and not an executable's PLT entry standing for the global malloc (an
  // undefined symbol with an address, which a non-PIE program that takes malloc's address
  // has: python3 does): calling that would come back here.
  if (first != nullptr && first != reinterpret_cast<void*>(ours) &&
      dladdr1(first, &found, &symbol_entry, RTLD_DL_SYMENT) != 0 && symbol_entry != nullptr &&
      static_cast<const ElfW(Sym)*>(symbol_entry)->st_shndx != SHN_UNDEF &&
      found.dli_saddr == first) {
    return reinterpret_cast<Fn>(first);
  }
  return nullptr;
}

template <typename Fn>
void Resolve(AllocatorFunction<Fn>& function, const char* name, Fn ours, Fn glibc) {
  Fn next = NextSymbol<Fn>(name);
  Fn after = next != nullptr ? next : glibc;
  Fn first = ExecutablesDefinition(name, ours);
  // Threads that resolve at the same time store the same values; `after` before `first`,
  // which the callers test.
  function.after.store(after, std::memory_order_release);
  function.first.store(first != nullptr ? first : after, std::memory_order_release);
}

// False while this thread is inside dlsym resolving the allocator (the caller then uses
// glibc's own functions).
[[gnu::noinline]] bool ResolveNextAllocator() {
  if (t_resolving_allocator) return false;
  t_resolving_allocator = true;
  Resolve<MallocFn>(g_next_allocator.malloc, "malloc", &malloc, __libc_malloc);
  Resolve<CallocFn>(g_next_allocator.calloc, "calloc", &calloc, __libc_calloc);
  Resolve<ReallocFn>(g_next_allocator.realloc, "realloc", &realloc, __libc_realloc);
  t_resolving_allocator = false;
  return true;
}

// Calls the allocator function the program would have used (see above).
template <typename Fn, typename... Args>
void* Forward(AllocatorFunction<Fn>& function, Fn glibc, Args... args) {
  Fn first = function.first.load(std::memory_order_acquire);
  if (first == nullptr) [[unlikely]] {
    if (!ResolveNextAllocator()) return glibc(args...);
    first = function.first.load(std::memory_order_acquire);
  }
  Fn after = function.after.load(std::memory_order_acquire);
  if (first == after) [[likely]] {
    return first(args...);
  }
  if (t_in_programs_allocator) return after(args...);
  t_in_programs_allocator = true;
  void* p = first(args...);
  t_in_programs_allocator = false;
  return p;
}

}  // namespace

COVE_EXPORT void* malloc(size_t size) {
  void* p = Forward(g_next_allocator.malloc, __libc_malloc, size);
  if (p == nullptr && size != 0) ReportHeapExhausted(size);
  return p;
}
COVE_EXPORT void* calloc(size_t count, size_t size) {
  void* p = Forward(g_next_allocator.calloc, __libc_calloc, count, size);
  if (p == nullptr && count != 0 && size != 0) ReportHeapExhausted(count * size);
  return p;
}
COVE_EXPORT void* realloc(void* ptr, size_t size) {
  void* p = Forward(g_next_allocator.realloc, __libc_realloc, ptr, size);
  if (p == nullptr && size != 0) ReportHeapExhausted(size);
  return p;
}
