// `cove run [options] -- PROGRAM [ARGS...]`: runs an unmodified dynamically linked program with
// libcove-runtime.so preloaded, passing the options as SCONE_* variables; the exit code is
// the program's.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "cli/argv.h"
#include "cli/command_registry.h"
#include "common/executable_format.h"

#ifndef COVE_RUNTIME_BUILD_PATH
#define COVE_RUNTIME_BUILD_PATH ""
#endif
#ifndef COVE_RUNTIME_INSTALL_PATH
#define COVE_RUNTIME_INSTALL_PATH ""
#endif

namespace cove::cli {
namespace {

namespace fs = std::filesystem;

// execvp, except for a file the kernel refuses as no program (ENOEXEC): instead of running it
// with /bin/sh, as execvp does, it goes to `cove exec-protected` (`self`), which, under the
// runtime, runs a protected file's #! interpreter (the kernel reads ciphertext) and any other
// such file with /bin/sh. Returns the errno of the failure.
int ExecSearchingPath(std::vector<std::string>& command, const std::string& self) {
  std::vector<char*> argv = ArgvOf(command);
  auto try_exec = [&](const std::string& path) {
    execv(path.c_str(), argv.data());
    if (errno != ENOEXEC || self.empty()) return errno;
    std::vector<std::string> helper = {self, "exec-protected", "--", path};
    helper.insert(helper.end(), command.begin() + 1, command.end());
    std::vector<char*> helper_argv = ArgvOf(helper);
    execv(self.c_str(), helper_argv.data());
    return errno;
  };
  const std::string& name = command.front();
  if (name.find('/') != std::string::npos) return try_exec(name);
  const char* path_env = std::getenv("PATH");
  std::string_view dirs = path_env != nullptr ? path_env : "/usr/local/bin:/usr/bin:/bin";
  int err = ENOENT;
  for (size_t start = 0; start <= dirs.size();) {
    size_t end = std::min(dirs.find(':', start), dirs.size());
    std::string dir(dirs.substr(start, end - start));
    int tried = try_exec((dir.empty() ? "." : dir) + "/" + name);
    if (tried != ENOENT && tried != ENOTDIR) err = tried;  // EACCES wins over ENOENT, as execvp
    start = end + 1;
  }
  return err;
}

struct RunOptions {
  std::string fspf, key, tag, tag_file, mode, log, log_file, heap, stack, dlopen, config;
  bool strict = false;
  bool version = false;
  std::vector<std::string> command;
};

// libcove-runtime.so: $COVE_RUNTIME, then beside the cove binary (build tree and install
// layouts), then the paths compiled in.
std::string FindRuntime() {
  std::error_code ec;
  if (const char* env = std::getenv("COVE_RUNTIME"); env != nullptr && env[0] != '\0') {
    // Absolute: children that change directory preload it too.
    return fs::absolute(env, ec).string();
  }
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  std::vector<fs::path> candidates;
  if (!ec) {
    fs::path dir = self.parent_path();
    candidates = {dir / "libcove-runtime.so", dir / "../runtime/libcove-runtime.so",
                  dir / "../lib/libcove-runtime.so", dir / "../lib/cove/libcove-runtime.so"};
  }
  candidates.emplace_back(COVE_RUNTIME_BUILD_PATH);
  candidates.emplace_back(COVE_RUNTIME_INSTALL_PATH);
  for (const auto& candidate : candidates) {
    if (!candidate.empty() && fs::exists(candidate, ec))
      return fs::weakly_canonical(candidate).string();
  }
  return "";
}

// An executable regular file (a candidate of execvp's PATH search).
bool IsExecutableFile(const char* path) {
  struct stat st {};
  return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

// An error message when `command` would run its program without the runtime (static, another
// ELF class or machine, secure-execution mode, unreadable, or a script or the dynamic loader
// running one of these): LD_PRELOAD would be ignored, so the program would run unshielded,
// reading ciphertext and writing plaintext into protected regions. Empty when it may run (or
// when it cannot be opened for another reason: execvp reports what is wrong).
std::string UnshieldedProgramError(const std::vector<std::string>& command) {
  std::string file = FindProgramInPath(command[0].c_str(), std::getenv("PATH"), IsExecutableFile);
  if (file.empty()) return "";
  const ExecutableFileOps& ops = kSyscallExecutableOps<&LibcSyscall>;
  std::vector<char*> argv;
  for (const std::string& arg : command) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  char through[kMaxShebangLine] = {};
  ExecutableKind kind = ResolveExecutable(ops, ops.open(file.c_str()), file.c_str(), argv.data(),
                                          environ, through, sizeof(through));
  if (!RunsUnshielded(kind)) return "";
  std::string culprit = through[0] != '\0' ? file + " (through " + through + ")" : file;
  return culprit + ": " + DescribeRefusedExecutable(kind);
}

void SetIfGiven(const char* name, const std::string& value) {
  if (!value.empty()) setenv(name, value.c_str(), 1);
}

int Run(RunOptions& options) {
  if (options.command.empty()) {
    std::cerr << "cove run: error: no PROGRAM given (cove run [options] -- PROGRAM ARGS...)\n";
    return 2;
  }
  if (std::string error = UnshieldedProgramError(options.command); !error.empty()) {
    std::cerr << "cove run: error: " << error << "\n";
    return 126;
  }
  std::string runtime = FindRuntime();
  if (runtime.empty()) {
    std::cerr << "cove run: error: libcove-runtime.so not found (set COVE_RUNTIME to its path)\n";
    return 2;
  }
  if (!options.fspf.empty()) {
    std::error_code ec;
    SetIfGiven("SCONE_FSPF", fs::absolute(options.fspf, ec).string());
  }
  SetIfGiven("SCONE_FSPF_KEY", options.key);
  SetIfGiven("SCONE_FSPF_TAG", options.tag);
  if (!options.tag_file.empty()) {
    std::error_code ec;
    std::string tag_file = fs::absolute(options.tag_file, ec).string();
    SetIfGiven("SCONE_FSPF_TAG_FILE", tag_file);
    // First run of a session: the tag file starts as the given tag.
    if (!options.tag.empty() && !fs::exists(tag_file, ec)) {
      std::ofstream(tag_file) << options.tag << "\n";
    }
  }
  SetIfGiven("SCONE_MODE", options.mode);
  SetIfGiven("SCONE_LOG", options.log);
  SetIfGiven("SCONE_LOG_FILE", options.log_file);
  SetIfGiven("SCONE_HEAP", options.heap);
  SetIfGiven("SCONE_STACK", options.stack);
  SetIfGiven("SCONE_ALLOW_DLOPEN", options.dlopen);
  SetIfGiven("SCONE_CONFIG", options.config);
  if (options.strict) setenv("SCONE_FSPF_STRICT", "1", 1);
  if (options.version) setenv("SCONE_VERSION", "1", 1);
  // The runtime goes first; a preload list the caller had stays after it.
  std::string preload = runtime;
  if (const char* existing = std::getenv("LD_PRELOAD"); existing != nullptr && existing[0]) {
    preload += ":" + std::string(existing);
  }
  setenv("LD_PRELOAD", preload.c_str(), 1);
  // The runtime runs a file of a protected region through `cove exec-protected` (the kernel
  // cannot: it would load the host file), so children find this binary.
  std::error_code self_error;
  std::string self = fs::read_symlink("/proc/self/exe", self_error).string();
  if (!self.empty()) setenv("COVE_EXEC_HELPER", self.c_str(), 1);
  int err = ExecSearchingPath(options.command, self);
  std::cerr << "cove run: error: cannot execute " << options.command[0] << ": "
            << std::generic_category().message(err) << "\n";
  return err == ENOENT ? 127 : 126;
}

void Register(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand(
      "run", "Run an unmodified program with the file shield (libcove-runtime.so preloaded)");
  cmd->add_option("--fspf", options->fspf, "file system protection file (SCONE_FSPF)");
  cmd->add_option("--key", options->key, "fspf key, 64 hex digits (SCONE_FSPF_KEY)");
  cmd->add_option("--tag", options->tag, "expected fspf tag, 32 hex digits (SCONE_FSPF_TAG)");
  cmd->add_option("--tag-file", options->tag_file,
                  "file holding the expected tag, updated after each commit "
                  "(SCONE_FSPF_TAG_FILE)");
  cmd->add_option("--mode", options->mode, "sim or hw (SCONE_MODE)");
  cmd->add_option("--log", options->log, "log level 0..7 (SCONE_LOG)");
  cmd->add_option("--log-file", options->log_file, "log destination (SCONE_LOG_FILE)");
  cmd->add_option("--heap", options->heap, "heap limit, e.g. 64M (SCONE_HEAP)");
  cmd->add_option("--stack", options->stack, "default thread stack size, e.g. 4M (SCONE_STACK)");
  cmd->add_option("--allow-dlopen", options->dlopen, "0, 1 or 2 (SCONE_ALLOW_DLOPEN)");
  cmd->add_option("--config", options->config, "sgx-musl.conf to validate (SCONE_CONFIG)");
  cmd->add_flag("--strict", options->strict, "refuse access outside protected regions");
  cmd->add_flag("--print-version", options->version, "print version and configuration at start");
  cmd->add_option("command", options->command, "-- PROGRAM [ARGS...]")->required();
  cmd->callback([options, &exit_code] { exit_code = Run(*options); });
}

COVE_REGISTER_COMMAND("run", Register);

}  // namespace
}  // namespace cove::cli
