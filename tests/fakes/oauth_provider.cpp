#include "fakes/oauth_provider.h"

#include <Poco/Base64Decoder.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>
#include <Poco/String.h>
#include <Poco/URI.h>
#include <openssl/sha.h>

#include <cstdio>
#include <random>
#include <sstream>
#include <thread>


namespace crmhost::testing {
namespace {

std::map<std::string, std::string> parse_form(const std::string& text) {
  std::map<std::string, std::string> out;
  std::stringstream in(text);
  for (std::string pair; std::getline(in, pair, '&');) {
    size_t eq = pair.find('=');
    std::string k, v;
    Poco::URI::decode(pair.substr(0, eq), k, true);
    if (eq != std::string::npos) Poco::URI::decode(pair.substr(eq + 1), v, true);
    out[k] = v;
  }
  return out;
}

std::string s256(const std::string& verifier) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(verifier.data()), verifier.size(), digest);
  static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  int bits = 0, value = 0;
  for (unsigned char c : digest) {
    value = (value << 8) | c;
    bits += 8;
    while (bits >= 6) out.push_back(a[(value >> (bits -= 6)) & 63]);
  }
  if (bits > 0) out.push_back(a[(value << (6 - bits)) & 63]);
  return out;
}

}  // namespace

OAuthProfile OAuthProfile::Salesforce() {
  OAuthProfile p;
  p.name = "salesforce";
  p.expires_in = -1;
  p.api_base_field = "instance_url";
  return p;
}
OAuthProfile OAuthProfile::HubSpot() {
  OAuthProfile p;
  p.name = "hubspot";
  p.expires_in = 1800;
  return p;
}
OAuthProfile OAuthProfile::Microsoft() {
  OAuthProfile p;
  p.name = "microsoft";
  p.expires_in = 3599;
  p.rotate_refresh_token = true;
  return p;
}
OAuthProfile OAuthProfile::Zoho() {
  OAuthProfile p;
  p.name = "zoho";
  p.expires_in = 3600;
  p.refresh_returns_refresh_token = false;
  p.api_base_field = "api_domain";
  p.errors_with_200 = true;
  p.scheme = "Zoho-oauthtoken";
  return p;
}

class OAuthProvider::Handler : public Poco::Net::HTTPRequestHandler {
 public:
  explicit Handler(OAuthProvider& owner) : owner_(owner) {}
  void handleRequest(Poco::Net::HTTPServerRequest& request,
                     Poco::Net::HTTPServerResponse& response) override {
    std::map<std::string, std::string> headers;
    for (const auto& [k, v] : request) headers[Poco::toLower(k)] = v;
    std::string body;
    Poco::StreamCopier::copyToString(request.stream(), body);
    int status = 200;
    std::string type = "application/json", location, answer;
    {
      std::lock_guard lock(owner_.mu_);
      ++owner_.handling_;
    }
    struct Done {
      OAuthProvider& o;
      ~Done() {
        std::lock_guard lock(o.mu_);
        --o.handling_;
        o.idle_.notify_all();
      }
    } done{owner_};
    owner_.Handle(request.getMethod(), request.getURI(), headers, body, &status, &type, &location,
                  &answer);
    response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
    if (!location.empty()) response.set("Location", location);
    response.setContentType(type);
    response.sendBuffer(answer.data(), answer.size());
  }

 private:
  OAuthProvider& owner_;
};

namespace {
class Factory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit Factory(OAuthProvider& owner) : owner_(owner) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new OAuthProvider::Handler(owner_);
  }

 private:
  OAuthProvider& owner_;
};
}  // namespace

OAuthProvider::OAuthProvider(OAuthProfile profile, std::string client_id, std::string client_secret)
    : profile_(std::move(profile)),
      client_id_(std::move(client_id)),
      client_secret_(std::move(client_secret)) {
  Poco::Net::ServerSocket socket;
  socket.bind(Poco::Net::SocketAddress("127.0.0.1", 0), false);
  socket.listen(256);
  port_ = socket.address().port();
  auto* params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(64);
  params->setMaxQueued(512);
  server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(*this), socket, params);
  server_->start();
}

// Handlers still running (a slow answer) finish before the fake goes: they use it.
OAuthProvider::~OAuthProvider() {
  {
    std::unique_lock lock(mu_);
    stopping_ = true;
    idle_.notify_all();
    idle_.wait(lock, [&] { return handling_ == 0; });
  }
  server_->stopAll(true);
}

void OAuthProvider::Pause(int ms) {
  std::unique_lock lock(mu_);
  idle_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return stopping_; });
}

std::string OAuthProvider::base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
std::string OAuthProvider::api_base() const { return base_url() + "/instance"; }

void OAuthProvider::ExpireAccessTokens() {
  std::lock_guard lock(mu_);
  access_tokens_.clear();
}
void OAuthProvider::RevokeRefreshTokens() {
  std::lock_guard lock(mu_);
  refresh_tokens_.clear();
}
void OAuthProvider::AcceptStaticToken(std::string name, std::string value) {
  std::lock_guard lock(mu_);
  static_tokens_.insert({Poco::toLower(name), std::move(value)});
}
void OAuthProvider::AddContact(std::string email, std::string json) {
  std::lock_guard lock(mu_);
  contacts_[std::move(email)] = std::move(json);
}
void OAuthProvider::FailNextCodeExchange(std::string error) {
  std::lock_guard lock(mu_);
  fail_next_code_ = std::move(error);
}
int OAuthProvider::token_requests(const std::string& grant) const {
  std::lock_guard lock(mu_);
  auto it = token_requests_.find(grant);
  return it == token_requests_.end() ? 0 : it->second;
}
std::string OAuthProvider::last_api_path() const {
  std::lock_guard lock(mu_);
  return last_api_path_;
}
std::string OAuthProvider::last_code_challenge() const {
  std::lock_guard lock(mu_);
  return last_challenge_;
}
std::set<std::string> OAuthProvider::issued_tokens() const {
  std::lock_guard lock(mu_);
  return issued_;
}

std::string OAuthProvider::Issue(const std::string& prefix) {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(random()));
  std::string t = prefix + "-" + profile_.name + "-" + std::to_string(++counter_) + "-" + hex;
  issued_.insert(t);
  return t;
}

std::string OAuthProvider::TokenAnswer(bool with_refresh, const std::string& refresh) {
  std::string access = Issue("at");
  access_tokens_.insert(access);
  std::string json = "{\"access_token\":\"" + access + "\",\"token_type\":\"Bearer\"";
  if (with_refresh) json += ",\"refresh_token\":\"" + refresh + "\"";
  if (profile_.expires_in >= 0) {
    json += ",\"expires_in\":";
    json += profile_.expires_in_as_string ? "\"" + std::to_string(profile_.expires_in) + "\""
                                          : std::to_string(profile_.expires_in);
  }
  if (!profile_.api_base_field.empty())
    json += ",\"" + profile_.api_base_field + "\":\"" + api_base() + "\"";
  return json + "}";
}

std::string OAuthProvider::Error(int* status, const std::string& error,
                                 const std::string& description) {
  *status = profile_.errors_with_200 ? 200 : 400;
  if (profile_.name == "hubspot" && error == "invalid_grant")
    return R"({"status":"BAD_REFRESH_TOKEN","message":"missing or invalid refresh token","correlationId":"c0ffee"})";
  if (profile_.name == "microsoft")
    return "{\"error\":\"" + error + "\",\"error_description\":\"AADSTS70008: " + description +
           "\",\"error_codes\":[70008]}";
  if (profile_.errors_with_200) return "{\"error\":\"" + error + "\"}";
  return "{\"error\":\"" + error + "\",\"error_description\":\"" + description + "\"}";
}

void OAuthProvider::Handle(const std::string& method, const std::string& uri,
                           const std::map<std::string, std::string>& headers,
                           const std::string& body, int* status, std::string* type,
                           std::string* location, std::string* answer) {
  Poco::URI parsed(uri);
  const std::string path = parsed.getPath();
  if (method == "GET" && path == "/authorize") {
    std::map<std::string, std::string> q;
    for (const auto& [k, v] : parsed.getQueryParameters()) q[k] = v;
    if (q["client_id"] != client_id_ || q["response_type"] != "code" || q["redirect_uri"].empty()) {
      *status = 400;
      *answer = R"({"error":"invalid_request"})";
      return;
    }
    std::lock_guard lock(mu_);
    std::string code = Issue("code");
    codes_[code] = q["code_challenge_method"] == "S256" ? q["code_challenge"] : "";
    last_challenge_ = q["code_challenge"];
    *status = 302;
    *location = q["redirect_uri"] + "?code=" + code + "&state=" + q["state"];
    *type = "text/plain";
    return;
  }
  if (method == "POST" && path == "/token") {
    if (int delay = token_delay_ms_.load(); delay > 0) Pause(delay);
    auto form = parse_form(body);
    std::string id = form["client_id"], secret = form["client_secret"];
    if (auto auth = headers.find("authorization"); auth != headers.end() && auth->second.rfind("Basic ", 0) == 0) {
      std::istringstream in(auth->second.substr(6));
      Poco::Base64Decoder decoder(in);
      std::string pair((std::istreambuf_iterator<char>(decoder)), std::istreambuf_iterator<char>());
      id = pair.substr(0, pair.find(':'));
      secret = pair.substr(pair.find(':') + 1);
    }
    std::lock_guard lock(mu_);
    ++token_requests_[form["grant_type"]];
    if (id != client_id_ || secret != client_secret_) {
      *answer = Error(status, "invalid_client", "client authentication failed");
      return;
    }
    const std::string grant = form["grant_type"];
    if (grant == "authorization_code") {
      auto code = codes_.find(form["code"]);
      if (!fail_next_code_.empty()) {
        *answer = Error(status, fail_next_code_, "the code exchange was refused");
        fail_next_code_.clear();
        return;
      }
      if (code == codes_.end()) {
        *answer = Error(status, "invalid_grant", "authorization code is invalid or was used");
        return;
      }
      if (!code->second.empty() && s256(form["code_verifier"]) != code->second) {
        *answer = Error(status, "invalid_grant", "PKCE verification failed");
        return;
      }
      codes_.erase(code);
      std::string refresh = Issue("rt");
      refresh_tokens_.insert(refresh);
      *answer = TokenAnswer(true, refresh);
      return;
    }
    if (grant == "refresh_token") {
      if (!refresh_tokens_.count(form["refresh_token"])) {
        *answer = Error(status, "invalid_grant", "expired access/refresh token");
        return;
      }
      std::string refresh = form["refresh_token"];
      if (profile_.rotate_refresh_token) {
        refresh = Issue("rt");
        refresh_tokens_.insert(refresh);  // the old one is not revoked (Microsoft)
      }
      *answer = TokenAnswer(profile_.refresh_returns_refresh_token, refresh);
      return;
    }
    if (grant == "client_credentials") {
      *answer = TokenAnswer(false, "");
      return;
    }
    *answer = Error(status, "unsupported_grant_type", grant);
    return;
  }
  if (path.rfind("/instance/api/", 0) == 0 || path.rfind("/api/", 0) == 0) {
    if (int delay = api_delay_ms_.load(); delay > 0) Pause(delay);
    std::string auth;
    if (auto it = headers.find("authorization"); it != headers.end()) auth = it->second;
    std::lock_guard lock(mu_);
    last_api_path_ = path;
    const std::string prefix = profile_.scheme + " ";
    bool static_ok = false;
    for (const auto& [name, value] : static_tokens_)
      if (auto it = headers.find(name); it != headers.end() && it->second == value) static_ok = true;
    if (static_ok || (auth.rfind(prefix, 0) == 0 && access_tokens_.count(auth.substr(prefix.size())))) {
      ++api_accepted_;
      if (path.size() >= 13 && path.compare(path.size() - 13, 13, "/api/contacts") == 0) {
        std::string email;
        for (const auto& [k, v] : parsed.getQueryParameters())
          if (k == "email") email = v;
        auto it = contacts_.find(email);
        *status = it == contacts_.end() ? 404 : 200;
        *answer = it == contacts_.end() ? R"({"error":"not found"})" : it->second;
        return;
      }
      *status = method == "POST" ? 201 : 200;
      *answer = R"({"ok":true})";
      return;
    }
    ++api_rejected_;
    *status = 401;
    *answer = R"([{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}])";
    return;
  }
  *status = 404;
  *answer = R"({"error":"not_found"})";
}

}  // namespace crmhost::testing
