// HubSpot as a fake: the OAuth token endpoint and the CRM v3 contacts and notes paths that the
// HubSpot adapter uses, with HubSpot's bodies, error object and quirks as
// ../shared/crm-contracts.md §2, §4 and §5 describe them:
// - POST /oauth/v1/token: refresh_token (the same refresh token back, expires_in 1800) and
//   client_credentials; 400 BAD_REFRESH_TOKEN / BAD_CLIENT_ID in the v1 shape (§2.1). The same
//   grants on /oauth/v3/token and /oauth/2026-03/token, refusing with the standard error object;
// - 401 EXPIRED_AUTHENTICATION for a Bearer token that is not (or no longer) valid,
//   INVALID_AUTHENTICATION without one;
// - contacts: GET by id or by email (?idProperty=email, case-insensitive, at once), GET list,
//   create (409 CONFLICT naming the existing id only in the message), PATCH by id or email,
//   batch/upsert (200, or 207 when some inputs fail), search (lagging creates by
//   SetSearchLagMs; §5);
// - notes: create with a type-202 association to a contact, GET by id, batch/read;
// - every API answer carries X-HubSpot-RateLimit-Max/-Remaining/-Interval-Milliseconds of a real
//   rolling 10 s window; the rate limit is 429 RATE_LIMIT + policyName + Retry-After (§2.6);
// - the spec's required fields are enforced as a validating proxy would (§4): search bodies need
//   "after" and "sorts", create bodies need "associations".
// The FakeCrm faults (fake_crm.h) apply on top; FailNext(429) and FailNext(401) answer with the
// rate-limit and expired-token bodies, other statuses with the INTERNAL_ERROR object (a 423 or
// 477 adds Retry-After). Ids are numeric strings: contacts from "501", notes from "9001" (a
// range of their own, so a mixed-up id is not found).
// THREADING: thread-safe; all state is guarded by FakeCrm::mu().
#pragma once

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/Timestamp.h>

#include <chrono>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "fakes/fake_crm.h"

namespace crmhost::testing {

class HubSpotFake : public FakeCrm {
 public:
  HubSpotFake(std::string client_id, std::string client_secret);
  ~HubSpotFake() override;

  // Seeds a contact as if it existed before the test (search finds it at once, whatever the
  // lag). `properties_json` is the properties object ({"email":"..",...}) or
  // {"properties":{...}}. Returns its id. Throws std::invalid_argument on bad JSON, a property
  // the API would refuse (unknown, read-only, a malformed email), or an email another contact has.
  std::string AddContact(const std::string& properties_json);
  // Each {"id","properties":{...}} with the system properties (hs_object_id, createdate,
  // lastmodifieddate) included; creation order; fresh objects the caller owns.
  std::vector<Poco::JSON::Object::Ptr> Contacts() const;
  // Each {"id","properties":{...},"contact_ids":[...]}; hs_timestamp as stored, that is
  // normalised to ISO 8601 UTC with milliseconds as HubSpot reads it back; creation order.
  std::vector<Poco::JSON::Object::Ptr> Notes() const;
  // Declares a custom property; object_type "contacts" or "notes" (else std::invalid_argument).
  // A declared contact property may also serve as a batch/upsert idProperty.
  void AddProperty(const std::string& object_type, const std::string& name);
  // Search does not find a contact created (through the API) less than `ms` ago (§5).
  void SetSearchLagMs(int ms);
  // The Retry-After of the 429 (and of a FailNext 423/477); default 1.
  void SetRetryAfterSeconds(int seconds);
  // A refresh token the token endpoint accepts, to seed a connection without the consent flow.
  std::string IssueRefreshTokenForTest();

 protected:
  FakeAnswer Handle(const FakeRequest& request, bool authorized) override;
  bool IsTokenRequest(const FakeRequest& request) const override;
  FakeAnswer TokenRequest(const FakeRequest& request) override;
  FakeAnswer RateLimited(const FakeRequest& request) override;
  FakeAnswer ServerError(int status) override;

 private:
  using Clock = std::chrono::steady_clock;
  // A contact or a note. Property values are strings, as HubSpot stores them; the system
  // properties (hs_object_id and the create/modify dates) are derived, never stored.
  struct Record {
    std::string id;
    std::map<std::string, std::string> properties;
    Poco::Timestamp created, updated;
    Clock::time_point made;                // for the search lag (§5); min() when seeded
    std::vector<std::string> contact_ids;  // notes: the contacts it is associated with
  };

  // All below require mu().
  FakeAnswer Route(const FakeRequest& request);
  FakeAnswer GetOne(bool contacts, const std::string& key, const FakeRequest& request);
  FakeAnswer ListContacts(const FakeRequest& request);
  FakeAnswer CreateContact(const FakeRequest& request);
  FakeAnswer UpdateContact(const std::string& key, const FakeRequest& request);
  FakeAnswer BatchUpsert(const FakeRequest& request);
  FakeAnswer Search(const FakeRequest& request);
  FakeAnswer CreateNote(const FakeRequest& request);
  FakeAnswer BatchReadNotes(const FakeRequest& request);
  FakeAnswer RateLimitAnswer();
  // Counts nothing; drops requests older than the 10 s window and says what is left of 100.
  int RemainingInWindow();
  void AddRateHeaders(FakeAnswer* answer, int remaining) const;

  bool Writable(bool contacts, const std::string& name) const;
  bool Readable(bool contacts, const std::string& name) const;
  // Whether `name` identifies one record (idProperty): hs_object_id, email, a declared property.
  bool Unique(bool contacts, const std::string& name) const;
  // A properties object as values; each bad property appends HubSpot's
  // {"isValid":false,"message","error","name"} to `invalid` (for "Property values were not valid").
  std::map<std::string, std::string> Validate(bool contacts, const Poco::JSON::Object::Ptr& input,
                                              Poco::JSON::Array::Ptr invalid) const;
  Record* Find(bool contacts, const std::string& property, const std::string& value);
  // The id of another contact with this email, "" when none (emails are unique: §2.4 409).
  std::string EmailOwner(const std::string& email, const std::string& except_id) const;
  Record& Create(bool contacts, std::map<std::string, std::string> values);
  void Apply(Record* record, const std::map<std::string, std::string>& values);
  // The value of a stored or system property; false when it has none.
  bool Value(bool contacts, const Record& record, const std::string& name, std::string* out) const;
  // SimplePublicObject: the properties `names` asks for (null when unset; null `names`: all
  // that are set) plus the system properties.
  Poco::JSON::Object::Ptr Render(bool contacts, const Record& record,
                                 const std::vector<std::string>* names) const;

  std::vector<Record> contacts_, notes_;                   // creation order
  std::map<std::string, std::set<std::string>> declared_;  // object type -> custom properties
  int next_contact_id_ = 501, next_note_id_ = 9001;
  int search_lag_ms_ = 0, retry_after_s_ = 1;
  std::deque<Clock::time_point> window_;  // API requests served in the last 10 s, oldest first
};

}  // namespace crmhost::testing
