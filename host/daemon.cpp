#include "daemon.h"

#include <Poco/AutoPtr.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/FormattingChannel.h>
#include <Poco/Logger.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/PatternFormatter.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <csignal>
#include <iostream>
#include <random>

#include "config/config.h"
#include "delivery/dispatcher.h"
#include "common/files.h"
#include "ingress/http_server.h"
#include "ingress/ingest_limiter.h"
#include "ingress/router.h"
#include "plugins/adapter_registry.h"
#include "plugins/plugin_dir_watcher.h"
#include "signals.h"
#include "store/store.h"

namespace crmhost {
namespace {

void configure_logging() {
  Poco::AutoPtr<Poco::PatternFormatter> pattern(new Poco::PatternFormatter("%Y-%m-%dT%H:%M:%S.%iZ %p %s: %t"));
  Poco::AutoPtr<Poco::FormattingChannel> channel(new Poco::FormattingChannel(pattern, new Poco::ConsoleChannel));
  Poco::Logger::root().setChannel(channel);
  Poco::Logger::root().setLevel(Poco::Message::PRIO_INFORMATION);
}

// The embedded store serves one host: a second crmhost on the same data_dir would hand out the
// same leases. An advisory lock makes the second one refuse to start.
bool lock_data_dir(const std::string& data_dir) {
  int fd = ::open((data_dir + "/crmhost.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  return fd >= 0 && ::flock(fd, LOCK_EX | LOCK_NB) == 0;  // fd stays open for the process's life
}

// Uniform [0,1) for retry jitter; one generator per thread, seeded from the OS.
double unit_random() {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(gen);
}

}  // namespace

int run_daemon(const std::vector<std::string>& args) {
  std::string config_path, ready_file;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--config" && i + 1 < args.size()) config_path = args[++i];
    else if (args[i] == "--ready-file" && i + 1 < args.size()) ready_file = args[++i];
    else {
      std::cerr << "usage: crmhost run --config FILE [--ready-file PATH]\n";
      return 2;
    }
  }
  if (config_path.empty()) {
    std::cerr << "crmhost: --config FILE is required\n";
    return 2;
  }
  auto config = load_config(config_path);
  if (!config.ok()) {
    std::cerr << "crmhost: config: " << config.error() << "\n";
    return 2;
  }
  configure_logging();
  auto& log = Poco::Logger::get("crmhost");
  block_termination_signals();
  Poco::Net::initializeSSL();

  auto store = Store::open(config->data_dir,
                           config->durability == "full" ? Store::Sync::kFull : Store::Sync::kNormal);
  if (!store.ok()) {
    log.fatal("store: " + store.error());
    return 1;
  }
  if (!lock_data_dir(config->data_dir)) {
    log.fatal("another crmhost is using data_dir " + config->data_dir);
    return 1;
  }
  if (auto released = (*store)->release_all_leases(); released.ok() && *released > 0)
    log.warning(std::to_string(*released) + " deliveries were in flight when the last run stopped; they will be retried");

  SystemClock clock;
  AdapterRegistry registry(config->plugin_dir, config->data_dir + "/adapters", clock);
  registry.load(*config);
  RetryPolicy policy(config->retry, unit_random);
  Dispatcher dispatcher(**store, registry, policy, clock,
                        {config->workers, config->lease_ms, config->deliver_timeout_ms, 5000,
                         config->overrun_margin_ms, config->suspend_after_overruns});
  IngestLimiter limiter(clock);
  Services services{*config, **store, registry, dispatcher, limiter, clock};
  Router router(services);
  add_api_routes(router);
  HttpServer server(
      [&router, max_body = config->max_body](Poco::Net::HTTPServerRequest& req,
                                             Poco::Net::HTTPServerResponse& resp,
                                             ReplyOrder& order) {
        Exchange ex(req, resp, order, max_body);
        router.handle(ex);
      },
      128, {"POST /v1/events HTTP/1.1"}, 0);

  dispatcher.start();
  if (auto s = server.start(config->listen_host, config->listen_port); !s.ok()) {
    log.fatal(s.error());
    dispatcher.stop();
    return 1;
  }
  std::string url = "http://" + config->listen_host + ":" + std::to_string(server.port());
  log.information("listening on " + url + " (durability " + config->durability + ")");
  std::cerr << "crmhost: listening on " << url << std::endl;
  if (!ready_file.empty()) {
    if (auto s = write_file_atomically(ready_file, url); !s.ok()) log.error(s.error());
  }

  PluginDirWatcher watcher(config->plugin_dir, std::chrono::milliseconds(300), [&registry] {
    Poco::Logger::get("crmhost").information("plugin_dir changed: rescanning");
    registry.rescan();
  });
  if (auto s = watcher.start(); !s.ok()) log.warning(s.error() + "; reload with SIGHUP or the admin API");

  int sig;
  while ((sig = wait_for_signal()) == SIGHUP) {
    log.information("SIGHUP: rescanning " + config->plugin_dir);
    registry.rescan();
  }
  log.information("signal " + std::to_string(sig) + ": stopping");
  watcher.stop();
  server.stop();
  dispatcher.stop();
  Poco::Net::uninitializeSSL();
  log.information("stopped");
  return 0;
}

}  // namespace crmhost
