// Children stay shielded (exec_policy.h): the configuration recorded at start, and the check of
// an exec's program, made with raw syscalls and stack buffers only (it runs in vfork children,
// on their parent's memory, and in the SIGSYS handler for trapped execve calls).
#include "runtime/exec_policy.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/executable_format.h"
#include "runtime/direct_syscall.h"
#include "runtime/raw_syscall.h"
#include "runtime/runtime_log.h"
#include "runtime/shielded_files.h"

extern char** environ;

namespace cove::runtime {
namespace {

constexpr char kPreloadName[] = "LD_PRELOAD=";

bool g_active = false;
// Written once at start, before any thread or child of the program exists; read-only after.
std::vector<std::string>* g_carried = nullptr;
std::string* g_runtime_path = nullptr;   // this library, as the loader names it
std::string* g_preload_entry = nullptr;  // "LD_PRELOAD=<this library>"
std::string* g_exec_helper = nullptr;    // COVE_EXEC_HELPER: `cove`, for ProtectedExecArgv

bool StartsWith(const char* s, const char* prefix) {
  return std::strncmp(s, prefix, std::strlen(prefix)) == 0;
}

// Configuration entries a child gets back when its environment lacks them. Not
// COVE_INHERITED_FDS: it describes one exec's descriptors (EnvironmentForExec sets it).
bool IsCarried(const char* entry) {
  return (StartsWith(entry, "SCONE_") || StartsWith(entry, "COVE_")) &&
         !StartsWith(entry, "COVE_INHERITED_FDS=") && std::strchr(entry, '=') != nullptr;
}

constexpr const ExecutableFileOps& kRawOps = kSyscallExecutableOps<&cove_raw_syscall>;

// Writes `value` in decimal at `out` (room for 11 bytes), NUL-terminated; no allocation.
void FormatDecimal(unsigned value, char* out) {
  char digits[11];
  size_t n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  for (size_t i = 0; i < n; ++i) out[i] = digits[n - 1 - i];
  out[n] = '\0';
}

// Whether the colon- or space-separated list `list` names `path`.
bool ListNames(const char* list, const std::string& path) {
  for (const char* p = list; *p != '\0';) {
    size_t n = std::strcspn(p, ": ");
    if (n == path.size() && std::strncmp(p, path.data(), n) == 0) return true;
    p += n;
    if (*p != '\0') ++p;
  }
  return false;
}

}  // namespace

void CaptureExecConfiguration() {
  g_carried = new std::vector<std::string>();
  constexpr char kHelperName[] = "COVE_EXEC_HELPER=";
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (IsCarried(*e)) g_carried->emplace_back(*e);
    // From environ, not getenv: bash's own getenv, which the program exports, answers from
    // its shell variables and did not know this one yet.
    if (StartsWith(*e, kHelperName) && (*e)[sizeof(kHelperName) - 1] == '/') {
      g_exec_helper = new std::string(*e + sizeof(kHelperName) - 1);
    }
  }
  Dl_info self{};
  if (dladdr(reinterpret_cast<void*>(&CaptureExecConfiguration), &self) != 0 &&
      self.dli_fname != nullptr && self.dli_fname[0] != '\0') {
    // A relative LD_PRELOAD entry was found from the start directory; children may start
    // elsewhere.
    char cwd[4096];
    if (self.dli_fname[0] == '/') {
      g_runtime_path = new std::string(self.dli_fname);
    } else if (getcwd(cwd, sizeof(cwd)) != nullptr) {
      g_runtime_path = new std::string(std::string(cwd) + "/" + self.dli_fname);
    }
  }
  if (g_runtime_path != nullptr) {
    g_preload_entry = new std::string(kPreloadName + *g_runtime_path);
  }
  g_active = true;
}

bool ExecPolicyActive() {
  return g_active;
}

long RefuseUnshieldedExec(int dirfd, const char* path, int flags, char* const argv[],
                          char* const envp[]) {
  if (!g_active || path == nullptr) return 0;
  long opened = -EBADF;
  bool fexecve = (flags & AT_EMPTY_PATH) != 0 && path[0] == '\0';
  char fd_name[32] = "/dev/fd/";  // the name the kernel gives a program exec'd by descriptor
  if (fexecve) {
    FormatDecimal(static_cast<unsigned>(dirfd), fd_name + std::strlen(fd_name));
    char byte = 0;
    if (DirectSyscall(SYS_pread64, dirfd, &byte, 1, 0) >= 0) {
      opened = DirectSyscall(SYS_fcntl, dirfd, F_DUPFD_CLOEXEC, 0);
    } else {  // an O_PATH descriptor: its /proc link reopens the file
      char link[32] = "/proc/self/fd/";
      FormatDecimal(static_cast<unsigned>(dirfd), link + std::strlen(link));
      opened = DirectSyscall(SYS_openat, AT_FDCWD, link, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    }
  } else {
    int nofollow = (flags & AT_SYMLINK_NOFOLLOW) != 0 ? O_NOFOLLOW : 0;
    opened = DirectSyscall(SYS_openat, dirfd, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | nofollow);
  }
  const char* name = fexecve ? fd_name : path;
  char through[kMaxShebangLine] = {};
  // (EACCES: executable but not readable, mode 0111, or a directory on the way not searchable,
  // when the exec fails with EACCES anyway; missing, a directory...: the kernel's to report.)
  ExecutableKind kind =
      ResolveExecutable(kRawOps, opened, name, argv, envp, through, sizeof(through));
  if (!RunsUnshielded(kind)) return 0;
  Say("exec %s%s%s%s: %s; refused (EACCES)", name, through[0] != '\0' ? " (through " : "", through,
      through[0] != '\0' ? ")" : "", DescribeRefusedExecutable(kind));
  return -EACCES;
}

char* const* ProtectedExecArgv(int dirfd, const char* path, char* const argv[]) {
  ShieldedFiles* files = ShieldedFiles::Instance();
  if (g_exec_helper == nullptr || files == nullptr || path == nullptr ||
      !files->NamesProtectedFile(dirfd, path)) {
    return nullptr;
  }
  static thread_local std::vector<std::string> storage;
  static thread_local std::vector<char*> args;
  storage = {*g_exec_helper, "exec-protected", "--", path};
  for (size_t i = 1; argv != nullptr && argv[0] != nullptr && argv[i] != nullptr; ++i) {
    storage.emplace_back(argv[i]);
  }
  args.clear();
  for (std::string& arg : storage) args.push_back(arg.data());
  args.push_back(nullptr);
  return args.data();
}

long RefuseUnshieldedSpawnp(const char* file, char* const argv[], char* const envp[]) {
  if (!g_active || file == nullptr || file[0] == '\0') return 0;
  // posix_spawnp searches PATH (of the caller's environment) as execvp does. (In the parent:
  // allocation is fine here.)
  // NOLINTNEXTLINE(concurrency-mt-unsafe): as glibc's posix_spawnp reads it
  std::string found = FindProgramInPath(file, getenv("PATH"), [](const char* candidate) {
    struct stat st {};
    return DirectSyscall(SYS_newfstatat, AT_FDCWD, candidate, &st, 0) == 0 && S_ISREG(st.st_mode) &&
           DirectSyscall(SYS_faccessat, AT_FDCWD, candidate, X_OK) == 0;
  });
  return found.empty() ? 0 : RefuseUnshieldedExec(AT_FDCWD, found.c_str(), 0, argv, envp);
}

size_t CarriedEnvCount() {
  return g_carried != nullptr ? g_carried->size() : 0;
}

const char* CarriedEnvEntry(size_t index) {
  return (*g_carried)[index].c_str();
}

bool IsPreloadEntry(const char* entry) {
  return StartsWith(entry, kPreloadName);
}

const char* PreloadEntryWithRuntime(const char* entry, std::string& storage) {
  if (g_runtime_path == nullptr) return entry;
  const char* list = entry + sizeof(kPreloadName) - 1;
  if (ListNames(list, *g_runtime_path)) return entry;
  storage = *g_preload_entry;
  if (list[0] != '\0') storage += std::string(":") + list;
  return storage.c_str();
}

const char* RuntimePreloadEntry() {
  return g_preload_entry != nullptr ? g_preload_entry->c_str() : nullptr;
}

}  // namespace cove::runtime
