// The real crmhost binary under test: HostConfig renders a config YAML per docs/CONTRACTS.md,
// HostProcess writes it into a test's directory, runs `crmhost run --config X --ready-file Y`,
// waits for the ready file and exposes the base URL; it can stop (SIGTERM), kill -9 and start
// again on the same data directory. Not shared between threads.
#pragma once

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/child_process.h"

namespace crmhost::testing {

// Paths baked in by CMake.
std::string CrmhostBinary();      // $<TARGET_FILE:crmhost>
std::string PluginBuildDir();     // ${CMAKE_BINARY_DIR}/plugins, holds webhook.so
std::string WebhookPluginPath();  // PluginBuildDir()/webhook.so

// The URL in a ready file ("http://HOST:PORT", the bound port), or "" while the file is absent,
// incomplete or names port 0.
std::string ReadyUrl(const std::filesystem::path& ready_file);

struct IntegrationSpec {
  std::string id;
  std::string adapter = "webhook";
  std::optional<bool> enabled;      // omitted when unset
  std::vector<std::string> events;  // omitted when empty (= all)
  std::string url;
  std::string secret;  // written as given: "whsec_...", "env:NAME" or "file:PATH"
  std::map<std::string, std::string> extra_config;  // more adapter config keys, as strings
  std::string mapping;  // the integration's `mapping`, as one line of YAML flow style; "" = none
};

struct TenantSpec {
  std::string id;
  std::vector<std::string> api_keys;  // written as given (literal, env: or file:)
  std::optional<int> ingest_rate;
  std::vector<IntegrationSpec> integrations;
};

struct HostConfig {
  std::string listen = "127.0.0.1:0";
  std::optional<std::string> data_dir;    // default: <test dir>/data
  std::optional<std::string> plugin_dir;  // default: PluginBuildDir()
  std::optional<std::string> max_body;
  int workers = 4;
  std::string lease = "5s";
  std::string deliver_timeout = "5s";
  // Fast retries so that all 10 attempts take about a second.
  std::string retry_base = "20ms";
  std::string retry_cap = "200ms";
  int retry_attempts = 10;
  double retry_jitter = 0.2;
  std::optional<std::string> admin_key;
  std::string extra_yaml;  // more top-level keys, each a whole "key: value\n" line
  std::vector<TenantSpec> tenants;

  std::string ToYaml(const std::filesystem::path& default_data_dir) const;
};

class HostProcess {
 public:
  // Files live in `dir`: crmhost.yaml, data/, crmhost.ready, crmhost.<n>.err/.out per start.
  HostProcess(std::filesystem::path dir, HostConfig config,
              std::map<std::string, std::string> env = {});
  ~HostProcess();  // kills a host still running
  HostProcess(const HostProcess&) = delete;
  HostProcess& operator=(const HostProcess&) = delete;

  // Writes the config, starts crmhost and waits until it is listening (throws with its stderr
  // when it exits or is not ready within `timeout`). May be called again after Stop/Kill9.
  void Start(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Sends `signo` (SIGTERM or SIGINT stop crmhost) and waits; returns the exit code (nullopt
  // when it did not exit within `timeout`).
  std::optional<int> Stop(std::chrono::milliseconds timeout = std::chrono::seconds(20),
                          int signo = SIGTERM);
  void Kill9();
  // Sends `signo` to the running host (SIGHUP: rescan plugin_dir); throws when none runs.
  void Signal(int signo);
  bool running();

  const std::string& base_url() const { return base_url_; }
  const std::filesystem::path& config_path() const { return config_path_; }
  const std::filesystem::path& dir() const { return dir_; }
  // stderr of the current (or last) run.
  std::string stderr_text() const;

 private:
  std::filesystem::path dir_;
  HostConfig config_;
  std::map<std::string, std::string> env_;
  std::filesystem::path config_path_;
  std::filesystem::path ready_path_;
  int runs_ = 0;
  std::unique_ptr<ChildProcess> child_;  // non-null once started
  std::string base_url_;                 // from the ready file of the current run
};

}  // namespace crmhost::testing
