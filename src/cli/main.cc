// `cove`: the command-line tool (check, fspf, evidence, run...). Each subcommand lives in its
// own *_command.cc and registers itself; this file only parses and dispatches.
#include <map>

#include "cli/command_registry.h"

namespace cove::cli {
namespace {
std::map<std::string, CommandRegistrar>& Registry() {
  static std::map<std::string, CommandRegistrar> registry;
  return registry;
}
}  // namespace

bool RegisterCommand(const std::string& name, CommandRegistrar registrar) {
  Registry().emplace(name, std::move(registrar));
  return true;
}

void AddAllCommands(CLI::App& app, int& exit_code) {
  for (auto& [name, registrar] : Registry()) registrar(app, exit_code);
}

// When the first argument names a subcommand, only that one is built: constructing every
// command's CLI11 options (fspf alone has a dozen subcommands) cost more than all the rest of
// `cove run`'s own start. Anything else (no argument, --help, --version, a typo) gets them all,
// so help and error messages are unchanged.
void AddCommandsFor(CLI::App& app, int& exit_code, int argc, char** argv) {
  if (argc > 1) {
    if (auto it = Registry().find(argv[1]); it != Registry().end()) {
      it->second(app, exit_code);
      return;
    }
  }
  AddAllCommands(app, exit_code);
}

}  // namespace cove::cli

int main(int argc, char** argv) {
  CLI::App app{"cove: run unmodified programs with encrypted files and attested secrets"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "cove " COVE_VERSION);
  int exit_code = 0;
  cove::cli::AddCommandsFor(app, exit_code, argc, argv);
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
