#include "cli/config_file.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "cli/serve_flags.h"

namespace privox::cli {
namespace {

Error config_error(const std::string& path, int line, const std::string& message) {
  return invalid("", line > 0 ? fmt::format("{}:{}: {}", path, line, message) : fmt::format("{}: {}", path, message));
}

bool is_key(std::string_view name) {
  const auto& keys = serve_keys();
  return std::any_of(keys.begin(), keys.end(), [name](const ServeKey& k) { return k.name == name; });
}

std::string known_keys() {
  std::string out;
  for (const ServeKey& k : serve_keys()) out += (out.empty() ? "" : ", ") + k.name;
  return out;
}

// A scalar as the flag would take it; nullopt for tables, arrays, floats and dates.
std::optional<std::string> flag_text(const toml::node& node) {
  if (const auto* s = node.as_string()) return s->get();
  if (const auto* i = node.as_integer()) return std::to_string(i->get());
  if (const auto* b = node.as_boolean()) return std::string(b->get() ? "true" : "false");
  return std::nullopt;
}

std::string type_name(const toml::node& node) {
  std::ostringstream out;
  out << node.type();
  return out.str();
}

Result<ConfigValue> read_value(const std::string& path, const toml::key& key, const toml::node& node) {
  const int line = static_cast<int>(key.source().begin.line);
  const std::string name(key.str());
  if (node.is_table())
    return config_error(path, line,
                        fmt::format("section '{}': the file has no sections; write every key at the top", name));
  if (!is_key(name))
    return config_error(path, line,
                        fmt::format("unknown key '{}'; the keys are the flags' names without dashes: {}", name,
                                    known_keys()));
  auto text = flag_text(node);
  if (!text)
    return config_error(path, line,
                        fmt::format("key '{}' holds a value of type {}, but takes a string, an integer or true/false", name,
                                    type_name(node)));
  return ConfigValue{name, std::move(*text), line};
}

// Where a key applies: the data directory and store to every verb, the rest to serve alone.
bool applies_to(const CLI::App& verb, std::string_view key) {
  return key == "data-dir" || key == "store" || verb.get_name() == "serve";
}

// Sets the value on `app`'s flag of that name and on its subcommands'; counts the flags set.
Status apply_below(CLI::App& app, const std::string& path, const ConfigValue& value, bool is_root, int* applied) {
  CLI::Option* flag = app.get_option_no_throw("--" + value.key);
  if (flag && (is_root || applies_to(app, value.key))) {
    try {
      flag->default_val(value.text);
    } catch (const CLI::Error& e) {
      return config_error(path, value.line, fmt::format("key '{}': {}", value.key, e.what()));
    }
    flag->required(false);
    ++*applied;
  }
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; }))
    PRIVOX_TRY(apply_below(*sub, path, value, false, applied));
  return {};
}

}  // namespace

Result<ConfigFile> read_config_file(const std::string& path) {
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return config_error(path, static_cast<int>(e.source().begin.line), std::string(e.description()));
  }
  ConfigFile out{path, {}};
  for (const auto& [key, node] : table) {
    PRIVOX_ASSIGN(ConfigValue value, read_value(path, key, node));
    out.values.push_back(std::move(value));
  }
  std::sort(out.values.begin(), out.values.end(),
            [](const ConfigValue& a, const ConfigValue& b) { return a.line < b.line; });
  return out;
}

Status apply_config(const ConfigFile& file, CLI::App& root) {
  for (const ConfigValue& value : file.values) {
    int applied = 0;
    PRIVOX_TRY(apply_below(root, file.path, value, true, &applied));
  }
  return {};
}

std::string config_path_from(int argc, const char* const* argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--config" && i + 1 < argc) return argv[i + 1];
    if (arg.starts_with("--config=")) return std::string(arg.substr(std::strlen("--config=")));
    if (arg == "--log-level" || arg == "--log-format") ++i;  // their values are no verb
    else if (!arg.starts_with("-")) break;  // the verb: --config belongs before it
  }
  const char* env = std::getenv("PRIVOX_CONFIG");
  return env ? env : "";
}

}  // namespace privox::cli
