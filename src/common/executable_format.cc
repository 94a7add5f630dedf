// ClassifyExecutable: the ELF header, program headers and (for the loader) dynamic section
// (elf(5)), or a `#!` line as the kernel's binfmt_script parses it; RunsInSecureMode: the rule
// of the kernel's commoncap (cap_bprm_creds_from_file) for AT_SECURE.
#include "common/executable_format.h"

#include <elf.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstring>

namespace cove {
namespace {

#if defined(__x86_64__)
constexpr uint16_t kThisMachine = EM_X86_64;
#elif defined(__aarch64__)
constexpr uint16_t kThisMachine = EM_AARCH64;
#else
#error "unsupported architecture"
#endif

// A PT_LOAD segment: where a virtual address lies in the file.
struct LoadSegment {
  uint64_t vaddr = 0, offset = 0, filesz = 0;
};

// Whether the ELF's dynamic section names it "ld-linux*" or "ld64.so*" (DT_SONAME): the dynamic
// loader itself, which has no PT_INTERP but runs the program it is given with LD_PRELOAD
// honoured (`/lib64/ld-linux-x86-64.so.2 PROGRAM`, or a copy of it bundled with an application).
bool IsDynamicLoader(const ExecutableFileOps& ops, int fd, const Elf64_Phdr& dynamic,
                     const LoadSegment* loads, size_t load_count) {
  constexpr uint64_t kMaxEntries = 512;
  uint64_t strtab = 0, soname = 0;
  bool has_strtab = false, has_soname = false;
  uint64_t entries = dynamic.p_filesz / sizeof(Elf64_Dyn);
  for (uint64_t i = 0; i < entries && i < kMaxEntries; ++i) {
    Elf64_Dyn entry;
    if (ops.read_at(fd, dynamic.p_offset + i * sizeof(entry), &entry, sizeof(entry)) !=
        static_cast<long>(sizeof(entry))) {
      return false;
    }
    if (entry.d_tag == DT_NULL) break;
    if (entry.d_tag == DT_STRTAB) {
      strtab = entry.d_un.d_ptr;
      has_strtab = true;
    } else if (entry.d_tag == DT_SONAME) {
      soname = entry.d_un.d_val;
      has_soname = true;
    }
  }
  if (!has_strtab || !has_soname) return false;
  for (size_t i = 0; i < load_count; ++i) {  // DT_STRTAB is an address: its file offset
    const LoadSegment& load = loads[i];
    if (strtab < load.vaddr || strtab - load.vaddr >= load.filesz) continue;
    char name[16] = {};
    long got =
        ops.read_at(fd, load.offset + (strtab - load.vaddr) + soname, name, sizeof(name) - 1);
    if (got <= 0) return false;
    return std::strncmp(name, "ld-linux", 8) == 0 || std::strncmp(name, "ld64.so", 7) == 0;
  }
  return false;
}

// The program headers, one at a time: dynamic when one is PT_INTERP, the loader when the file
// is the dynamic loader. Unreadable headers: kUnknown, the kernel will refuse the file.
ExecutableKind ClassifyElf64(const Elf64_Ehdr& header, const ExecutableFileOps& ops, int fd) {
  if (header.e_type != ET_EXEC && header.e_type != ET_DYN) return ExecutableKind::kUnknown;
  // The kernel refuses program headers beyond 64 KiB (load_elf_phdrs).
  if (header.e_phentsize < sizeof(Elf64_Phdr) || header.e_phnum == 0 ||
      uint64_t{header.e_phnum} * header.e_phentsize > 65536) {
    return ExecutableKind::kUnknown;
  }
  constexpr size_t kMaxLoads = 16;
  LoadSegment loads[kMaxLoads];
  size_t load_count = 0;
  Elf64_Phdr dynamic{};
  bool has_dynamic = false;
  for (size_t i = 0; i < header.e_phnum; ++i) {
    Elf64_Phdr phdr;
    uint64_t offset = header.e_phoff + i * uint64_t{header.e_phentsize};
    if (ops.read_at(fd, offset, &phdr, sizeof(phdr)) != static_cast<long>(sizeof(phdr))) {
      return ExecutableKind::kUnknown;
    }
    if (phdr.p_type == PT_INTERP) return ExecutableKind::kDynamic;
    if (phdr.p_type == PT_LOAD && load_count < kMaxLoads) {
      loads[load_count++] = {phdr.p_vaddr, phdr.p_offset, phdr.p_filesz};
    } else if (phdr.p_type == PT_DYNAMIC) {
      dynamic = phdr;
      has_dynamic = true;
    }
  }
  if (has_dynamic && IsDynamicLoader(ops, fd, dynamic, loads, load_count)) {
    return ExecutableKind::kLoader;
  }
  return ExecutableKind::kStatic;
}

bool IsShebangSpace(char c) {
  return c == ' ' || c == '\t';
}

}  // namespace

ExecutableInfo ClassifyExecutable(const ExecutableFileOps& ops, int fd) {
  ExecutableInfo info;
  char head[kMaxShebangLine];
  long got = ops.read_at(fd, 0, head, sizeof(head));
  if (got < 0) return info;
  size_t length = static_cast<size_t>(got);
  if (length >= 2 && head[0] == '#' && head[1] == '!') {
    size_t i = 2;
    while (i < length && IsShebangSpace(head[i])) ++i;
    size_t start = i;
    while (i < length && !IsShebangSpace(head[i]) && head[i] != '\n' && head[i] != '\0') ++i;
    // An interpreter name that runs past the bytes the kernel reads is refused by it (ENOEXEC).
    bool cut = i == length && length == sizeof(head);
    if (i == start || cut || i - start >= sizeof(info.interpreter)) return info;
    std::memcpy(info.interpreter, head + start, i - start);
    info.interpreter[i - start] = '\0';
    // The rest of the line, blanks around it dropped, is one optional argument (binfmt_script).
    while (i < length && IsShebangSpace(head[i])) ++i;
    size_t arg_start = i;
    while (i < length && head[i] != '\n' && head[i] != '\0') ++i;
    size_t arg_end = i;
    while (arg_end > arg_start && IsShebangSpace(head[arg_end - 1])) --arg_end;
    std::memcpy(info.argument, head + arg_start, arg_end - arg_start);
    info.argument[arg_end - arg_start] = '\0';
    info.kind = ExecutableKind::kScript;
    return info;
  }
  if (length < SELFMAG || std::memcmp(head, ELFMAG, SELFMAG) != 0) return info;
  if (length < EI_NIDENT) return info;
  if (head[EI_CLASS] != ELFCLASS64) {
    info.kind = ExecutableKind::kForeign;
    return info;
  }
  if (length < sizeof(Elf64_Ehdr)) return info;
  Elf64_Ehdr header;
  std::memcpy(&header, head, sizeof(header));
  if (header.e_machine != kThisMachine) {
    info.kind = ExecutableKind::kForeign;
    return info;
  }
  info.kind = ClassifyElf64(header, ops, fd);
  return info;
}

namespace {

// An exec's argument vector as the kernel passes it on through `#!` lines: a few leading
// entries (an interpreter, its optional argument, the script's name) before the rest of the
// original vector. No allocation: the entries point into the caller's storage.
class ArgvView {
 public:
  explicit ArgvView(char* const* argv) : rest_(argv) {}

  // Entry `i`, or nullptr past the end.
  const char* at(size_t i) const {
    if (i < prefix_count_) return prefix_[i];
    if (rest_ == nullptr) return nullptr;
    for (size_t k = 0; k < rest_skip_ + (i - prefix_count_); ++k) {
      if (rest_[k] == nullptr) return nullptr;
    }
    return rest_[rest_skip_ + (i - prefix_count_)];
  }

  // The view without its first `n` entries.
  ArgvView Dropped(size_t n) const {
    ArgvView view = *this;
    size_t from_prefix = n < prefix_count_ ? n : prefix_count_;
    for (size_t k = from_prefix; k < prefix_count_; ++k) view.prefix_[k - from_prefix] = prefix_[k];
    view.prefix_count_ = prefix_count_ - from_prefix;
    for (size_t k = 0; k < n - from_prefix && view.at(view.prefix_count_) != nullptr; ++k) {
      ++view.rest_skip_;
    }
    return view;
  }

  // What the kernel gives `interpreter` for a script exec'd as `filename` with this vector:
  // interpreter, its argument (if any), filename, then this vector without its first entry.
  // False when that does not fit (deeper than the kernel goes).
  bool ForScript(const char* interpreter, const char* argument, const char* filename,
                 ArgvView* out) const {
    ArgvView after = Dropped(1);
    size_t lead = argument[0] != '\0' ? 3 : 2;
    if (after.prefix_count_ + lead > kMaxPrefix) return false;
    *out = after;
    for (size_t k = after.prefix_count_; k > 0; --k)
      out->prefix_[k - 1 + lead] = after.prefix_[k - 1];
    out->prefix_[0] = interpreter;
    if (lead == 3) out->prefix_[1] = argument;
    out->prefix_[lead - 1] = filename;
    out->prefix_count_ = after.prefix_count_ + lead;
    return true;
  }

 private:
  static constexpr size_t kMaxPrefix = size_t{3} * (kMaxInterpreterDepth + 1);
  const char* prefix_[kMaxPrefix] = {};
  size_t prefix_count_ = 0;
  char* const* rest_ = nullptr;
  size_t rest_skip_ = 0;
};

// glibc 2.36's rtld (dl_main): options first; "--", an unknown option or one missing its
// value ends the loader with a usage error.
int LoaderProgramIndexIn(const ArgvView& argv) {
  if (argv.at(0) == nullptr) return -1;
  static constexpr const char* kWithValue[] = {
      "--library-path",         "--inhibit-rpath",    "--audit", "--preload", "--argv0",
      "--glibc-hwcaps-prepend", "--glibc-hwcaps-mask"};
  static constexpr const char* kRunsNothing[] = {
      "--list", "--verify", "--list-tunables", "--list-diagnostics", "--help", "--version"};
  int i = 1;
  for (const char* arg = argv.at(1); arg != nullptr && arg[0] == '-' && arg[1] == '-';
       arg = argv.at(static_cast<size_t>(i))) {
    for (const char* option : kRunsNothing) {
      if (std::strcmp(arg, option) == 0) return -1;
    }
    int step = 0;
    if (std::strcmp(arg, "--inhibit-cache") == 0) step = 1;
    for (const char* option : kWithValue) {
      if (std::strcmp(arg, option) == 0) step = 2;
    }
    if (step == 0 || (step == 2 && argv.at(static_cast<size_t>(i) + 1) == nullptr)) return -1;
    i += step;
  }
  return argv.at(static_cast<size_t>(i)) != nullptr ? i : -1;
}

}  // namespace

int LoaderProgramIndex(char* const argv[]) {
  return LoaderProgramIndexIn(ArgvView(argv));
}

ExecutableKind ResolveExecutable(const ExecutableFileOps& ops, long opened, const char* path,
                                 char* const argv[], char* const envp[], char* refused,
                                 size_t size) {
  bool tracing = false;  // ldd: the loader lists the libraries and runs nothing
  for (size_t i = 0; envp != nullptr && envp[i] != nullptr; ++i) {
    tracing = tracing || std::strncmp(envp[i], "LD_TRACE_LOADED_OBJECTS=", 24) == 0;
  }
  if (size > 0) refused[0] = '\0';
  auto name = [&](const char* file) {
    if (size == 0) return;
    size_t n = std::strlen(file);
    if (n >= size) n = size - 1;
    std::memcpy(refused, file, n);
    refused[n] = '\0';
  };
  // Each level's `#!` names stay here: the argument vectors built for later levels point to them.
  ExecutableInfo levels[kMaxInterpreterDepth + 1];
  ArgvView args(argv);
  const char* filename = path != nullptr ? path : "";
  bool executed = true;  // this file is exec'd by the kernel (not mapped by the loader)
  int scripts = 0;       // `#!` levels followed (the kernel's limit)
  int loaders = 0;       // loaders followed to their programs
  for (;;) {
    if (opened == -EACCES) return ExecutableKind::kUnreadable;
    if (opened < 0) return ExecutableKind::kUnknown;
    int current = static_cast<int>(opened);
    ExecutableInfo& info = levels[scripts];  // a loader's entry is overwritten by what it runs
    info = ClassifyExecutable(ops, current);
    // Set-ID bits and capabilities count for what the kernel execs, not for the loader's program.
    if ((info.kind == ExecutableKind::kDynamic || info.kind == ExecutableKind::kLoader) &&
        executed && ops.runs_in_secure_mode(current)) {
      info.kind = ExecutableKind::kSecure;
    }
    ops.close(current);
    const char* next = nullptr;
    if (info.kind == ExecutableKind::kScript) {
      if (scripts == kMaxInterpreterDepth) return ExecutableKind::kUnknown;  // the kernel's ELOOP
      if (!args.ForScript(info.interpreter, info.argument, filename, &args)) {
        return ExecutableKind::kUnknown;
      }
      next = info.interpreter;
      ++scripts;
      executed = true;
    } else if (info.kind == ExecutableKind::kLoader) {
      // The loader's program: the vector shifts to it (a loader may be asked to run a loader).
      int index = !tracing && ++loaders <= kMaxInterpreterDepth ? LoaderProgramIndexIn(args) : -1;
      if (index < 0) return ExecutableKind::kDynamic;  // runs nothing, or too deep to follow
      args = args.Dropped(static_cast<size_t>(index));
      next = args.at(0);
      // A name without a slash is looked up in ld.so.cache only: a system library.
      if (std::strchr(next, '/') == nullptr) return ExecutableKind::kDynamic;
      executed = false;
    } else {
      return info.kind;
    }
    filename = next;
    name(next);
    opened = ops.open(next);
  }
}

std::string FindProgramInPath(const char* name, const char* path_list,
                              bool (*is_executable_file)(const char* path)) {
  if (std::strchr(name, '/') != nullptr) return name;
  std::string dirs = path_list != nullptr ? path_list : "/bin:/usr/bin";
  for (size_t start = 0; start <= dirs.size();) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;  // "": the current directory
    if (is_executable_file(candidate.c_str())) return candidate;
    start = end + 1;
  }
  return "";
}

bool RunsInSecureModeVia(RawSyscallFn sys, int fd) {
  struct stat st {};
  struct statfs fs {};
  if (sys(SYS_fstat, fd, reinterpret_cast<long>(&st), 0, 0, 0, 0) != 0) return false;
  bool nosuid = sys(SYS_fstatfs, fd, reinterpret_cast<long>(&fs), 0, 0, 0, 0) == 0 &&
                (fs.f_flags & ST_NOSUID) != 0;
  bool caps = sys(SYS_fgetxattr, fd, reinterpret_cast<long>("security.capability"), 0, 0, 0, 0) > 0;
  uid_t ruid = 0, euid = 0, suid = 0;
  gid_t rgid = 0, egid = 0, sgid = 0;
  sys(SYS_getresuid, reinterpret_cast<long>(&ruid), reinterpret_cast<long>(&euid),
      reinterpret_cast<long>(&suid), 0, 0, 0);
  sys(SYS_getresgid, reinterpret_cast<long>(&rgid), reinterpret_cast<long>(&egid),
      reinterpret_cast<long>(&sgid), 0, 0, 0);
  ExecCredentials caller{ruid, euid, rgid, egid,
                         sys(SYS_prctl, PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0, 0) == 1};
  return RunsInSecureMode(st.st_mode, st.st_uid, st.st_gid, nosuid, caps, caller);
}

bool RunsInSecureMode(uint32_t mode, uint32_t owner, uint32_t group, bool nosuid_mount,
                      bool file_capabilities, const ExecCredentials& caller) {
  // The set-ID bits count unless the mount or no_new_privs disables them; file capabilities
  // unless the mount does (under no_new_privs they are not granted, but the exec is still
  // secure: the kernel keeps the file's effective bit in its rule).
  bool ids_honoured = !nosuid_mount && !caller.no_new_privs;
  uint32_t new_euid = caller.euid;
  uint32_t new_egid = caller.egid;
  if (ids_honoured && (mode & S_ISUID) != 0) new_euid = owner;
  if (ids_honoured && (mode & S_ISGID) != 0 && (mode & S_IXGRP) != 0) new_egid = group;
  if (new_euid != caller.ruid || new_egid != caller.rgid) return true;
  return !nosuid_mount && file_capabilities && caller.ruid != 0;
}

const char* DescribeRefusedExecutable(ExecutableKind kind) {
  switch (kind) {
    case ExecutableKind::kStatic:
      return "statically linked (no ELF interpreter): the cove runtime cannot be loaded into it, "
             "so it would run unshielded (link it dynamically; Go: build with cgo)";
    case ExecutableKind::kForeign:
      return "built for another ELF class or machine (a 32-bit program?): the dynamic loader "
             "would not load the 64-bit cove runtime into it, so it would run unshielded";
    case ExecutableKind::kSecure:
      return "would run in secure-execution mode (a set-user-ID or set-group-ID program, file "
             "capabilities, or a caller whose effective user or group is not its real one), where "
             "the dynamic loader ignores the cove runtime in LD_PRELOAD, so it would run "
             "unshielded";
    case ExecutableKind::kUnreadable:
      return "not readable, so cove cannot check that its runtime can be loaded into it (it "
             "would run unshielded if it cannot): make it readable";
    default:
      return "not refused";
  }
}

}  // namespace cove
