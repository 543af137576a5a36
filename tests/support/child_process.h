// A child process of the test: spawned with stdin from /dev/null and stdout/stderr captured into
// files, killed with SIGKILL if the test process dies first (PR_SET_PDEATHSIG), and reaped with a
// deadline. Not shared between threads.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace crmhost::testing {

class ChildProcess {
 public:
  // Starts `argv` (argv[0] is a path). `env` adds to (or overrides) the test's environment.
  ChildProcess(const std::vector<std::string>& argv, const std::filesystem::path& stdout_file,
               const std::filesystem::path& stderr_file,
               const std::map<std::string, std::string>& env = {});
  ~ChildProcess();  // SIGKILLs and reaps a child still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  void Signal(int signo);
  // Waits for the exit; the exit code (128 + signal when killed by one), or nullopt on timeout.
  std::optional<int> Wait(std::chrono::milliseconds timeout);

  std::string stdout_text() const;
  std::string stderr_text() const;

 private:
  void Reap(int status);

  pid_t pid_ = -1;
  std::optional<int> exit_code_;  // set once reaped
  std::filesystem::path stdout_file_;
  std::filesystem::path stderr_file_;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs a command to completion (SIGKILL after `timeout`, exit_code -1); captures its output in
// files under `dir`.
CommandResult RunCommand(const std::vector<std::string>& argv, const std::filesystem::path& dir,
                         std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace crmhost::testing
