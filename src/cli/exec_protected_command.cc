// `cove exec-protected -- PATH [ARGS...]`: runs a file stored in a protected region, which the
// kernel cannot execute itself (it would load the host file: the region's format, not the
// script). The runtime turns an exec of such a file into this command (COVE_EXEC_HELPER, set
// by `cove run`); running under the runtime, it reads the file's first line through the
// shield and execs its #! interpreter on PATH, as the kernel does for a plain script. A file
// without "#!" runs with /bin/sh (as execvp and shells run such files); a program (ELF) is
// refused with a message: programs run from their host files, so they cannot live in a region.
// Not listed in `cove --help`: it is the runtime's, not the user's.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "cli/argv.h"
#include "cli/command_registry.h"

namespace cove::cli {
namespace {

constexpr int kCannotExecute = 126;    // the shells' status for a file that does not run
constexpr size_t kMaxFirstLine = 256;  // Linux's BINPRM_BUF_SIZE

// The first bytes of `path`, read with the (interposed) open and read: plaintext.
bool ReadFirstBytes(const std::string& path, std::string* out) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  out->resize(kMaxFirstLine);
  ssize_t n = read(fd, out->data(), out->size());
  int err = errno;
  close(fd);
  errno = err;
  if (n < 0) return false;
  out->resize(static_cast<size_t>(n));
  return true;
}

// "#!INTERPRETER [ARG]" as Linux reads it: the interpreter up to the first blank, then the
// rest of the line, trimmed, as one argument.
bool ParseShebang(std::string_view first, std::string* interpreter, std::string* argument) {
  if (!first.starts_with("#!")) return false;
  first.remove_prefix(2);
  first = first.substr(0, first.find('\n'));
  auto blank = [](char c) { return c == ' ' || c == '\t'; };
  while (!first.empty() && blank(first.front())) first.remove_prefix(1);
  while (!first.empty() && (blank(first.back()) || first.back() == '\r')) first.remove_suffix(1);
  size_t end = 0;
  while (end < first.size() && !blank(first[end])) ++end;
  *interpreter = first.substr(0, end);
  first.remove_prefix(end);
  while (!first.empty() && blank(first.front())) first.remove_prefix(1);
  *argument = first;
  return !interpreter->empty();
}

int ExecProtected(const std::vector<std::string>& command) {
  const std::string& path = command.front();
  std::string first;
  if (!ReadFirstBytes(path, &first)) {
    int err = errno;
    std::cerr << path << ": " << std::generic_category().message(err) << "\n";
    return err == ENOENT ? 127 : kCannotExecute;
  }
  if (std::string_view(first).starts_with("\x7f"
                                          "ELF")) {
    std::cerr << path
              << ": cannot execute a program stored in a protected region (the kernel loads a "
                 "program from its host file, which holds the region's format); install it "
                 "outside the region\n";
    return kCannotExecute;
  }
  std::vector<std::string> args;
  std::string interpreter, argument;
  if (ParseShebang(first, &interpreter, &argument)) {
    args.push_back(interpreter);
    if (!argument.empty()) args.push_back(argument);
  } else {
    interpreter = "/bin/sh";
    args.emplace_back("sh");
  }
  args.insert(args.end(), command.begin(), command.end());
  std::vector<char*> argv = ArgvOf(args);
  execv(interpreter.c_str(), argv.data());
  int err = errno;
  std::cerr << path << ": " << interpreter << ": " << std::generic_category().message(err) << "\n";
  return err == ENOENT ? 127 : kCannotExecute;
}

void Register(CLI::App& app, int& exit_code) {
  auto command = std::make_shared<std::vector<std::string>>();
  CLI::App* cmd = app.add_subcommand("exec-protected", "");  // no description: not listed
  cmd->group("");
  cmd->add_option("command", *command, "-- PATH [ARGS...]")->required();
  cmd->callback([command, &exit_code] { exit_code = ExecProtected(*command); });
}

COVE_REGISTER_COMMAND("exec-protected", Register);

}  // namespace
}  // namespace cove::cli
