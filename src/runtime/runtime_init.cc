// Start and end of a program under the runtime: the constructor (before main) reads the
// configuration, checks the platform, opens the fspf with its key and expected tag (a
// mismatch refuses the program before main, exit 126), sets heap/stack limits; the
// destructor flushes stdio and commits. TagPublisher publishes each new fspf tag.
#include "runtime/runtime_init.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "check/platform_check.h"
#include "common/crypto.h"
#include "common/hex.h"
#include "runtime/commit_flusher.h"
#include "runtime/direct_syscall.h"
#include "runtime/exec_policy.h"
#include "runtime/raw_syscall_env.h"
#include "runtime/runtime_log.h"
#include "runtime/shielded_files.h"
#include "runtime/syscall_dispatch.h"
#include "runtime/syscall_trap.h"

#ifndef COVE_VERSION
#define COVE_VERSION "0.0.0"
#endif

namespace cove::runtime {
namespace {

constexpr int kRefusalExitCode = 126;
// The exit status of a program whose last writes to protected files could not be committed
// (sysexits' EX_IOERR): a script must not take lost data for success.
constexpr int kLostCommitExitCode = 74;

bool g_started = false;
DlopenPolicy g_dlopen = DlopenPolicy::kNone;
uint64_t g_heap = 0;
bool g_sealed = false;
bool g_committed = false;
std::string* g_tag_file = nullptr;
// Set by fork's prepare handler (PrepareFork) in the forking thread until its parent or child
// handler: see ForkPrepared.
thread_local bool t_fork_prepared = false;
// "SCONE_FSPF_TAG=" + 32 hex digits: lives in environ (putenv), updated in place.
char g_tag_env[15 + 32 + 1] = "SCONE_FSPF_TAG=";

[[noreturn]] void Refuse(const std::string& why) {
  Say("refusing to start: %s", why.c_str());
  DirectSyscall(SYS_exit_group, kRefusalExitCode);
  __builtin_unreachable();
}

void SetTagEnv(const shield::FspfTag& tag) {
  std::string hex = HexEncode(tag);
  std::memcpy(g_tag_env + 15, hex.data(), 32);
}

// The lock file of commits to the fspf at `fspf_path` (TagPublisher, OpenVolumeOrRefuse).
std::string CommitLockPath(const std::string& fspf_path) {
  return fspf_path + ".cove-lock";
}

// Publishes the fspf tag after each commit (see docs/runtime.md, "Freshness"): before the new
// fspf becomes visible the tag file lists both tags (either state is legitimate after a
// crash), after it only the new one. Also serializes commits between processes and refuses a
// commit over an fspf another process changed since this one loaded it.
class TagPublisher final : public shield::FspfSaveObserver {
 public:
  TagPublisher(std::string fspf_path, std::string tag_file, bool sealed)
      : fspf_path_(std::move(fspf_path)), tag_file_(std::move(tag_file)), sealed_(sealed) {}

  Status LockCommits(const shield::FspfTag& current,
                     std::optional<shield::FspfTag>* newer) override {
    COVE_RETURN_IF_ERROR(TakeLock());
    held_for_commit_ = true;
    Status fresh = CheckFspfOnDisk(current, newer);
    if (fresh.ok() || newer->has_value()) return Status::Ok();  // the Volume takes it in
    UnlockCommits();
    return fresh;
  }

  void UnlockCommits() override {
    held_for_commit_ = false;
    held_for_merge_ = false;
    lock_fd_.Reset();
  }

  Status BeforeSave(const shield::FspfTag& current, const shield::FspfTag& next,
                    std::optional<shield::FspfTag>* newer) override {
    // Held since LockCommits (a file commit) or since this reported a newer fspf (the merge
    // that followed was made under it): the fspf on disk is `current`.
    if (!held_for_commit_ && !held_for_merge_) {
      COVE_RETURN_IF_ERROR(TakeLock());
      Status fresh = CheckFspfOnDisk(current, newer);
      if (!fresh.ok()) {
        // Kept for the merge of that newer fspf, so that no other commit comes in between
        // (the merge would find yet another version and fail).
        if (newer->has_value()) {
          held_for_merge_ = true;
        } else {
          UnlockCommits();
        }
        return fresh;
      }
    }
    if (sealed_ && !tag_file_.empty()) {
      std::string both = HexEncode(next) + "\n" + HexEncode(current) + "\n";
      Status written =
          WriteFileAtomically(RawSyscallEnvInstance(), tag_file_,
                              {reinterpret_cast<const uint8_t*>(both.data()), both.size()});
      if (!written.ok()) {
        UnlockCommits();
        return written;
      }
    }
    return Status::Ok();
  }

  void AfterSave(const shield::FspfTag& tag) override {
    if (sealed_) {
      SetTagEnv(tag);
      g_committed = true;
      if (!tag_file_.empty()) {
        std::string line = HexEncode(tag) + "\n";
        Status written =
            WriteFileAtomically(RawSyscallEnvInstance(), tag_file_,
                                {reinterpret_cast<const uint8_t*>(line.data()), line.size()});
        if (!written.ok()) Log(kLogError, "tag file: %s", written.ToString().c_str());
      }
      Log(kLogInfo, "fspf committed, tag %s", HexEncode(tag).c_str());
    }
    // A file commit keeps the lock until its journal is applied (UnlockCommits).
    if (!held_for_commit_) {
      held_for_merge_ = false;
      lock_fd_.Reset();
    }
  }

 private:
  // Opened per commit: a program (a shell) may close descriptors it did not open. Commits of
  // other processes are short: wait for them.
  Status TakeLock() {
    lock_fd_.Reset();
    auto locked = RawSyscallEnvInstance().LockFile(CommitLockPath(fspf_path_), /*wait=*/true);
    if (!locked.ok()) return locked.status().WithContext("commit");
    lock_fd_ = std::move(locked).value();
    return Status::Ok();
  }

  // With the lock held: fails when the fspf on disk is no longer `current`. A commit of another
  // process of this session is listed in the tag file: *newer names it, and the Volume merges
  // this process's changes into it. Anything else (an older fspf put back, a foreign one) is
  // refused.
  Status CheckFspfOnDisk(const shield::FspfTag& current, std::optional<shield::FspfTag>* newer) {
    if (!sealed_) return Status::Ok();
    // Unreadable is not "unchanged": saving then could overwrite another process's commit.
    shield::FspfTag on_disk{};
    COVE_RETURN_IF_ERROR(ReadFspfTagOnDisk(fspf_path_, &on_disk)
                             .WithContext("commit: refusing to save without checking"));
    if (on_disk == current) return Status::Ok();
    if (IsPublishedTag(tag_file_, on_disk)) {
      *newer = on_disk;
      Log(kLogInfo, "commit: another process committed (tag %s): merging into its fspf",
          HexEncode(on_disk).c_str());
      return FailedPrecondition("commit: " + fspf_path_ + " changed (tag " + HexEncode(on_disk) +
                                ", another process committed)");
    }
    return IoError("commit: " + fspf_path_ + " changed since this process loaded it (tag " +
                       HexEncode(on_disk) +
                       ", not a commit published in the tag file); refusing to overwrite it",
                   EBUSY);
  }

  std::string fspf_path_;
  std::string tag_file_;
  bool sealed_;
  bool held_for_commit_ = false;  // LockCommits took the lock for a file commit
  bool held_for_merge_ = false;   // BeforeSave kept it for the merge of a newer fspf
  UniqueFd lock_fd_;
};

Result<std::string> ReadSmallFile(const std::string& path) {
  COVE_ASSIGN_OR_RETURN(auto bytes, ReadWholeFile(RawSyscallEnvInstance(), path));
  return std::string(bytes.begin(), bytes.end());
}

std::unique_ptr<shield::Volume> OpenVolumeOrRefuse(RuntimeConfig& config) {
  // The tag file and the fspf are read as one snapshot: a commit of another process holds
  // FSPF.cove-lock exclusively from before it rewrites the tag file until after (TagPublisher),
  // and a start that read the tag file before such a commit and the fspf after it refused the
  // region as rolled back (8 programs started at once by `xargs -P8`).
  UniqueFd snapshot_lock;
  if (!config.tag_file.empty()) {
    auto locked = RawSyscallEnvInstance().LockFile(CommitLockPath(config.fspf_path),
                                                   /*wait=*/true, /*shared=*/true);
    if (locked.ok()) snapshot_lock = std::move(locked).value();
  }
  std::vector<std::optional<shield::FspfTag>> candidates;
  // The tag file, when there is one, is the newest statement: every process of the session
  // updates it after each commit (SCONE_FSPF_TAG may be older, e.g. a sibling committed).
  if (!config.tag_file.empty() && RawSyscallEnvInstance().Exists(config.tag_file)) {
    auto text = ReadSmallFile(config.tag_file);
    if (!text.ok()) Refuse("SCONE_FSPF_TAG_FILE: " + text.status().ToString());
    for (const auto& tag : ParseTagFile(*text)) candidates.push_back(tag);
    if (candidates.empty()) Refuse("SCONE_FSPF_TAG_FILE " + config.tag_file + ": no tag in it");
  } else if (config.fspf_tag) {
    candidates.push_back(config.fspf_tag);
  } else {
    candidates.push_back(std::nullopt);
  }
  Status last;
  for (const auto& tag : candidates) {
    shield::VolumeOptions options;
    options.fspf_path = config.fspf_path;
    options.key = config.fspf_key;
    options.expected_tag = tag;
    options.env = &RawSyscallEnvInstance();
    auto volume = shield::Volume::Open(std::move(options));
    if (volume.ok()) {
      if (!tag && (*volume)->sealed()) {
        Log(kLogWarning, "no SCONE_FSPF_TAG: the freshness of %s is not checked",
            config.fspf_path.c_str());
      }
      return std::move(volume).value();
    }
    last = volume.status();
  }
  Refuse(last.ToString());
}

// fork's prepare handler: commits and shares the offsets while no lock of the allocator is
// held (glibc's malloc and jemalloc take theirs after it, for the clone), then says so to the
// clone that follows.
void PrepareFork() {
  CommitBeforeChild();
  t_fork_prepared = true;
}

void ApplyLimits(const RuntimeConfig& config) {
  if (config.heap_bytes != 0) {
    // RLIMIT_DATA counts what is mapped already: the heap is on top of it.
    uint64_t in_use = 0;
    auto status = ReadSmallFile("/proc/self/status");
    if (status.ok()) {
      auto at = status->find("VmData:");
      if (at != std::string::npos)
        in_use = std::strtoull(status->c_str() + at + 7, nullptr, 10) << 10;
    }
    struct rlimit limit {};
    limit.rlim_cur = limit.rlim_max = in_use + config.heap_bytes;
    if (DirectSyscall(SYS_setrlimit, RLIMIT_DATA, &limit) < 0) {
      Log(kLogWarning, "SCONE_HEAP: cannot set RLIMIT_DATA");
    }
  }
  if (config.stack_bytes != 0) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, config.stack_bytes);
    if (pthread_setattr_default_np(&attr) != 0) {
      Refuse("SCONE_STACK: " + std::to_string(config.stack_bytes) + " is not a valid stack size");
    }
    pthread_attr_destroy(&attr);
  }
}

void ReadMuslConf(const RuntimeConfig& config, bool explicitly_set) {
  auto text = ReadSmallFile(config.musl_conf_path);
  if (!text.ok()) {
    if (explicitly_set) Refuse("SCONE_CONFIG: " + text.status().ToString());
    return;
  }
  auto conf = ParseMuslConf(*text, config.musl_conf_path);
  if (!conf.ok()) Refuse(conf.status().ToString());
  Log(kLogConfig, "configuration %s", DescribeMuslConf(*conf).c_str());
}

// COVE_INHERITED_FDS (process_interpose.cc), taken out of the environment: from environ and by
// hand, not with getenv and unsetenv, which bash exports as its own (they answer from its shell
// variables, which do not exist yet while the runtime starts). The string stays valid: it is
// the environment block's.
const char* TakeInheritedDescriptors() {
  constexpr char kName[] = "COVE_INHERITED_FDS=";
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    if (strncmp(*entry, kName, sizeof(kName) - 1) != 0) continue;
    const char* spec = *entry + sizeof(kName) - 1;
    for (char** rest = entry; *rest != nullptr; ++rest) rest[0] = rest[1];
    return spec;
  }
  return nullptr;
}

int OpenLogFile(const std::string& path) {
  long fd = MoveAboveRuntimeFloor(DirectSyscall(SYS_openat, AT_FDCWD, path.c_str(),
                                                O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (fd < 0) Refuse("SCONE_LOG_FILE " + path + ": " + strerror(static_cast<int>(-fd)));
  return static_cast<int>(fd);
}

// The runtime's private copy of libcrypto (static, hidden) is initialized before its first
// use with: no configuration file (a host openssl.cnf or the program's OPENSSL_CONF could make
// it load provider modules into the runtime), no atexit handler (the last commit runs in the
// runtime's destructor, which may come after atexit handlers), and no legacy name tables of
// every cipher and digest (the shield fetches its algorithms from the default provider by
// name; building those tables was about a third of the runtime's start-up time).
void InitCrypto() {
  OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_ATEXIT |
                          OPENSSL_INIT_NO_ADD_ALL_CIPHERS | OPENSSL_INIT_NO_ADD_ALL_DIGESTS,
                      nullptr);
}

__attribute__((constructor)) void StartRuntime() {
  InitCrypto();
  auto config = ParseRuntimeConfig([](const char* name) { return getenv(name); });
  if (!config.ok()) Refuse(config.status().ToString());
  int log_fd = config->log_file.empty() ? 2 : OpenLogFile(config->log_file);
  SetLogTarget(config->log_level, log_fd);
  // SCONE_MODE unset means simulation mode: a CPU that `cove check` rejects is refused here
  // with the same message, before the program runs.
  Status supported = config->mode == RunMode::kHardware ? check::CheckHardwareModeSupported()
                                                        : check::CheckSimulationModeSupported();
  if (!supported.ok()) Refuse(supported.ToString());
  const char* conf_env = getenv("SCONE_CONFIG");
  ReadMuslConf(*config, conf_env != nullptr && conf_env[0] != '\0');
  if (config->print_version) {
    Say("runtime %s (libcove-runtime.so), configuration:\n%s", COVE_VERSION,
        DescribeConfig(*config).c_str());
  }
  g_dlopen = config->dlopen;
  g_heap = config->heap_bytes;
  ApplyLimits(*config);
  if (!config->fspf_path.empty()) GrowDescriptorTable(ShieldedFiles::HighestDescriptorToReserve());
  if (!config->fspf_path.empty()) {
    std::unique_ptr<shield::Volume> volume = OpenVolumeOrRefuse(*config);
    g_sealed = volume->sealed();
    bool strict = config->strict || volume->fspf().strict();
    auto* files = new ShieldedFiles(*config, std::move(volume), strict);  // lives until exit
    if (!config->log_file.empty()) {
      std::string abs;
      if (files->Resolve(AT_FDCWD, config->log_file.c_str(), &abs) && files->IsProtectedPath(abs)) {
        Refuse("SCONE_LOG_FILE " + abs + " is inside a protected region (logs never go there)");
      }
    }
    g_tag_file = new std::string(config->tag_file);
    auto* publisher = new TagPublisher(config->fspf_path, config->tag_file, g_sealed);
    files->volume().SetSaveObserver(publisher);
    if (g_sealed) {
      SetTagEnv(files->volume().tag());
      putenv(g_tag_env);  // children inherit the current tag (updated in place)
    }
    ShieldedFiles::SetInstance(files);
    CaptureExecConfiguration();  // children stay shielded (exec_policy.h)
    if (const char* inherited = TakeInheritedDescriptors(); inherited != nullptr) {
      files->AdoptInherited(inherited);
    }
    // fork's prepare handlers run in the reverse order of these registrations, parent and
    // child handlers in this order: PrepareFork commits with no lock held; the flusher's stops
    // its rounds (which take the table lock); LockForFork then holds the table lock through
    // the clone; the DRBG's lock is taken last (a leaf: its holders wait for nothing); the
    // allocator's own handlers (registered before, at its first use) come after all of them.
    HoldRandomAcrossFork();
    pthread_atfork([] { ShieldedFiles::Instance()->LockForFork(); },
                   [] { ShieldedFiles::Instance()->UnlockAfterFork(); },
                   [] { ShieldedFiles::Instance()->UnlockAfterForkInChild(); });
    CommitFlusher::Configure(getenv("COVE_COMMIT_DELAY_MS"));
    pthread_atfork(
        PrepareFork, [] { t_fork_prepared = false; },
        [] {
          t_fork_prepared = false;
          ShieldedFiles::Instance()->AfterFork();
        });
    files->EnableStrict();
    // Raw `syscall` instructions outside the runtime (Go, static code, glibc internals) reach
    // the shield through the trap: patched where their code can be checked (syscall_patch.h), else
    // by Syscall User Dispatch. COVE_SYSCALL_TRAP=kernel forces the latter, =patched the former, =0
    // turns the trap off (docs/runtime.md).
    const char* trap = getenv("COVE_SYSCALL_TRAP");
    if (trap == nullptr || std::strcmp(trap, "0") != 0) {
      SyscallTrapOptions options;
      if (trap != nullptr && std::strcmp(trap, "kernel") == 0) {
        options.mechanism = TrapMechanism::kKernel;
      } else if (trap != nullptr && std::strcmp(trap, "patched") == 0) {
        options.mechanism = TrapMechanism::kPatched;
      } else if (trap != nullptr && std::strcmp(trap, "1") != 0 && trap[0] != '\0') {
        Log(kLogWarning, "COVE_SYSCALL_TRAP=%s: not 0, 1, patched or kernel; taken as 1", trap);
      }
      std::string report;
      options.report = &report;
      options.dispatcher = DispatchTrappedSyscall;
      options.filter = TrappedSyscallMayConcernShield;
      options.log_fd = log_fd;
      // A termination signal left at its default action commits first (commit_flusher.h).
      options.default_action_signals = DefaultActionSignalsToCommitOn();
      options.default_action_handler = OnDefaultActionSignal;
      Status installed = InstallSyscallTrap(options);
      if (!installed.ok()) {
        Log(kLogWarning, "raw syscalls are not trapped: %s", installed.ToString().c_str());
      } else {
        Log(kLogInfo, "syscall trap: %s%s%s", SyscallTrapMechanismName(),
            report.empty() ? "" : "; ", report.c_str());
      }
    }
    Log(kLogInfo, "file shield on: %s (%zu regions, %zu files%s)", config->fspf_path.c_str(),
        files->volume().fspf().regions.size(), files->volume().fspf().files.size(),
        strict ? ", strict" : "");
  }
  g_started = true;
}

// The last commit of the process and, without a tag file, the tag for the operator. When it
// fails, the program's last writes are lost: said on stderr whatever SCONE_LOG is, and the
// process ends with kLostCommitExitCode, unless `status` (from _exit; -1: unknown, the
// destructor cannot learn what exit() was given) is already a failure.
void FinishProcess(bool flush_stdio, int status) {
  ShieldedFiles* files = ShieldedFiles::Instance();
  if (files == nullptr) return;
  CommitFlusher::Stop();             // exit_group would end it in the middle of a commit
  if (flush_stdio) fflush(nullptr);  // stdio buffers of protected streams first
  if (Status committed = files->CommitAll(); !committed.ok()) {
    Say("the last commit failed, writes to protected files are lost: %s%s",
        committed.ToString().c_str(), status <= 0 ? " (exit status 74)" : "");
    if (status <= 0) DirectSyscall(SYS_exit_group, kLostCommitExitCode);
  }
  if (files->LostWrites() && status <= 0) {
    Say("writes to protected files were lost (above): exit status 74");
    DirectSyscall(SYS_exit_group, kLostCommitExitCode);
  }
  if (g_sealed && g_committed && g_tag_file != nullptr && g_tag_file->empty()) {
    Say("fspf tag: %.32s", g_tag_env + 15);
    g_committed = false;
  }
}

__attribute__((destructor)) void StopRuntime() {
  FinishProcess(true, -1);
  // How many of the program's syscalls paid a signal round trip (docs/runtime-syscalls.md).
  if (SyscallTrapInstalled()) {
    Log(kLogDebug, "%llu syscalls went through the syscall trap",
        static_cast<unsigned long long>(TrappedSyscallCount()));
  }
}

}  // namespace

// _exit skips destructors, but what the program wrote with write(2) is in the file as far as
// POSIX is concerned: commit it (stdio buffers are discarded, as _exit does).
extern "C" __attribute__((visibility("default"), noreturn)) void _exit(int status) {
  FinishProcess(false, status);
  for (;;) DirectSyscall(SYS_exit_group, status);
}
extern "C" __attribute__((visibility("default"), noreturn)) void _Exit(int status) {
  _exit(status);
}

bool RuntimeStarted() {
  return g_started;
}
DlopenPolicy CurrentDlopenPolicy() {
  return g_dlopen;
}
uint64_t HeapLimit() {
  return g_heap;
}
const char* CurrentTagEnvEntry() {
  return g_sealed ? g_tag_env : nullptr;
}

bool ForkPrepared() {
  return t_fork_prepared;
}

void CommitBeforeChild() {
  ShieldedFiles* files = ShieldedFiles::Instance();
  if (files == nullptr) return;
  (void)files->CommitAll();
  files->ShareOffsetsWithChild();
}

void WarnIfUserCannotCommit(const char* call) {
  ShieldedFiles* files = ShieldedFiles::Instance();
  if (files == nullptr) return;
  const std::string& fspf = files->volume().fspf_path();
  struct Needed {
    std::string path;
    int mode;
    const char* what;
  };
  std::vector<Needed> needed = {
      {ParentDirectory(fspf), W_OK | X_OK, "write the fspf's directory"},
      {fspf, R_OK, "read the fspf"},
      {CommitLockPath(fspf), R_OK | W_OK, "open the commit lock file"},
  };
  if (!g_tag_file->empty()) {
    needed.push_back({ParentDirectory(*g_tag_file), W_OK | X_OK, "write the tag file's directory"});
  }
  // A protected file open for writing (nginx's workers inherit their access log from the
  // master): its commit writes a journal beside it.
  std::string writing = files->WritableFileHostDirectory();
  if (!writing.empty()) {
    needed.push_back({writing, W_OK | X_OK, "write the directory of a file it has open"});
  }
  for (const Needed& need : needed) {
    long r = DirectSyscall(SYS_faccessat2, AT_FDCWD, need.path.c_str(), need.mode, AT_EACCESS);
    if (r == -ENOSYS || r == -EPERM) {  // before Linux 5.8, or a seccomp filter that refuses it
      r = DirectSyscall(SYS_faccessat, AT_FDCWD, need.path.c_str(), need.mode);
    }
    if (r == -ENOENT && need.mode != (W_OK | X_OK)) continue;  // created when needed
    if (r != 0) {
      // An error when this process has a protected file open for writing: its commits will
      // fail. Else a warning: a process that only reads (serves pages) is not affected, and
      // seteuid is often undone before the next commit.
      bool certain = !writing.empty() && std::strcmp(call, "seteuid") != 0;
      Log(certain ? kLogError : kLogWarning,
          "%s: user %ld cannot %s (%s: %s): this process's writes to protected files cannot "
          "be committed; let that user write the fspf's and the tag file's directories, the "
          "fspf and its .cove-lock, and the directories of the files it writes, or keep this "
          "process's writes outside protected regions",
          call, DirectSyscall(SYS_geteuid), need.what, need.path.c_str(),
          strerrordesc_np(static_cast<int>(-r)));
      return;
    }
  }
}

void CommitBeforeExec() {
  CommitFlusher::Stop();  // execve would end it in the middle of a commit
  ShieldedFiles* files = ShieldedFiles::Instance();
  if (files != nullptr) (void)files->CommitBeforeExec();
}

}  // namespace cove::runtime
