#include "daemon/daemon.h"

#include <Poco/Logger.h>
#include <Poco/Net/SSLManager.h>

#include <csignal>
#include <iostream>
#include <random>

#include "admin/admin_routes.h"
#include "common/files.h"
#include "common/signals.h"
#include "config/config.h"
#include "daemon/log_lines.h"
#include "delivery/dispatcher.h"
#include "http/http_server.h"
#include "http/router.h"
#include "ingress/ingest_limiter.h"
#include "ingress/ingress_routes.h"
#include "plugins/adapter_registry.h"
#include "plugins/contact_lookup.h"
#include "plugins/http_client.h"
#include "oauth/broker.h"
#include "plugins/plugin_dir_watcher.h"
#include "secrets/secrets.h"
#include "secrets/vault.h"
#include "store/sqlite/sqlite_store.h"
#include "tenancy/directory.h"

namespace crmhost {
namespace {

// How long the shutdown waits for look-up threads finishing after their deadline.
constexpr int64_t kLookupDrainMs = 5000;

// Uniform [0,1) for retry jitter; one generator per thread, seeded from the OS.
double unit_random() {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(gen);
}

// One listener: its server and the route table it serves.
struct Listener {
  std::unique_ptr<Router> router;
  std::unique_ptr<HttpServer> server;
};

Listener make_listener(const Config& config, std::unique_ptr<Router> router) {
  Listener l;
  l.router = std::move(router);
  Router& r = *l.router;
  l.server = std::make_unique<HttpServer>(
      [&r, max_body = config.max_body](Poco::Net::HTTPServerRequest& req,
                                       Poco::Net::HTTPServerResponse& resp, ReplyOrder& order) {
        Exchange ex(req, resp, order, max_body);
        r.handle(ex);
      },
      128, r.event_loop_requests(), 0);
  return l;
}

}  // namespace

int run_daemon(const std::vector<std::string>& args) {
  std::string config_path, ready_file;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--config" && i + 1 < args.size())
      config_path = args[++i];
    else if (args[i] == "--ready-file" && i + 1 < args.size())
      ready_file = args[++i];
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
  configure_logging(config->log_format);
  auto& log = Poco::Logger::get("crmhost");
  block_termination_signals();
  Poco::Net::initializeSSL();

  // The engine locks data_dir before it opens or migrates anything.
  auto store = SqliteStore::open(config->data_dir, config->durability == "full"
                                                       ? SqliteStore::Sync::kFull
                                                       : SqliteStore::Sync::kNormal);
  if (!store.ok()) {
    log.fatal("store: " + store.error());
    return 1;
  }
  if (int released = (*store)->leases_released_at_open(); released > 0)
    log.warning(std::to_string(released) +
                " deliveries were in flight when the last run stopped; they will be retried");

  // Secrets sealed in the store open only with the master key they name: refuse to start
  // without it rather than serve integrations that cannot sign or authenticate.
  std::unique_ptr<Keyring> keyring;
  if (!config->master_key_ref.empty()) {
    auto key = load_master_key(config->master_key_ref);
    if (!key.ok()) {
      log.fatal("master_key: " + key.error());
      return 2;
    }
    log.information("master key " + key->id + " seals secrets");
    keyring = std::make_unique<Keyring>(std::move(*key));
  }
  Vault vault(**store, std::move(keyring));
  if (auto checked = vault.check(); !checked.ok()) {
    log.fatal("master_key: " + checked.error());
    return 1;
  }
  Directory directory(*config, **store);
  if (auto loaded = directory.refresh(); !loaded.ok()) {
    if (loaded.error_kind() != ErrorKind::kConflict) {
      log.fatal("store: " + loaded.error());
      return 1;
    }
    log.warning(loaded.error());
  }

  SystemClock clock;
  Metrics metrics;
  VaultSecrets secrets(vault, reference_secrets());
  // The broker attaches credentials to the registry's instances and finds them through it.
  AdapterRegistry* serving = nullptr;
  OAuthBroker oauth(vault, secrets, clock, [&clock] { return std::make_unique<HttpClient>(clock); },
                    [&serving](const IntegrationKey& key) { return serving->integration(key); },
                    metrics);
  AdapterRegistry registry(config->plugin_dir, config->data_dir + "/adapters", clock, secrets,
                           &oauth);
  serving = &registry;
  // The broker's idle refresh reads the registry: it stops before the registry goes, however
  // run_daemon returns.
  struct StopOAuth {
    OAuthBroker& broker;
    ~StopOAuth() { broker.stop(); }
  } stop_oauth{oauth};
  registry.load(directory.snapshot()->integrations());
  oauth.start_idle_refresh([&registry] { return registry.serving(); },
                           config->oauth_idle_refresh_ms);
  RetryPolicy policy(config->retry, unit_random);
  Dispatcher dispatcher(
      **store, registry, policy, clock, [&clock] { return std::make_unique<HttpClient>(clock); },
      {config->workers, config->lease_ms, config->deliver_timeout_ms, config->park_delay_ms,
       config->overrun_margin_ms, config->suspend_after_overruns, config->log_failure_summary_ms},
      metrics);
  (*store)->on_deliveries_due([&dispatcher] { dispatcher.wake(); });
  IngestLimiter limiter(clock);

  // Every route table is built here. The tenant API and the operator API share `listen` unless
  // `admin_listen` gives the operator API its own address.
  IngressServices ingress{*config, **store, limiter, registry, clock, metrics};
  ReplayJobs jobs(**store, **store, clock);
  AdminServices admin{*config, **store, **store, directory, vault, registry, dispatcher, oauth,
                      jobs, clock, metrics};
  auto tenants = [&directory](const std::string& key_hash) {
    return directory.tenant_by_key_hash(key_hash);
  };
  auto tenant_routes = std::make_unique<Router>(config->admin_key_hash, tenants);
  add_ingress_routes(*tenant_routes, ingress);
  add_tenant_integration_routes(*tenant_routes, admin);
  add_operations_routes(*tenant_routes, admin);
  add_health_routes(*tenant_routes, admin);
  std::unique_ptr<Router> admin_routes;
  if (config->has_admin_listen) {
    admin_routes = std::make_unique<Router>(config->admin_key_hash, tenants);
    add_health_routes(*admin_routes, admin);
    add_operations_routes(*admin_routes, admin);
    add_admin_routes(*admin_routes, admin);
  } else {
    add_admin_routes(*tenant_routes, admin);
  }
  Listener tenant_listener = make_listener(*config, std::move(tenant_routes));
  Listener admin_listener;
  if (admin_routes) admin_listener = make_listener(*config, std::move(admin_routes));

  dispatcher.start();
  auto stop_servers = [&] {
    if (admin_listener.server) admin_listener.server->stop();
    tenant_listener.server->stop();
  };
  if (auto s = tenant_listener.server->start(config->listen_host, config->listen_port); !s.ok()) {
    log.fatal(s.error());
    dispatcher.stop();
    return 1;
  }
  std::string admin_url;
  if (admin_listener.server) {
    if (auto s = admin_listener.server->start(config->admin_listen_host, config->admin_listen_port);
        !s.ok()) {
      log.fatal("admin_listen: " + s.error());
      stop_servers();
      dispatcher.stop();
      return 1;
    }
    admin_url =
        "http://" + config->admin_listen_host + ":" + std::to_string(admin_listener.server->port());
    log.information("operator API on " + admin_url);
  }
  std::string url =
      "http://" + config->listen_host + ":" + std::to_string(tenant_listener.server->port());
  oauth.set_public_url(config->public_url.empty() ? url : config->public_url);
  log.information("listening on " + url + " (durability " + config->durability + ")");
  // For a person at a terminal; JSON lines carry it in the log line above.
  if (config->log_format == "text") std::cerr << "crmhost: listening on " << url << std::endl;
  if (!ready_file.empty()) {
    // The admin URL first, so that a reader who sees the ready file finds both.
    if (!admin_url.empty())
      if (auto s = write_file_atomically(ready_file + ".admin", admin_url); !s.ok())
        log.error(s.error());
    if (auto s = write_file_atomically(ready_file, url); !s.ok()) log.error(s.error());
  }

  PluginDirWatcher watcher(config->plugin_dir, std::chrono::milliseconds(300), [&registry] {
    Poco::Logger::get("crmhost").information("plugin_dir changed: rescanning");
    registry.rescan();
  });
  if (auto s = watcher.start(); !s.ok())
    log.warning(s.error() + "; reload with SIGHUP or the admin API");

  int sig;
  while ((sig = wait_for_signal()) == SIGHUP) {
    log.information("SIGHUP: rescanning " + config->plugin_dir);
    registry.rescan();
  }
  log.information("signal " + std::to_string(sig) + ": stopping");
  watcher.stop();
  stop_servers();
  // A look-up answered at its deadline may still be finishing its CRM call; its HTTP deadline
  // has passed, so it returns at once, but it must not outlive what it uses.
  if (!drain_contact_lookups(kLookupDrainMs))
    log.warning("a contact look-up is still running after " + std::to_string(kLookupDrainMs) +
                " ms; stopping anyway");
  (*store)->on_deliveries_due(nullptr);  // the dispatcher goes before the store
  dispatcher.stop();
  oauth.stop();
  Poco::Net::uninitializeSSL();
  log.information("stopped");
  return 0;
}

}  // namespace crmhost
