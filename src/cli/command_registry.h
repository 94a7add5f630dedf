// Subcommands of `cove` register themselves here (one file per command, e.g. fspf_command.cc),
// so main.cc never grows a switch over them.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

namespace cove::cli {

// Adds a subcommand to `app`; its callback stores the process exit code in `exit_code`.
using CommandRegistrar = std::function<void(CLI::App& app, int& exit_code)>;

// Records `registrar` under `name` (commands appear in `cove --help` in name order).
bool RegisterCommand(const std::string& name, CommandRegistrar registrar);
void AddAllCommands(CLI::App& app, int& exit_code);

}  // namespace cove::cli

#define COVE_REGISTER_COMMAND(name, registrar)                  \
  [[maybe_unused]] static const bool cove_command_registered_ = \
      ::cove::cli::RegisterCommand(name, registrar)
