// A fake Microsoft Dynamics 365 / Dataverse org and its Entra token endpoint on one loopback
// server, following ../shared/crm-contracts.md §3 and the §5 quirks checklist (Microsoft's
// published Web API reference where the contract is silent; guesses are marked [unverified] in
// the .cpp).
//
// Entra: POST /{tenant}/oauth2/v2.0/token (form). client_credentials needs the client (form or
// HTTP Basic) and a scope ending in "/.default" and gives no refresh token; refresh_token gives a
// new access token AND a new refresh token (the old one keeps working). Errors are 400 (401 for
// invalid_client) {"error","error_description":"AADSTS...\r\nTrace ID: ...","error_codes",
// "timestamp","trace_id","correlation_id","error_uri"}.
//
// The org (api_root() = base_url() + "/api/data/v9.2"; v9.0 and v9.1 are served too):
// - every answer carries OData-Version: 4.0; a request without OData-Version: 4.0 is served but
//   counted (missing_odata_headers());
// - no valid token: 401, empty body, WWW-Authenticate: Bearer authorization_uri=..., resource_id=;
// - errors are {"error":{"code":"0x...","message":"..."}}; rate limit 429 + Retry-After;
// - GET  contacts|tasks?$select=&$filter=&$top=  ($filter: `<column> eq <literal>` joined by
//   ` and `; strings are quoted with '' for a quote and compared case-insensitively; GUID, integer
//   and date columns take an UNQUOTED literal as in OData, e.g. `_regardingobjectid_value eq
//   <guid>`, a quoted one is the real "incompatible types" 400; `eq null` matches an unset column;
//   a raw '+' in the query is a space (§3.3). Other operators and functions answer 400;
//   $orderby/$expand/$count are ignored);
// - GET  contacts(<guid>)|tasks(<guid>)[?$select=] (304 to a matching If-None-Match etag);
// - POST contacts|tasks: 204 + OData-EntityId, or 201 + the record with
//   Prefer: return=representation (Preference-Applied, no OData-EntityId); a body may carry the
//   primary key (412 when taken);
// - PATCH contacts(<guid>)|tasks(<guid>): upsert; If-Match: * = update only (404), If-Match: W/"n"
//   = optimistic concurrency (412), If-None-Match: * = create only (412); 204 + OData-EntityId,
//   or 201 (created) / 200 (updated) with return=representation;
// - PATCH|GET contacts(emailaddress1='...') only after EnableEmailAlternateKey(true), else the
//   §3.4 400; the body must not repeat emailaddress1; a key value holding / < > * % & : \ ? + is
//   refused (use-alternate-key-reference-record.md), so jane+vip@x needs the query-then-write path;
// - tasks: "regardingobjectid_contact_task@odata.bind":"/contacts(<guid>)" (§3.5; the
//   regardingobjectid_contact form is the real 400); subject required on create; new tasks are
//   statecode 0 / statuscode 2 / prioritycode 1; state pairs checked (0:2,3,4,7 1:5 2:6); a
//   completed or canceled task takes only a reopening {"statecode":0[,"statuscode":n]};
// - writes check column names (custom ones need AddColumn), JSON types (a date-time needs Z or
//   an offset), max lengths; fullname ("first last"), createdon and modifiedon are computed and
//   writes to them are ignored; `_regardingobjectid_value` is read-only (400);
// - duplicate detection (EnableDuplicateDetection + MSCRM.SuppressDuplicateDetection: false): a
//   contact write whose emailaddress1 another contact has answers 500 0x80040333 (§3.4); with
//   the alternate key enabled such a write answers 412 0x80060892 instead;
// - GET WhoAmI; anything else 404 (405 for another method on a known resource, e.g. DELETE).
//
// THREADING: thread-safe; every public method takes mu(), and the server's callbacks run under it
// (fake_crm.h).
#pragma once

#include <Poco/JSON/Object.h>

#include <optional>
#include <string>
#include <vector>

#include "fakes/fake_crm.h"

namespace crmhost::testing {

class DataverseFake : public FakeCrm {
 public:
  DataverseFake(std::string client_id, std::string client_secret);
  ~DataverseFake() override;

  std::string api_root() const;  // base_url() + "/api/data/v9.2"

  // Seeds a contact from a JSON object of columns, checked as a POST body would be (throws
  // std::invalid_argument with the error body otherwise); returns its contactid.
  std::string AddContact(const std::string& columns_json);
  // A refresh token the token endpoint accepts, as if a user had consented with offline_access
  // (the fake has no authorize endpoint).
  std::string GrantRefreshToken();
  // The table's rows ("contacts" or "tasks"), deep copies in creation order; a task's contact is
  // in "_regardingobjectid_value". Unset columns are absent.
  std::vector<Poco::JSON::Object::Ptr> Rows(const std::string& table) const;
  // Declares a custom column (new_...) on "contacts" or "tasks"; any JSON scalar is accepted.
  void AddColumn(const std::string& table, const std::string& column);
  // An alternate key on contact.emailaddress1 (the stock contact has none, §3.4). Off at start.
  void EnableEmailAlternateKey(bool on);
  // An active duplicate-detection rule on contact.emailaddress1 (§3.4). Off at start.
  void EnableDuplicateDetection(bool on);
  // The Retry-After of the rate-limit answer; 1 at start.
  void SetRetryAfterSeconds(int seconds);
  // API requests (token ones excluded) that came without OData-Version: 4.0.
  int missing_odata_headers() const;

 protected:
  FakeAnswer Handle(const FakeRequest& request, bool authorized) override;
  bool IsTokenRequest(const FakeRequest& request) const override;
  FakeAnswer TokenRequest(const FakeRequest& request) override;
  FakeAnswer RateLimited(const FakeRequest& request) override;
  FakeAnswer ServerError(int status) override;

 private:
  enum class Kind { kText, kGuid, kInt, kDateTime, kComputed, kLookup, kCustom };
  struct Column {
    std::string name;
    Kind kind;
    size_t max_length;  // characters; 0 = no limit
  };
  struct Row {
    Poco::JSON::Object::Ptr values;  // set columns only; never null
    long long version;               // the etag, W/"version"
  };
  struct Table {
    std::string set, type, key;   // "contacts", "contact", "contactid"
    std::vector<Column> columns;  // in answer order, key first
    std::vector<Row> rows;        // in creation order
    const Column* Find(const std::string& name) const;
  };
  struct KeyRef {            // what a key segment names
    bool alternate = false;  // emailaddress1='...' rather than the primary key
    std::string value;       // the GUID (lower case) or the email
  };
  struct Clause {  // one `column eq literal` of a $filter
    std::string column, literal;
    bool is_null = false;
  };
  using Outcome = std::optional<FakeAnswer>;  // an error answer, or nothing when all is well

  FakeAnswer Route(const FakeRequest& r);
  FakeAnswer Query(const FakeRequest& r, const Table& t);
  FakeAnswer Retrieve(const FakeRequest& r, Table& t, const std::string& key_text);
  FakeAnswer Create(const FakeRequest& r, Table& t);
  FakeAnswer Patch(const FakeRequest& r, Table& t, const std::string& key_text);
  FakeAnswer WhoAmI() const;
  FakeAnswer Written(const FakeRequest& r, const Table& t, const Row& row, bool created,
                     const std::vector<std::string>& select) const;
  Outcome ParseKey(const Table& t, const std::string& text, KeyRef* key) const;
  Outcome ParseSelect(const FakeRequest& r, const Table& t, std::vector<std::string>* out) const;
  Outcome ParseFilter(const Table& t, const std::string& filter, std::vector<Clause>* out) const;
  // Reads a write body into the columns to set (an empty value clears one).
  Outcome ReadBody(const FakeRequest& r, const Table& t, Poco::JSON::Object::Ptr* changes) const;
  Outcome Bind(const Table& t, const std::string& property, const Poco::Dynamic::Var& value,
               Poco::JSON::Object& changes) const;
  // The table's own rules (task states, required subject, duplicates); may complete `changes`.
  Outcome CheckWrite(const FakeRequest& r, const Table& t, const Row* existing,
                     Poco::JSON::Object& changes) const;
  Outcome Insert(const FakeRequest& r, Table& t, Poco::JSON::Object& changes, Row** row);
  Row& Commit(Table& t, Row* existing, const Poco::JSON::Object& changes);
  Row* Find(Table& t, const KeyRef& key);
  Poco::JSON::Object::Ptr Record(const Table& t, const Row& row,
                                 const std::vector<std::string>& select,
                                 const std::string& context) const;
  std::string Context(const Table& t, const std::vector<std::string>& select) const;

  const std::string client_id_;
  std::map<std::string, Table> tables_;  // by entity set name
  std::string root_;                     // the API root of the request being served
  std::string user_id_, business_unit_id_, organization_id_;  // WhoAmI
  bool email_key_ = false, duplicate_detection_ = false;
  int retry_after_seconds_ = 1, missing_odata_headers_ = 0;
  long long version_ = 1000;  // last etag handed out
};

}  // namespace crmhost::testing
