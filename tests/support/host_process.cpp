#include "support/host_process.h"

#include <signal.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/temp_dir.h"

namespace crmhost::testing {

std::string CrmhostBinary() { return CRMHOST_BINARY; }
std::string PluginBuildDir() { return CRMHOST_PLUGIN_BUILD_DIR; }
std::string WebhookPluginPath() { return PluginBuildDir() + "/webhook.so"; }

namespace {

// YAML double-quoted scalar.
std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

}  // namespace

std::string ReadyUrl(const std::filesystem::path& ready_file) {
  static const std::regex kUrl(R"(^(http://[^\s:]+:([0-9]+))\s*$)");
  const std::string text = ReadFile(ready_file);
  std::smatch m;
  if (!std::regex_match(text, m, kUrl) || m[2] == "0") return "";
  return m[1];
}

std::string HostConfig::ToYaml(const std::filesystem::path& default_data_dir) const {
  std::ostringstream y;
  y << "listen: " << listen << "\n";
  y << "data_dir: " << Quote(data_dir.value_or(default_data_dir.string())) << "\n";
  y << "plugin_dir: " << Quote(plugin_dir.value_or(PluginBuildDir())) << "\n";
  if (max_body) y << "max_body: " << *max_body << "\n";
  y << "workers: " << workers << "\n";
  y << "lease: " << lease << "\n";
  y << "deliver_timeout: " << deliver_timeout << "\n";
  y << "retry: { base: " << retry_base << ", cap: " << retry_cap << ", attempts: " << retry_attempts
    << ", jitter: " << retry_jitter << " }\n";
  if (admin_key) y << "admin_key: " << Quote(*admin_key) << "\n";
  y << extra_yaml;
  y << "tenants:\n";
  for (const TenantSpec& t : tenants) {
    y << "  - id: " << t.id << "\n";
    y << "    api_keys: [";
    for (size_t i = 0; i < t.api_keys.size(); ++i) {
      y << (i ? ", " : " ") << Quote(t.api_keys[i]);
    }
    y << " ]\n";
    if (t.ingest_rate) y << "    ingest_rate: " << *t.ingest_rate << "\n";
    if (t.integrations.empty()) {
      y << "    integrations: []\n";
      continue;
    }
    y << "    integrations:\n";
    for (const IntegrationSpec& i : t.integrations) {
      y << "      - id: " << i.id << "\n";
      y << "        adapter: " << i.adapter << "\n";
      if (i.enabled) y << "        enabled: " << (*i.enabled ? "true" : "false") << "\n";
      if (!i.events.empty()) {
        y << "        events: [";
        for (size_t k = 0; k < i.events.size(); ++k) y << (k ? ", " : "") << i.events[k];
        y << "]\n";
      }
      y << "        config: {";
      const char* sep = " ";
      if (i.adapter == "webhook" || !i.url.empty()) {  // a CRM adapter needs neither
        y << sep << "url: " << Quote(i.url) << ", secret: " << Quote(i.secret);
        sep = ", ";
      }
      for (const auto& [key, value] : i.extra_config) {
        y << sep << key << ": " << Quote(value);
        sep = ", ";
      }
      y << " }\n";
      if (!i.mapping.empty()) y << "        mapping: " << i.mapping << "\n";
    }
  }
  return y.str();
}

HostProcess::HostProcess(std::filesystem::path dir, HostConfig config,
                         std::map<std::string, std::string> env)
    : dir_(std::move(dir)),
      config_(std::move(config)),
      env_(std::move(env)),
      config_path_(dir_ / "crmhost.yaml"),
      ready_path_(dir_ / "crmhost.ready") {}

HostProcess::~HostProcess() {
  if (child_ && child_->running()) Kill9();
}

void HostProcess::Start(std::chrono::milliseconds timeout) {
  if (child_ && child_->running()) throw std::logic_error("crmhost is already running");
  {
    std::ofstream out(config_path_, std::ios::trunc);
    out << config_.ToYaml(dir_ / "data");
  }
  std::filesystem::remove(ready_path_);
  ++runs_;
  const std::string tag = "crmhost." + std::to_string(runs_);
  child_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{CrmhostBinary(), "run", "--config", config_path_.string(),
                               "--ready-file", ready_path_.string()},
      dir_ / (tag + ".out"), dir_ / (tag + ".err"), env_);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    base_url_ = ReadyUrl(ready_path_);
    if (!base_url_.empty()) return;
    if (!child_->running()) {
      throw std::runtime_error("crmhost exited before it was ready; stderr:\n" + stderr_text());
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw std::runtime_error("crmhost not ready in time; ready file '" + ReadFile(ready_path_) +
                               "'; stderr:\n" + stderr_text());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::optional<int> HostProcess::Stop(std::chrono::milliseconds timeout, int signo) {
  if (!child_) return std::nullopt;
  child_->Signal(signo);
  return child_->Wait(timeout);
}

void HostProcess::Kill9() {
  if (!child_) return;
  child_->Signal(SIGKILL);
  child_->Wait(std::chrono::seconds(10));
}

void HostProcess::Signal(int signo) {
  if (!running()) throw std::logic_error("crmhost is not running");
  child_->Signal(signo);
}

bool HostProcess::running() { return child_ && child_->running(); }

std::string HostProcess::stderr_text() const { return child_ ? child_->stderr_text() : ""; }

}  // namespace crmhost::testing
