#pragma once
// Helpers shared by the unit tests: a private temporary directory and a reader for every byte a
// store left on disk.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace privox::testing {

// The SMTP test server's directory (scripts/test-smtp.sh: url, maildir/): PRIVOX_TEST_SMTP_DIR, else
// the one ctest's `smtp` fixture starts in this build folder. Empty when neither is known.
inline std::string smtp_test_dir() {
  if (const char* dir = std::getenv("PRIVOX_TEST_SMTP_DIR"); dir && *dir) return dir;
#ifdef PRIVOX_TEST_SMTP_DIR_DEFAULT
  return PRIVOX_TEST_SMTP_DIR_DEFAULT;
#else
  return "";
#endif
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "privox-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

  // Every byte of every file under the directory, concatenated.
  std::string all_bytes() const {
    std::string out;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(path_)) {
      if (!entry.is_regular_file()) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      out.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    return out;
  }

 private:
  std::string path_;
};

}  // namespace privox::testing
