#pragma once
// privox.toml: a flat TOML file whose keys are the flags' names without the dashes
// (`ring-timeout = 30`, `data-dir = "/var/lib/privox"`), read with toml++. A value from the file
// becomes its flag's default, so the environment (PRIVOX_<FLAG>) and the command line, which
// CLI11 reads after, override it: flags, then environment, then file.

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "common/result.h"

namespace privox::cli {

struct ConfigValue {
  std::string key;
  std::string text;  // the value as a flag would give it
  int line = 0;
};

struct ConfigFile {
  std::string path;
  std::vector<ConfigValue> values;
};

// Reads and checks a file against serve_keys(): TOML syntax, known keys, and scalar values (a
// string, an integer or a boolean). Errors name the file, line and key.
Result<ConfigFile> read_config_file(const std::string& path);

// Sets each value as the default of the same-named flag on `root` and on every subcommand below
// it that has one (so `data-dir` serves `privox member add` too), running the flag's checks;
// a flag the file sets is no longer required on the command line. The error names file, line
// and key.
Status apply_config(const ConfigFile& file, CLI::App& root);

// The value of --config or PRIVOX_CONFIG before CLI11 parses (the file's values must be in place
// first); empty when neither is given.
std::string config_path_from(int argc, const char* const* argv);

}  // namespace privox::cli
