// A fake Salesforce org and its OAuth token endpoint on one loopback server, following
// ../shared/crm-contracts.md §1 and the §5 quirks checklist (Salesforce's published REST API guide
// where the contract is silent; guesses are marked [unverified] in the .cpp).
//
// OAuth: POST /services/oauth2/token (form; the client also by HTTP Basic). client_credentials
// needs the client (else 400 invalid_client); refresh_token needs a token from
// GrantRefreshToken() (else 400 invalid_grant "expired access/refresh token"). The answer is 200
// {"access_token","signature","scope","instance_url":base_url(),"id","token_type","issued_at"}:
// no expires_in, and no refresh_token (none for client credentials, no rotation on refresh).
// Errors are 400 {"error","error_description"}.
//
// The org (api_root() = base_url() + "/services/data/v60.0"; any vNN.0 is served):
// - every API answer carries Sforce-Limit-Info: api-usage=N/LIMIT, N the API requests counted
//   so far; one that would take N past LIMIT (SetDailyLimit, 100000 at start) answers
//   403 REQUEST_LIMIT_EXCEEDED and changes nothing (RateLimited() answers the same);
// - error bodies are JSON arrays [{"message","errorCode"[,"fields"]}]; no valid token:
//   401 INVALID_SESSION_ID (not counted);
// - Contact ("003...") and Task ("00T...") hold their standard fields (Contact: Id, FirstName,
//   LastName, Name (computed, read-only), Email, Phone, Title, Description, AccountId,
//   MobilePhone; Task: Id, WhoId, WhatId, Subject, ActivityDate, Status, Priority, Description,
//   TaskSubtype, Type) and the "__c" ones of AddCustomField; field names are case-insensitive as
//   in Salesforce; an unknown one answers 400 INVALID_FIELD;
// - POST /sobjects/{Contact|Task} → 201 {"id","success":true,"errors":[]}; a Contact needs a
//   LastName (REQUIRED_FIELD_MISSING); a Task's Status/Priority are restricted picklists, its
//   ActivityDate is YYYY-MM-DD, its WhoId an existing Contact (FIELD_INTEGRITY_EXCEPTION), its
//   Subject at most 255 characters; new Tasks default to Not Started / Normal / TaskSubtype Task;
//   with EnableDuplicateRule(true) a new Contact whose Email another has (ignoring case) answers
//   the contract's DUPLICATES_DETECTED body (with its "duplicateResut" typo);
// - PATCH /sobjects/{obj}/{Id} → 204; PATCH /sobjects/{obj}/{Field__c}/{value} upserts by an
//   external ID field: 201 created / 200 updated ({"created":...}) / 300 several matches / 404
//   the field is no external ID / 400 the body repeats the key field;
// - GET /sobjects/{obj}/{Id}[?fields=a,b] and GET /sobjects/{obj}/{Field__c}/{value}: the record
//   with "attributes"; GET /sobjects/{obj} and /sobjects/{obj}/describe: a small describe;
// - GET /query?q=SELECT f, ..., Account.Name FROM Contact|Task [WHERE f = 'literal' [AND ...]]
//   [LIMIT n] (keywords in any case; literals escape \' and \\; `f = null` matches an unset
//   field; Email compares ignoring case, the rest exactly): {"totalSize","done":true,"records"};
//   anything else answers 400 MALFORMED_QUERY (INVALID_FIELD, INVALID_TYPE for what they name);
// - GET /limits → {"DailyApiRequests":{"Max","Remaining"}}; GET /services/data/ lists versions
//   (not counted, no token needed); anything else 404 NOT_FOUND (405 for another method on a
//   known resource).
//
// THREADING: thread-safe; every public method takes mu(), and the server's callbacks run under it
// (fake_crm.h).
#pragma once

#include <Poco/JSON/Object.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fakes/fake_crm.h"

namespace crmhost::testing {

class SalesforceFake : public FakeCrm {
 public:
  SalesforceFake(std::string client_id, std::string client_secret);
  ~SalesforceFake() override;

  std::string api_root() const;  // base_url() + "/services/data/v60.0"

  // Seeds a Contact from a JSON object of fields, checked as a POST body would be (throws
  // std::invalid_argument with the error body otherwise); with `account_name`, the Contact's
  // AccountId names an Account of that name (what SOQL's Account.Name gives). Not counted as an
  // API request. Returns the Contact's Id.
  std::string AddContact(const std::string& fields_json, const std::string& account_name = "");
  // The records of "Contact" or "Task", deep copies in creation order: the set fields only
  // (Id first), no "attributes".
  std::vector<Poco::JSON::Object::Ptr> Records(const std::string& sobject) const;
  // The daily API request limit; 100000 at start.
  void SetDailyLimit(int limit);
  // API requests counted against the daily limit so far.
  int api_usage() const;
  // Declares a custom field ("...__c") on "Contact" or "Task"; any JSON scalar is accepted. An
  // external ID field can key an upsert (PATCH /sobjects/{obj}/{field}/{value}).
  void AddCustomField(const std::string& sobject, const std::string& field, bool external_id);
  // An active duplicate rule on Contact.Email (blocks creates). Off at start.
  void EnableDuplicateRule(bool on);
  // A refresh token the token endpoint accepts, as if a user had consented with the
  // refresh_token scope (the fake has no authorize endpoint).
  std::string GrantRefreshToken();

 protected:
  FakeAnswer Handle(const FakeRequest& request, bool authorized) override;
  bool IsTokenRequest(const FakeRequest& request) const override;
  FakeAnswer TokenRequest(const FakeRequest& request) override;
  FakeAnswer RateLimited(const FakeRequest& request) override;
  FakeAnswer ServerError(int status) override;

 private:
  enum class Kind { kText, kId, kDate, kPicklist, kComputed, kCustom };
  struct Field {
    std::string name;
    Kind kind;
    size_t max_length;  // characters; 0 = no limit
    bool external_id;
  };
  struct SObject {
    std::string name, prefix;               // "Contact", "003"
    std::vector<Field> fields;              // in describe order, Id first
    std::vector<Poco::JSON::Object::Ptr> records;  // in creation order; never null
    int next_id = 0;
    const Field* Find(const std::string& name) const;  // ignoring case
  };
  struct Condition {  // one `field = literal` of a WHERE
    std::string field;  // canonical, or "Account.Name"
    std::string literal;
    bool is_null = false;
  };
  using Outcome = std::optional<FakeAnswer>;  // an error answer, or nothing when all is well

  FakeAnswer Route(const FakeRequest& r, const std::vector<std::string>& segments);
  FakeAnswer Query(const FakeRequest& r);
  FakeAnswer Create(const FakeRequest& r, SObject& o);
  FakeAnswer Update(const FakeRequest& r, SObject& o, const std::string& id);
  FakeAnswer Upsert(const FakeRequest& r, SObject& o, const std::string& field,
                    const std::string& value);
  FakeAnswer Retrieve(const FakeRequest& r, const SObject& o,
                      const std::vector<Poco::JSON::Object::Ptr>& matches);
  FakeAnswer Describe(const SObject& o, bool full) const;
  FakeAnswer Limits() const;
  FakeAnswer Versions() const;
  FakeAnswer WithLimit(FakeAnswer a) const;
  // Reads a write body into the fields to set (canonical names; an empty value clears one).
  Outcome ReadBody(const std::string& body, const SObject& o,
                   Poco::JSON::Object::Ptr* changes) const;
  // The object's rules (required fields, picklists, lengths, references, duplicates).
  Outcome CheckWrite(const SObject& o, const Poco::JSON::Object* existing,
                     const Poco::JSON::Object& changes) const;
  FakeAnswer Duplicates(const SObject& o,
                        const std::vector<Poco::JSON::Object::Ptr>& matches) const;
  Outcome Insert(SObject& o, Poco::JSON::Object& changes, std::string* id);
  void Commit(const SObject& o, Poco::JSON::Object& record,
              const Poco::JSON::Object& changes) const;
  Poco::JSON::Object::Ptr FindById(const SObject& o, const std::string& id) const;
  std::vector<Poco::JSON::Object::Ptr> FindByField(const SObject& o, const std::string& field,
                                                   const std::string& value) const;
  // The record as the API shows it: attributes, then `select` (every field when empty).
  Poco::JSON::Object::Ptr Show(const SObject& o, const Poco::JSON::Object& record,
                               const std::vector<std::string>& select) const;
  std::string Url(const std::string& sobject, const std::string& id) const;
  SObject* FindObject(const std::string& name);  // ignoring case; nullptr when unknown

  const std::string client_id_, client_secret_;
  std::map<std::string, SObject> objects_;          // "Contact", "Task"
  std::map<std::string, std::string> accounts_;     // Account Id -> Name
  std::string version_ = "v60.0";                   // of the request being served
  std::string org_id_ = "00D5g000004Xy2TEAS", user_id_ = "0055g00000Ab3QzAAJ";
  int usage_ = 0, limit_ = 100000, next_account_ = 0;
  bool duplicate_rule_ = false;
};

}  // namespace crmhost::testing
