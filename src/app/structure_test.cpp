// The walls between the folders, checked on the source itself:
//  - each table has one owning folder, the one whose schema part creates it, and only that
//    folder's code holds SQL that names it (other folders call the owner's typed functions);
//  - the owners' registries are complete: every table has an owner, and every owner's folder exists.
// The include direction is checked by cmake/check_layers.cmake (the `layers` test).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "store/schema.h"

namespace privox::app {
namespace {

namespace fs = std::filesystem;

struct Literal {
  std::string text;  // adjacent literals joined, as the compiler joins them
  int line = 0;
};

// The string literals of a C++ source, comments skipped, adjacent ones joined. Raw strings are
// read as they are; character literals and digit separators are not strings.
std::vector<Literal> string_literals(const std::string& src) {
  std::vector<Literal> out;
  bool joining = false;
  int line = 1;
  for (size_t i = 0; i < src.size();) {
    const char c = src[i];
    if (c == '\n') ++line;
    if (src.compare(i, 2, "//") == 0) {
      i = src.find('\n', i);
      if (i == std::string::npos) break;
      continue;
    }
    if (src.compare(i, 2, "/*") == 0) {
      const size_t end = src.find("*/", i + 2);
      line += static_cast<int>(std::count(src.begin() + static_cast<std::ptrdiff_t>(i),
                                          src.begin() + static_cast<std::ptrdiff_t>(end), '\n'));
      i = end + 2;
      continue;
    }
    std::string text;
    const int at = line;
    if (src.compare(i, 2, "R\"") == 0) {
      const size_t open = src.find('(', i);
      const std::string close = ")" + src.substr(i + 2, open - i - 2) + "\"";
      const size_t end = src.find(close, open);
      text = src.substr(open + 1, end - open - 1);
      line += static_cast<int>(std::count(text.begin(), text.end(), '\n'));
      i = end + close.size();
    } else if (c == '"') {
      size_t j = i + 1;
      while (j < src.size() && src[j] != '"') j += src[j] == '\\' ? 2 : 1;
      text = src.substr(i + 1, j - i - 1);
      i = j + 1;
    } else if (c == '\'' && !(i > 0 && std::isalnum(static_cast<unsigned char>(src[i - 1])))) {
      size_t j = i + 1;
      while (j < src.size() && src[j] != '\'') j += src[j] == '\\' ? 2 : 1;
      i = j + 1;
      joining = false;
      continue;
    } else {
      if (!std::isspace(static_cast<unsigned char>(c))) joining = false;
      ++i;
      continue;
    }
    if (joining) {
      out.back().text += text;
    } else {
      out.push_back({text, at});
    }
    joining = true;
  }
  return out;
}

// table -> the folder whose schema part creates it.
std::map<std::string, std::string> table_owners() {
  std::map<std::string, std::string> owners{{"schema_migrations", "store"}};  // the store's own bookkeeping
  const std::regex create(R"(CREATE TABLE (\w+))");
  for (const store::SchemaPart& part : store::schema_parts())
    for (const std::string& statement : part.statements)
      for (std::sregex_iterator m(statement.begin(), statement.end(), create), end; m != end; ++m)
        owners[(*m)[1]] = std::string(part.owner);
  return owners;
}

bool is_test_source(const fs::path& file) {
  const std::string name = file.filename().string();
  return name.ends_with("_test.cpp") || name.ends_with("_fuzz.cpp") || name.starts_with("test_");
}

TEST(StructureTest, TheLiteralScannerSeesSqlAsTheCompilerJoinsIt) {
  const auto lits = string_literals("a = \"SELECT x \" // \"FROM no\"\n  \"FROM members\"; c = '\"'; n = 1'000;\n"
                                    "b = R\"(UPDATE \"t\" SET)\";");
  ASSERT_EQ(lits.size(), 2u);
  EXPECT_EQ(lits[0].text, "SELECT x FROM members");
  EXPECT_EQ(lits[1].text, "UPDATE \"t\" SET");
  EXPECT_EQ(lits[1].line, 3);
}

TEST(StructureTest, EveryTableHasOneOwnerWhoseFolderExists) {
  const fs::path src = fs::path(PRIVOX_SOURCE_DIR) / "src";
  const auto owners = table_owners();
  EXPECT_GE(owners.size(), 30u) << "the schema parts are installed";
  for (const auto& [table, owner] : owners) EXPECT_TRUE(fs::is_directory(src / owner)) << table << " -> " << owner;
}

TEST(StructureTest, OnlyTheOwningFolderHoldsSqlThatNamesATable) {
  const fs::path src = fs::path(PRIVOX_SOURCE_DIR) / "src";
  const auto owners = table_owners();
  std::vector<std::pair<std::string, std::regex>> patterns;
  patterns.reserve(owners.size());
  for (const auto& [table, owner] : owners)
    patterns.emplace_back(table, std::regex(R"(\b(FROM|JOIN|INTO|UPDATE|TABLE|EXISTS)\s+)" + table + R"(\b)"));

  std::vector<std::string> problems;
  size_t files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(src)) {
    const fs::path& file = entry.path();
    if (!entry.is_regular_file() || (file.extension() != ".cpp" && file.extension() != ".h") || is_test_source(file))
      continue;
    ++files;
    const std::string folder = fs::relative(file, src).begin()->string();
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    for (const Literal& lit : string_literals(text.str()))
      for (const auto& [table, pattern] : patterns)
        if (owners.at(table) != folder && std::regex_search(lit.text, pattern))
          problems.push_back(fs::relative(file, src).string() + ":" + std::to_string(lit.line) + " names " + table +
                             " (owned by " + owners.at(table) + "/): " + lit.text.substr(0, 80));
  }
  EXPECT_GE(files, 100u) << "the scan read the tree";
  for (const std::string& p : problems) ADD_FAILURE() << p;
}

}  // namespace
}  // namespace privox::app
