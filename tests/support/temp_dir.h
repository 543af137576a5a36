// A fresh directory under $TMPDIR (or /tmp) per test, removed with everything in it on
// destruction unless CRMHOST_KEEP_TEST_DIRS is set (then its path is printed for a post-mortem).
// Not shared between threads.
#pragma once

#include <filesystem>
#include <string>

namespace crmhost::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // path()/name
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
  // Writes `content` to path()/name and returns the full path.
  std::filesystem::path Write(const std::string& name, const std::string& content) const;

 private:
  std::filesystem::path path_;
};

// The whole content of a file; "" when it cannot be read.
std::string ReadFile(const std::filesystem::path& path);

}  // namespace crmhost::testing
