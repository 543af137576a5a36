#include "daemon/key_commands.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/URI.h>

#include <filesystem>
#include <iostream>
#include <sstream>

#include "common/clock.h"
#include "config/config.h"
#include "secrets/vault.h"
#include "store/sqlite/sqlite_store.h"

namespace crmhost {
namespace {

// Asks the running daemon to rotate. Returns the exit code.
int rotate_through_daemon(const Config& config, const std::string& admin_url,
                          const std::string& key_ref) {
  std::string url = admin_url;
  if (url.empty()) {
    const std::string host = config.has_admin_listen ? config.admin_listen_host : config.listen_host;
    const uint16_t port = config.has_admin_listen ? config.admin_listen_port : config.listen_port;
    if (port == 0) {
      std::cerr << "crmhost: the daemon listens on an ephemeral port; pass --admin-url\n";
      return 2;
    }
    url = "http://" + host + ":" + std::to_string(port);
  }
  if (config.admin_key_ref.empty()) {
    std::cerr << "crmhost: the config has no admin_key, which rotating through the daemon needs\n";
    return 2;
  }
  auto admin_key = reference_secrets().resolve(config.admin_key_ref);
  if (!admin_key.ok()) {
    std::cerr << "crmhost: admin_key: " << admin_key.error() << "\n";
    return 2;
  }
  try {
    Poco::URI uri(url);
    Poco::Net::HTTPClientSession session(uri.getHost(), uri.getPort());
    session.setTimeout(Poco::Timespan(120, 0));
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, "/v1/master-key/rotate",
                                   Poco::Net::HTTPMessage::HTTP_1_1);
    Poco::JSON::Object body;
    body.set("new_key", key_ref);
    std::ostringstream text;
    body.stringify(text);
    request.setContentType("application/json");
    request.set("Authorization", "Bearer " + *admin_key);
    request.setContentLength(static_cast<std::streamsize>(text.str().size()));
    session.sendRequest(request) << text.str();
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    std::string answer((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (response.getStatus() != Poco::Net::HTTPResponse::HTTP_OK) {
      std::cerr << "crmhost: the daemon refused the rotation (" << response.getStatus() << "): "
                << answer << "\n";
      return 1;
    }
    auto doc = Poco::JSON::Parser().parse(answer).extract<Poco::JSON::Object::Ptr>();
    std::cout << "crmhost: the running daemon re-sealed every secret under master key "
              << doc->getValue<std::string>("key_id") << "\n";
    return 0;
  } catch (const Poco::Exception& e) {
    std::cerr << "crmhost: cannot reach the daemon at " << url << ": " << e.displayText() << "\n";
    return 1;
  }
}

}  // namespace

int run_keygen(const std::vector<std::string>& args) {
  if (args.size() != 1) {
    std::cerr << "usage: crmhost keygen PATH\n";
    return 2;
  }
  auto id = write_new_master_key(args[0]);
  if (!id.ok()) {
    std::cerr << "crmhost: keygen: " << id.error() << "\n";
    return id.error_kind() == ErrorKind::kBadInput ? 2 : 1;
  }
  std::cout << "crmhost: wrote master key " << *id << " to " << args[0]
            << " (mode 0600); set master_key: file:" << args[0] << "\n";
  return 0;
}

int run_rotate_key(const std::vector<std::string>& args) {
  std::string config_path, new_key_path, admin_url;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--config" && i + 1 < args.size()) config_path = args[++i];
    else if (args[i] == "--new-key" && i + 1 < args.size()) new_key_path = args[++i];
    else if (args[i] == "--admin-url" && i + 1 < args.size()) admin_url = args[++i];
    else config_path.clear(), i = args.size();
  }
  if (config_path.empty() || new_key_path.empty()) {
    std::cerr << "usage: crmhost rotate-key --config FILE --new-key PATH [--admin-url URL]\n";
    return 2;
  }
  auto config = load_config(config_path);
  if (!config.ok()) {
    std::cerr << "crmhost: config: " << config.error() << "\n";
    return 2;
  }
  const std::string key_ref = "file:" + std::filesystem::absolute(new_key_path).string();
  auto next = load_master_key(key_ref);
  if (!next.ok()) {
    std::cerr << "crmhost: --new-key: " << next.error() << "\n";
    return 2;
  }
  if (config->master_key_ref.empty()) {
    std::cerr << "crmhost: the config has no master_key to rotate from\n";
    return 2;
  }
  auto store = SqliteStore::open(config->data_dir, SqliteStore::Sync::kFull);
  if (!store.ok()) {
    if (store.error().find("another crmhost is using") != std::string::npos)
      return rotate_through_daemon(*config, admin_url, key_ref);
    std::cerr << "crmhost: store: " << store.error() << "\n";
    return 1;
  }
  auto current = load_master_key(config->master_key_ref);
  if (!current.ok()) {
    std::cerr << "crmhost: master_key: " << current.error() << "\n";
    return 2;
  }
  const std::string old_id = current->id, new_id = next->id;
  Vault vault(**store, std::make_unique<Keyring>(std::move(*current)));
  if (auto checked = vault.check(); !checked.ok()) {
    std::cerr << "crmhost: " << checked.error() << "\n";
    return 1;
  }
  SystemClock clock;
  AuditEntry audit{clock.wall_ms(), "cli", "master_key.rotate", "", "master_key",
                   old_id + " -> " + new_id, "ok"};
  if (auto rotated = vault.rotate(std::move(*next), audit); !rotated.ok()) {
    std::cerr << "crmhost: rotation failed, nothing changed: " << rotated.error() << "\n";
    return 1;
  }
  std::cout << "crmhost: re-sealed every secret under master key " << new_id
            << "; set master_key: " << key_ref << " before the next start\n";
  return 0;
}

}  // namespace crmhost
