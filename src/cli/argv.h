// ArgvOf: a NULL-terminated argv for execv that points into `args` (which must outlive it).
#pragma once

#include <string>
#include <vector>

namespace cove::cli {

inline std::vector<char*> ArgvOf(std::vector<std::string>& args) {
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  return argv;
}

}  // namespace cove::cli
