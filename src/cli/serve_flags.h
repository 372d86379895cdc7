#pragma once
// serve's flags in one table: the command line, the environment (PRIVOX_<FLAG>) and the
// configuration file (cli/config_file.h) all set them, and SIGHUP compares them to tell which
// changes apply at once and which need a restart.

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

#include "cli/serve.h"

namespace privox::cli {

// When a changed value takes effect in a running `privox serve`.
enum class Takes { at_once, restart };

// One key: its flag's name without the dashes, and how to print a value for comparison.
struct ServeKey {
  std::string name;
  Takes takes = Takes::restart;
  std::function<std::string(const ServeOptions&, const GlobalOptions&)> text;
};

// Adds --config, --log-level and --log-format to the root command.
void add_global_flags(CLI::App& root, GlobalOptions& into);
// Adds serve's own flags (--data-dir and --store included) to `serve`, bound to `into`.
void add_serve_flags(CLI::App& serve, ServeOptions& into);
// Every key a configuration file may hold: the global flags but --config, and serve's.
const std::vector<ServeKey>& serve_keys();

// The keys whose values differ between two configurations, in table order.
std::vector<const ServeKey*> changed_keys(const ServeOptions& before, const GlobalOptions& before_globals,
                                          const ServeOptions& after, const GlobalOptions& after_globals);

}  // namespace privox::cli
