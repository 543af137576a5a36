#include "sink/sink.h"

#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include <csignal>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <mutex>
#include <sstream>

#include "common/files.h"
#include "config/config.h"
#include "http/http_server.h"
#include "secrets/hmac.h"
#include "secrets/secrets.h"
#include "common/signals.h"

namespace crmhost {
namespace {

constexpr long kToleranceSeconds = 300;  // the Standard Webhooks reference libraries' window

struct SinkOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 9090;
  std::string secret;
  std::string ready_file;
};

std::string check(const std::string& secret, const std::string& id, const std::string& ts,
                  const std::string& body, const std::string& signature) {
  if (id.empty() || ts.empty() || signature.empty()) return "missing webhook-id, webhook-timestamp or webhook-signature";
  char* end = nullptr;
  long t = std::strtol(ts.c_str(), &end, 10);
  if (*end != '\0') return "webhook-timestamp is not a number";
  if (std::labs(static_cast<long>(std::time(nullptr)) - t) > kToleranceSeconds)
    return "webhook-timestamp is outside the 5 minute tolerance";
  if (!standard_webhooks_verify(secret, id, ts, body, signature)) return "signature does not match";
  return "";
}

std::string event_type_of(const std::string& body) {
  try {
    auto obj = Poco::JSON::Parser().parse(body).extract<Poco::JSON::Object::Ptr>();
    return obj->optValue<std::string>("event", "?");
  } catch (const Poco::Exception&) {
    return "?";
  }
}

}  // namespace

int run_sink(const std::vector<std::string>& args) {
  SinkOptions opt;
  std::string secret_ref;
  for (size_t i = 0; i < args.size(); ++i) {
    auto value = [&]() -> std::string { return i + 1 < args.size() ? args[++i] : ""; };
    if (args[i] == "--listen") {
      auto address = parse_listen_address(value());
      if (!address.ok()) {
        std::cerr << "crmhost sink: --listen: " << address.error() << "\n";
        return 2;
      }
      opt.host = address->host;
      opt.port = address->port;
    } else if (args[i] == "--secret") {
      secret_ref = value();
    } else if (args[i] == "--ready-file") {
      opt.ready_file = value();
    } else {
      std::cerr << "usage: crmhost sink --listen HOST:PORT --secret env:NAME|file:PATH|whsec_... [--ready-file PATH]\n";
      return 2;
    }
  }
  if (secret_ref.empty()) {
    std::cerr << "crmhost sink: --secret is required (the integration's whsec_ signing secret)\n";
    return 2;
  }
  auto secret = reference_secrets().resolve(secret_ref);
  if (!secret.ok()) {
    std::cerr << "crmhost sink: --secret: " << secret.error() << "\n";
    return 2;
  }
  opt.secret = *secret;

  std::mutex out_mu;  // one arrival's lines stay together
  HttpServer server(
      [&](Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp, ReplyOrder&) {
        std::ostringstream body;
        body << req.stream().rdbuf();
        std::string id = req.get("webhook-id", "");
        std::string why = check(opt.secret, id, req.get("webhook-timestamp", ""), body.str(),
                                req.get("webhook-signature", ""));
        std::string event = event_type_of(body.str());
        {
          std::lock_guard lock(out_mu);
          if (why.empty())
            std::cout << "sink: verified id=" << id << " event=" << event << " bytes=" << body.str().size() << "\n"
                      << body.str() << "\n";
          else
            std::cout << "sink: REJECTED id=" << id << " reason=" << why << "\n";
          std::cout.flush();
        }
        resp.setStatusAndReason(why.empty() ? Poco::Net::HTTPResponse::HTTP_NO_CONTENT
                                   : Poco::Net::HTTPResponse::HTTP_UNAUTHORIZED);
        resp.setContentLength(0);
        resp.send();
      },
      16);
  block_termination_signals();
  if (auto s = server.start(opt.host, opt.port); !s.ok()) {
    std::cerr << "crmhost sink: " << s.error() << "\n";
    return 1;
  }
  std::string url = "http://" + opt.host + ":" + std::to_string(server.port());
  std::cerr << "crmhost sink: listening on " << url << "\n";
  if (!opt.ready_file.empty()) write_file_atomically(opt.ready_file, url);
  wait_for_termination_signal();
  server.stop();
  return 0;
}

}  // namespace crmhost
