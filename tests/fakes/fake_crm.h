// What every fake CRM shares: a real HTTP server on 127.0.0.1 (a free port), a book of the access
// tokens it issued, a log of the API requests it served, and the scriptable faults of the
// contracts' tests (../shared/crm-contracts.md §5): a status for the next N requests, slow
// answers, commit-then-timeout, a reset, and a rate limit after N requests. A vendor's fake
// (salesforce_fake.h, hubspot_fake.h, dataverse_fake.h) derives from it and writes only the
// vendor's own paths, bodies and error shapes.
//
// THREADING: Poco serves each connection on its own thread; Handle(), TokenRequest() and
// RateLimited() run one at a time under mu(), so a vendor fake's state needs no lock of its own
// inside them. Every public method is thread-safe (it takes mu()). A derived class calls Start()
// at the end of its constructor and Stop() first in its destructor.
#pragma once

#include <Poco/Net/HTTPServer.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace crmhost::testing {

struct FakeRequest {
  std::string method;                          // "GET", "POST", "PATCH", ...
  std::string path;                            // percent-decoded path, no query
  std::string raw_path;                        // the path as it came on the wire
  std::map<std::string, std::string> query;    // decoded ('+' as space) name -> value
  std::map<std::string, std::string> headers;  // lower-case name -> value
  std::string body;
  // The header's value, "" when absent; `name` in lower case.
  std::string header(const std::string& name) const;
  // The token after "Bearer " in Authorization, "" when there is none.
  std::string bearer() const;
};

struct FakeAnswer {
  int status = 200;
  std::string body;                                          // empty: no body (204)
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // besides Content-Type
};

// One API request as served: method, path (decoded) and body, for the tests' assertions.
struct ServedRequest {
  std::chrono::steady_clock::time_point at;  // when it arrived
  std::string method, path, body;
  std::string raw_path;  // as it came on the wire, percent-escapes kept
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> headers;
  int status = 0;
};

class FakeCrm {
 public:
  FakeCrm(std::string client_id, std::string client_secret);
  virtual ~FakeCrm();
  FakeCrm(const FakeCrm&) = delete;
  FakeCrm& operator=(const FakeCrm&) = delete;

  std::string base_url() const;  // http://127.0.0.1:PORT

  // --- faults, on API requests only (a token request is never faulted) ---
  // The next `n` requests answer `status` (500, 503, ...) with the vendor's error body, changing
  // nothing.
  void FailNext(int n, int status);
  // Every answer waits this long first.
  void SetDelayMs(int ms);
  // The next `n` requests are carried out (the write is committed), then the answer waits `ms`
  // (set past the client's deadline): the client sees a timeout for a write that happened.
  void CommitThenTimeoutNext(int n, int ms);
  // The same, for the next `n` requests with this method whose path contains `path_part`.
  void CommitThenTimeoutOn(const std::string& method, const std::string& path_part, int n, int ms);
  // The next `n` requests are answered by closing the connection, changing nothing.
  void ResetNext(int n);
  // After `n` more requests, every request answers the vendor's rate limit (RateLimited()) until
  // ClearRateLimit(); n = 0: from the next one.
  void RateLimitAfter(int n);
  void ClearRateLimit();

  // --- tokens ---
  // Every access token stops working: the API answers the vendor's 401 until a new one is got.
  void ExpireAccessTokens();
  // A token the API accepts as it is (a private-app token, an API token).
  void AcceptStaticToken(const std::string& token);
  int token_requests() const;

  // --- what was served ---
  std::vector<ServedRequest> served() const;  // API requests, oldest first (token ones excluded)
  // How many served API requests had this method and a path starting with `path_prefix`.
  int count(const std::string& method, const std::string& path_prefix) const;

 protected:
  void Start();
  void Stop();
  std::mutex& mu() const { return mu_; }

  // The vendor's API. `authorized` says whether the request carries a token the fake issued and
  // has not expired (or a static one); the vendor decides how to answer when it does not.
  // Called with mu() held.
  virtual FakeAnswer Handle(const FakeRequest& request, bool authorized) = 0;
  // Whether `request` goes to the vendor's token endpoint (answered by TokenRequest()).
  virtual bool IsTokenRequest(const FakeRequest& request) const = 0;
  // The token endpoint; use IssueAccessToken()/IssueRefreshToken()/ClientMatches(). Called with
  // mu() held.
  virtual FakeAnswer TokenRequest(const FakeRequest& request) = 0;
  // The vendor's rate-limit answer (429 + Retry-After, Salesforce's 403). Called with mu() held.
  virtual FakeAnswer RateLimited(const FakeRequest& request) = 0;
  // The vendor's error answer for a status (FailNext). Called with mu() held.
  virtual FakeAnswer ServerError(int status) = 0;

  // Requires mu(). A fresh access token the API accepts until ExpireAccessTokens().
  std::string IssueAccessToken();
  // Requires mu(). A fresh refresh token, and whether `token` is one the fake issued.
  std::string IssueRefreshToken();
  bool RefreshTokenValid(const std::string& token) const;
  // Requires mu(). Whether the form's client_id/client_secret (or HTTP Basic) are the fake's.
  bool ClientMatches(const FakeRequest& request,
                     const std::map<std::string, std::string>& form) const;
  // A form-encoded body as decoded pairs.
  static std::map<std::string, std::string> ParseForm(const std::string& body);

 public:
  class Handler;  // the Poco request handler; an implementation detail

 private:
  void Serve(const FakeRequest& request, FakeAnswer* answer, int* wait_ms, bool* reset);
  void Pause(int ms);  // sleeps, or less once stopping

  const std::string client_id_, client_secret_;
  uint16_t port_ = 0;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  mutable std::mutex mu_;  // guards everything below, and the derived fake's state
  std::condition_variable idle_;
  int handling_ = 0;
  bool stopping_ = false;
  std::set<std::string> access_tokens_, refresh_tokens_, static_tokens_;
  int counter_ = 0, token_requests_ = 0;
  int fail_next_ = 0, fail_status_ = 500, commit_timeout_next_ = 0, commit_timeout_ms_ = 0,
      reset_next_ = 0, delay_ms_ = 0;
  int rate_limit_after_ = -1;  // -1 = off
  std::string commit_timeout_method_, commit_timeout_path_;  // empty = any request
  std::vector<ServedRequest> served_;
};

}  // namespace crmhost::testing
