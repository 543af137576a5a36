#include "fakes/fake_crm.h"

#include <Poco/Base64Decoder.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>
#include <Poco/String.h>
#include <Poco/URI.h>

#include <chrono>
#include <sstream>

namespace crmhost::testing {

std::string FakeRequest::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

std::string FakeRequest::bearer() const {
  std::string auth = header("authorization");
  if (auth.size() > 7 && Poco::icompare(auth.substr(0, 7), "bearer ") == 0) return auth.substr(7);
  return "";
}

class FakeCrm::Handler : public Poco::Net::HTTPRequestHandler {
 public:
  explicit Handler(FakeCrm& owner) : owner_(owner) {}
  void handleRequest(Poco::Net::HTTPServerRequest& in,
                     Poco::Net::HTTPServerResponse& response) override {
    FakeRequest request;
    request.method = in.getMethod();
    const std::string& uri = in.getURI();
    size_t q = uri.find('?');
    request.raw_path = uri.substr(0, q);
    Poco::URI::decode(request.raw_path, request.path);
    if (q != std::string::npos) request.query = ParseForm(uri.substr(q + 1));
    for (const auto& [k, v] : in) request.headers[Poco::toLower(k)] = v;
    Poco::StreamCopier::copyToString(in.stream(), request.body);

    FakeAnswer answer;
    int wait_ms = 0;
    bool reset = false;
    owner_.Serve(request, &answer, &wait_ms, &reset);
    if (wait_ms > 0) owner_.Pause(wait_ms);
    struct Done {  // the fake outlives every answer it is writing
      FakeCrm& o;
      ~Done() {
        std::lock_guard lock(o.mu_);
        --o.handling_;
        o.idle_.notify_all();
      }
    } done{owner_};
    if (reset) {
      // Close without an answer: the client sees the connection end mid-exchange.
      response.setKeepAlive(false);
      static_cast<Poco::Net::HTTPServerRequestImpl&>(in).socket().shutdown();
      return;
    }
    response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(answer.status));
    for (const auto& [name, value] : answer.headers) response.set(name, value);
    if (answer.body.empty()) {
      response.setContentLength(0);
      response.send();
      return;
    }
    response.setContentType(answer.content_type);
    response.sendBuffer(answer.body.data(), answer.body.size());
  }

 private:
  FakeCrm& owner_;
};

namespace {
class Factory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit Factory(FakeCrm& owner) : owner_(owner) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new FakeCrm::Handler(owner_);
  }

 private:
  FakeCrm& owner_;
};
}  // namespace

FakeCrm::FakeCrm(std::string client_id, std::string client_secret)
    : client_id_(std::move(client_id)), client_secret_(std::move(client_secret)) {}

FakeCrm::~FakeCrm() { Stop(); }

void FakeCrm::Start() {
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

// Answers still being written (a slow one) finish first: they use the fake. Idempotent.
void FakeCrm::Stop() {
  if (!server_) return;
  {
    std::unique_lock lock(mu_);
    stopping_ = true;
    idle_.notify_all();
    idle_.wait(lock, [&] { return handling_ == 0; });
  }
  server_->stopAll(true);
  server_.reset();
}

void FakeCrm::Pause(int ms) {
  std::unique_lock lock(mu_);
  idle_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return stopping_; });
}

std::string FakeCrm::base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

void FakeCrm::Serve(const FakeRequest& request, FakeAnswer* answer, int* wait_ms, bool* reset) {
  std::lock_guard lock(mu_);
  ++handling_;
  if (IsTokenRequest(request)) {
    ++token_requests_;
    *answer = TokenRequest(request);
    return;
  }
  *wait_ms = delay_ms_;
  ServedRequest served{std::chrono::steady_clock::now(), request.method, request.path, request.body,
                       request.raw_path, request.query, request.headers};
  if (reset_next_ > 0) {
    --reset_next_;
    *reset = true;
  } else if (fail_next_ > 0) {
    --fail_next_;
    *answer = ServerError(fail_status_);
  } else if (rate_limit_after_ == 0) {
    *answer = RateLimited(request);
  } else {
    if (rate_limit_after_ > 0) --rate_limit_after_;
    std::string token = request.bearer();
    bool authorized = (!token.empty() && access_tokens_.count(token)) ||
                      static_tokens_.count(token);
    *answer = Handle(request, authorized);
    bool matches = (commit_timeout_method_.empty() || commit_timeout_method_ == request.method) &&
                   request.path.find(commit_timeout_path_) != std::string::npos;
    if (commit_timeout_next_ > 0 && matches) {
      --commit_timeout_next_;
      *wait_ms += commit_timeout_ms_;
    }
  }
  served.status = *reset ? 0 : answer->status;
  served_.push_back(std::move(served));
}

void FakeCrm::FailNext(int n, int status) {
  std::lock_guard lock(mu_);
  fail_next_ = n;
  fail_status_ = status;
}
void FakeCrm::SetDelayMs(int ms) {
  std::lock_guard lock(mu_);
  delay_ms_ = ms;
}
void FakeCrm::CommitThenTimeoutNext(int n, int ms) { CommitThenTimeoutOn("", "", n, ms); }
void FakeCrm::CommitThenTimeoutOn(const std::string& method, const std::string& path_part, int n,
                                  int ms) {
  std::lock_guard lock(mu_);
  commit_timeout_method_ = method;
  commit_timeout_path_ = path_part;
  commit_timeout_next_ = n;
  commit_timeout_ms_ = ms;
}
void FakeCrm::ResetNext(int n) {
  std::lock_guard lock(mu_);
  reset_next_ = n;
}
void FakeCrm::RateLimitAfter(int n) {
  std::lock_guard lock(mu_);
  rate_limit_after_ = n;
}
void FakeCrm::ClearRateLimit() {
  std::lock_guard lock(mu_);
  rate_limit_after_ = -1;
}
void FakeCrm::ExpireAccessTokens() {
  std::lock_guard lock(mu_);
  access_tokens_.clear();
}
void FakeCrm::AcceptStaticToken(const std::string& token) {
  std::lock_guard lock(mu_);
  static_tokens_.insert(token);
}
int FakeCrm::token_requests() const {
  std::lock_guard lock(mu_);
  return token_requests_;
}
std::vector<ServedRequest> FakeCrm::served() const {
  std::lock_guard lock(mu_);
  return served_;
}
int FakeCrm::count(const std::string& method, const std::string& path_prefix) const {
  std::lock_guard lock(mu_);
  int n = 0;
  for (const auto& r : served_)
    if (r.method == method && r.path.rfind(path_prefix, 0) == 0) ++n;
  return n;
}

std::string FakeCrm::IssueAccessToken() {
  std::string token = "at-" + std::to_string(++counter_) + "-" + std::to_string(port_);
  access_tokens_.insert(token);
  return token;
}
std::string FakeCrm::IssueRefreshToken() {
  std::string token = "rt-" + std::to_string(++counter_) + "-" + std::to_string(port_);
  refresh_tokens_.insert(token);
  return token;
}
bool FakeCrm::RefreshTokenValid(const std::string& token) const {
  return refresh_tokens_.count(token) > 0;
}

bool FakeCrm::ClientMatches(const FakeRequest& request,
                            const std::map<std::string, std::string>& form) const {
  std::string id, secret;
  if (auto it = form.find("client_id"); it != form.end()) id = it->second;
  if (auto it = form.find("client_secret"); it != form.end()) secret = it->second;
  std::string auth = request.header("authorization");
  if (auth.rfind("Basic ", 0) == 0) {
    std::istringstream in(auth.substr(6));
    Poco::Base64Decoder decoder(in);
    std::string pair;
    Poco::StreamCopier::copyToString(decoder, pair);
    size_t colon = pair.find(':');
    Poco::URI::decode(pair.substr(0, colon), id);
    if (colon != std::string::npos) Poco::URI::decode(pair.substr(colon + 1), secret);
  }
  return id == client_id_ && secret == client_secret_;
}

std::map<std::string, std::string> FakeCrm::ParseForm(const std::string& text) {
  std::map<std::string, std::string> out;
  std::stringstream in(text);
  for (std::string pair; std::getline(in, pair, '&');) {
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string k, v;
    Poco::URI::decode(pair.substr(0, eq), k, true);
    if (eq != std::string::npos) Poco::URI::decode(pair.substr(eq + 1), v, true);
    out[k] = v;
  }
  return out;
}

}  // namespace crmhost::testing
