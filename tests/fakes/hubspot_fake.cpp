#include "fakes/hubspot_fake.h"

#include <Poco/DateTime.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/JSON/Parser.h>
#include <Poco/String.h>
#include <Poco/UUIDGenerator.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace crmhost::testing {
namespace {

using Poco::Dynamic::Var;
using Poco::JSON::Array;
using Poco::JSON::Object;
using Fields = std::initializer_list<std::pair<std::string, Var>>;

const char kJsonType[] = "application/json;charset=utf-8";  // what HubSpot sends (§2.4)
constexpr int kRateMax = 100;                               // the 10 s burst limit (§2.6)
constexpr auto kRateWindow = std::chrono::milliseconds(10000);
constexpr size_t kBatchMax = 100;       // inputs per batch call (§2.4)
constexpr size_t kNoteBodyMax = 65536;  // characters of hs_note_body (§2.5)

const std::vector<std::string>& SystemNames(bool contacts) {
  static const std::vector<std::string> kContact = {"hs_object_id", "createdate",
                                                    "lastmodifieddate"};
  static const std::vector<std::string> kNote = {"hs_object_id", "hs_createdate",
                                                 "hs_lastmodifieddate"};
  return contacts ? kContact : kNote;
}
bool IsSystem(bool contacts, const std::string& name) {
  const auto& names = SystemNames(contacts);
  return std::find(names.begin(), names.end(), name) != names.end();
}
// What a read returns when it names no properties (besides the system ones).
const std::vector<std::string>* Defaults(bool contacts) {
  static const std::vector<std::string> kContact = {"email", "firstname", "lastname"}, kNote;
  return contacts ? &kContact : &kNote;
}

// A JSON object keeping the order it is written in, as HubSpot's answers read.
Object::Ptr Make(Fields fields) {
  Object::Ptr object = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
  for (const auto& [key, value] : fields) object->set(key, value);
  return object;
}
Array::Ptr List(const std::vector<std::string>& items) {
  Array::Ptr array = new Array;
  for (const auto& item : items) array->add(item);
  return array;
}
std::string NewId() { return Poco::UUIDGenerator::defaultGenerator().createRandom().toString(); }
std::string Iso(const Poco::Timestamp& t) {
  return Poco::DateTimeFormatter::format(t, "%Y-%m-%dT%H:%M:%S.%iZ");
}
template <class Ptr>
std::string Json(const Ptr& value) {
  std::ostringstream out;
  value->stringify(out);
  return out.str();
}

FakeAnswer Answer(int status, const Object::Ptr& body) {
  return FakeAnswer{status, Json(body), kJsonType, {}};
}
// HubSpot's error object (§2.6).
FakeAnswer Error(int status, const std::string& category, const std::string& message,
                 const Object::Ptr& context = {}) {
  auto body = Make({{"status", "error"}, {"message", message}, {"correlationId", NewId()}});
  if (!context.isNull()) body->set("context", context);
  body->set("category", category);
  return Answer(status, body);
}
FakeAnswer Invalid(const std::string& message) { return Error(400, "VALIDATION_ERROR", message); }
FakeAnswer NotJson() { return Invalid("Invalid input JSON: the body is not a JSON object"); }
// What a validating proxy says of a body without the spec's required fields (§4).
FakeAnswer MissingFields(const std::string& schema, const std::vector<std::string>& missing) {
  std::string names;
  for (const auto& name : missing) names += (names.empty() ? "" : ", ") + name;
  return Invalid("Invalid input JSON: Cannot build " + schema +
                 ", some of required attributes are not set [" + names + "]");
}
FakeAnswer NotValid(const Array::Ptr& invalid) {
  return Invalid("Property values were not valid: " + Json(invalid));
}
FakeAnswer NotFound(const std::string& id) {
  return Error(404, "OBJECT_NOT_FOUND", "Object not found.  objectId are usually numeric.",
               Make({{"id", List({id})}}));
}
// §2.6: the category an adapter refreshes on.
FakeAnswer Expired() {
  return Error(401, "EXPIRED_AUTHENTICATION",
               "The OAuth token used to make this call expired 0 second(s) ago.",
               Make({{"expire time", List({Iso(Poco::Timestamp())})}}));
}
FakeAnswer TooMany(size_t n) {
  return Invalid("Too many inputs: " + std::to_string(n) + ", at most " +
                 std::to_string(kBatchMax));
}
// The existing id is only in the message (§2.4, §5).
std::string Conflict(const std::string& id) { return "Contact already exists. Existing ID: " + id; }
void AddInvalid(Array::Ptr invalid, const std::string& name, const std::string& error,
                const std::string& message) {
  invalid->add(Make({{"isValid", false}, {"message", message}, {"error", error}, {"name", name}}));
}

Object::Ptr ParseObject(const std::string& body) {
  try {
    Var value = Poco::JSON::Parser().parse(body);
    if (value.type() == typeid(Object::Ptr)) return value.extract<Object::Ptr>();
  } catch (const std::exception&) {
  }
  return {};
}
// A JSON scalar as HubSpot stores it, a string (null clears); false for an object or array.
bool Scalar(const Var& value, std::string* out) {
  if (value.type() == typeid(Object::Ptr) || value.type() == typeid(Array::Ptr)) return false;
  *out = value.isEmpty() ? "" : value.convert<std::string>();
  return true;
}
std::string Text(const Var& value) {
  std::string text;
  return Scalar(value, &text) ? text : "";
}
std::vector<std::string> Strings(const Array::Ptr& array) {
  std::vector<std::string> out;
  for (size_t i = 0; !array.isNull() && i < array->size(); ++i) out.push_back(Text(array->get(i)));
  return out;
}
std::vector<std::string> SplitCsv(const std::string& csv) {
  std::vector<std::string> out;
  std::stringstream in(csv);
  for (std::string item; std::getline(in, item, ',');)
    if (!Poco::trimInPlace(item).empty()) out.push_back(item);
  return out;
}
std::string Lookup(const std::map<std::string, std::string>& map, const std::string& key) {
  auto it = map.find(key);
  return it == map.end() ? "" : it->second;
}
bool Count(const std::string& text, size_t* out) {
  size_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return false;
  *out = value;
  return true;
}
// Results from offset `after`, at most `limit`, with HubSpot's paging when more are left.
template <class Render>
Object::Ptr Page(size_t total, size_t after, size_t limit, Render render) {
  Array::Ptr results = new Array;
  for (size_t i = after; i < total && i < after + limit; ++i) results->add(render(i));
  auto page = Make({{"results", results}});
  const std::string next = std::to_string(after + limit);
  if (after + limit < total)
    page->set("paging", Make({{"next", Make({{"after", next}, {"link", "?after=" + next}})}}));
  return page;
}
size_t Utf8Length(const std::string& text) {
  return std::count_if(text.begin(), text.end(), [](char c) { return (c & 0xC0) != 0x80; });
}
bool ValidEmail(const std::string& email) {
  const size_t at = email.find('@');
  return at != std::string::npos && at > 0 && at + 1 < email.size() &&
         email.find('@', at + 1) == std::string::npos;
}
// hs_timestamp as HubSpot takes it: epoch milliseconds or ISO 8601 (§2.5).
bool ParseTime(const std::string& text, Poco::Timestamp* out) {
  if (!text.empty() && text.size() <= 15 &&
      std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); })) {
    *out = Poco::Timestamp(std::stoll(text) * 1000);
    return true;
  }
  static const std::regex kIso(
      R"((\d{4})-(\d\d)-(\d\d)(?:T(\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,9}))?)?(Z|[+-]\d\d:?\d\d)?)?)");
  std::smatch m;
  if (!std::regex_match(text, m, kIso)) return false;
  auto n = [&](int i) { return m[i].matched ? std::stoi(m[i].str()) : 0; };
  if (!Poco::DateTime::isValid(n(1), n(2), n(3), n(4), n(5), n(6))) return false;
  const int ms = m[7].matched ? std::stoi((m[7].str() + "00").substr(0, 3)) : 0;
  *out = Poco::DateTime(n(1), n(2), n(3), n(4), n(5), n(6), ms).timestamp();
  if (const std::string tz = m[8].str(); tz.size() > 1) {  // +hh:mm is ahead of UTC
    const int minutes = std::stoi(tz.substr(1, 2)) * 60 + std::stoi(tz.substr(tz.size() - 2));
    *out -= Poco::Timestamp::TimeDiff(tz[0] == '+' ? minutes : -minutes) * 60 * 1000000;
  }
  return true;
}

}  // namespace

HubSpotFake::HubSpotFake(std::string client_id, std::string client_secret)
    : FakeCrm(std::move(client_id), std::move(client_secret)) {
  Start();
}
HubSpotFake::~HubSpotFake() { Stop(); }

// --- test accessors ---

std::string HubSpotFake::AddContact(const std::string& properties_json) {
  std::lock_guard lock(mu());
  auto input = ParseObject(properties_json);
  if (input.isNull()) throw std::invalid_argument("AddContact: not a JSON object");
  if (auto inner = input->getObject("properties"); !inner.isNull()) input = inner;
  Array::Ptr invalid = new Array;
  auto values = Validate(true, input, invalid);
  if (invalid->size() > 0) throw std::invalid_argument("AddContact: " + Json(invalid));
  if (auto owner = EmailOwner(Lookup(values, "email"), ""); !owner.empty())
    throw std::invalid_argument("AddContact: " + Conflict(owner));
  Record& contact = Create(true, std::move(values));
  contact.made = Clock::time_point::min();  // there before the test, so long indexed
  return contact.id;
}

std::vector<Poco::JSON::Object::Ptr> HubSpotFake::Contacts() const {
  std::lock_guard lock(mu());
  std::vector<Object::Ptr> out;
  for (const auto& c : contacts_)
    out.push_back(
        Make({{"id", c.id}, {"properties", Render(true, c, nullptr)->get("properties")}}));
  return out;
}

std::vector<Poco::JSON::Object::Ptr> HubSpotFake::Notes() const {
  std::lock_guard lock(mu());
  std::vector<Object::Ptr> out;
  for (const auto& n : notes_)
    out.push_back(Make({{"id", n.id},
                        {"properties", Render(false, n, nullptr)->get("properties")},
                        {"contact_ids", List(n.contact_ids)}}));
  return out;
}

void HubSpotFake::AddProperty(const std::string& object_type, const std::string& name) {
  if (object_type != "contacts" && object_type != "notes")
    throw std::invalid_argument("AddProperty: no object type " + object_type);
  std::lock_guard lock(mu());
  declared_[object_type].insert(name);
}
void HubSpotFake::SetSearchLagMs(int ms) {
  std::lock_guard lock(mu());
  search_lag_ms_ = ms;
}
void HubSpotFake::SetRetryAfterSeconds(int seconds) {
  std::lock_guard lock(mu());
  retry_after_s_ = seconds;
}
std::string HubSpotFake::IssueRefreshTokenForTest() {
  std::lock_guard lock(mu());
  return IssueRefreshToken();
}

// --- FakeCrm hooks ---

// v1 as the contract names it; v3 and 2026-03 too, since the adapter's token URL is v3 (§2.1).
bool HubSpotFake::IsTokenRequest(const FakeRequest& request) const {
  return request.method == "POST" &&
         (request.path == "/oauth/v1/token" || request.path == "/oauth/v3/token" ||
          request.path == "/oauth/2026-03/token");
}

// A refresh gives the same refresh token back (§2.1). v1 refuses in its own shape
// ({"status":"BAD_REFRESH_TOKEN",...}); v3 with the standard error object, VALIDATION_ERROR.
FakeAnswer HubSpotFake::TokenRequest(const FakeRequest& request) {
  const auto form = ParseForm(request.body);
  const bool v1 = request.path == "/oauth/v1/token";
  auto refuse = [v1](const std::string& status, const std::string& message) {
    if (!v1) return Error(400, "VALIDATION_ERROR", message);
    return Answer(400,
                  Make({{"status", status}, {"message", message}, {"correlationId", NewId()}}));
  };
  if (!ClientMatches(request, form)) return refuse("BAD_CLIENT_ID", "missing or unknown client id");
  const std::string grant = Lookup(form, "grant_type"), refresh = Lookup(form, "refresh_token");
  if (grant == "authorization_code") return refuse("BAD_AUTH_CODE", "missing or invalid auth code");
  if (grant != "refresh_token" && grant != "client_credentials")
    return refuse("BAD_GRANT_TYPE", "unsupported grant_type: " + grant);
  if (grant == "refresh_token" && !RefreshTokenValid(refresh))
    return refuse("BAD_REFRESH_TOKEN", "missing or invalid refresh token");
  auto body = Make({{"token_type", "bearer"}});
  if (grant == "refresh_token") body->set("refresh_token", refresh);
  body->set("access_token", IssueAccessToken());
  body->set("expires_in", 1800);
  return Answer(200, body);
}

FakeAnswer HubSpotFake::Handle(const FakeRequest& request, bool authorized) {
  window_.push_back(Clock::now());
  const int remaining = RemainingInWindow();
  FakeAnswer answer;
  if (authorized) {
    answer = Route(request);
  } else if (request.bearer().empty()) {
    answer = Error(401, "INVALID_AUTHENTICATION",
                   "Authentication credentials not found. This API supports OAuth 2.0 "
                   "authentication and you can find more details at "
                   "https://developers.hubspot.com/docs/methods/auth/oauth-overview");
  } else {
    answer = Expired();
  }
  AddRateHeaders(&answer, remaining);
  return answer;
}

FakeAnswer HubSpotFake::RateLimited(const FakeRequest&) { return RateLimitAnswer(); }

// FailNext(429) and FailNext(401) answer as HubSpot does for those statuses; any other status
// with the INTERNAL_ERROR object.
FakeAnswer HubSpotFake::ServerError(int status) {
  if (status == 429) return RateLimitAnswer();
  FakeAnswer answer = status == 401 ? Expired() : Error(status, "INTERNAL_ERROR", "internal error");
  // 423 Locked and 477 Migration in Progress say when to come back (§2.6, §5).
  if (status == 423 || status == 477)
    answer.headers.push_back({"Retry-After", std::to_string(retry_after_s_)});
  AddRateHeaders(&answer, RemainingInWindow());
  return answer;
}

FakeAnswer HubSpotFake::RateLimitAnswer() {
  FakeAnswer answer =
      Answer(429, Make({{"status", "error"},
                        {"message", "You have reached your ten_secondly_rolling limit."},
                        {"errorType", "RATE_LIMIT"},
                        {"correlationId", NewId()},
                        {"policyName", "TEN_SECONDLY_ROLLING"},
                        {"requestId", NewId()}}));
  answer.headers.push_back({"Retry-After", std::to_string(retry_after_s_)});
  AddRateHeaders(&answer, 0);
  return answer;
}

int HubSpotFake::RemainingInWindow() {
  const auto since = Clock::now() - kRateWindow;
  while (!window_.empty() && window_.front() < since) window_.pop_front();
  return std::max(0, kRateMax - static_cast<int>(window_.size()));
}

void HubSpotFake::AddRateHeaders(FakeAnswer* answer, int remaining) const {
  answer->headers.push_back({"X-HubSpot-RateLimit-Max", std::to_string(kRateMax)});
  answer->headers.push_back({"X-HubSpot-RateLimit-Remaining", std::to_string(remaining)});
  answer->headers.push_back(
      {"X-HubSpot-RateLimit-Interval-Milliseconds", std::to_string(kRateWindow.count())});
}

// --- the API (§2.3-§2.5) ---

FakeAnswer HubSpotFake::Route(const FakeRequest& request) {
  static const std::string kPrefix = "/crm/v3/objects/";
  const std::string &path = request.path, &method = request.method;
  if (path.rfind(kPrefix, 0) == 0) {
    const std::string rest = path.substr(kPrefix.size());
    const size_t slash = rest.find('/');
    const std::string type = rest.substr(0, slash);
    const std::string tail = slash == std::string::npos ? "" : rest.substr(slash + 1);
    const bool contacts = type == "contacts", post = method == "POST";
    if (contacts || type == "notes") {
      if (tail.empty() && post) return contacts ? CreateContact(request) : CreateNote(request);
      if (tail.empty() && method == "GET" && contacts) return ListContacts(request);
      if (tail == "batch/upsert" && post && contacts) return BatchUpsert(request);
      if (tail == "search" && post && contacts) return Search(request);
      if (tail == "batch/read" && post && !contacts) return BatchReadNotes(request);
      if (!tail.empty() && tail.find('/') == std::string::npos) {
        if (method == "GET") return GetOne(contacts, tail, request);
        if (method == "PATCH" && contacts) return UpdateContact(tail, request);
      }
    }
  }
  return Error(404, "OBJECT_NOT_FOUND", "No such resource: " + method + " " + path);
}

// By id, or by a unique property (?idProperty=email): consistent at once, unlike search (§2.3).
FakeAnswer HubSpotFake::GetOne(bool contacts, const std::string& key, const FakeRequest& request) {
  std::string id_property = Lookup(request.query, "idProperty");
  if (id_property.empty()) id_property = "hs_object_id";
  if (!Unique(contacts, id_property))
    return Invalid("Unable to look up by non-unique property " + id_property);
  const Record* record = Find(contacts, id_property, key);
  if (!record) return NotFound(key);
  const auto wanted = SplitCsv(Lookup(request.query, "properties"));
  auto body = Render(contacts, *record, wanted.empty() ? Defaults(contacts) : &wanted);
  // ?associations=notes (SimplePublicObjectWithAssociations); HubSpot leaves the key out when
  // there are none.
  const auto kinds = SplitCsv(Lookup(request.query, "associations"));
  Array::Ptr linked = new Array;
  for (const auto& note : notes_)
    if (contacts &&
        (std::count(kinds.begin(), kinds.end(), "notes") ||
         std::count(kinds.begin(), kinds.end(), "note")) &&
        std::count(note.contact_ids.begin(), note.contact_ids.end(), record->id))
      linked->add(Make({{"id", note.id}, {"type", "contact_to_note"}}));
  if (linked->size() > 0) body->set("associations", Make({{"notes", Make({{"results", linked}})}}));
  return Answer(200, body);
}

FakeAnswer HubSpotFake::ListContacts(const FakeRequest& request) {
  size_t limit = 10, after = 0;
  Count(Lookup(request.query, "limit"), &limit);
  const std::string after_text = Lookup(request.query, "after");
  if (!after_text.empty() && !Count(after_text, &after)) return Invalid("after is not a number");
  const auto wanted = SplitCsv(Lookup(request.query, "properties"));
  return Answer(200,
                Page(contacts_.size(), after, std::clamp<size_t>(limit, 1, 100), [&](size_t i) {
                  return Render(true, contacts_[i], wanted.empty() ? Defaults(true) : &wanted);
                }));
}

FakeAnswer HubSpotFake::CreateContact(const FakeRequest& request) {
  auto body = ParseObject(request.body);
  if (body.isNull()) return NotJson();
  std::vector<std::string> missing;
  if (body->getObject("properties").isNull()) missing.push_back("properties");
  if (!body->isArray("associations")) missing.push_back("associations");  // spec-required (§4)
  if (!missing.empty()) return MissingFields("SimplePublicObjectInputForCreate", missing);
  Array::Ptr invalid = new Array;
  auto values = Validate(true, body->getObject("properties"), invalid);
  if (invalid->size() > 0) return NotValid(invalid);
  if (auto owner = EmailOwner(Lookup(values, "email"), ""); !owner.empty())
    return Error(409, "CONFLICT", Conflict(owner));
  return Answer(201, Render(true, Create(true, std::move(values)), nullptr));
}

FakeAnswer HubSpotFake::UpdateContact(const std::string& key, const FakeRequest& request) {
  std::string id_property = Lookup(request.query, "idProperty");
  if (id_property.empty()) id_property = "hs_object_id";
  if (!Unique(true, id_property))
    return Invalid("Unable to perform update/upsert by non-unique 0-1 property " + id_property);
  Record* contact = Find(true, id_property, key);
  if (!contact) return NotFound(key);
  auto body = ParseObject(request.body);
  if (body.isNull()) return NotJson();
  if (body->getObject("properties").isNull())
    return MissingFields("SimplePublicObjectInput", {"properties"});
  Array::Ptr invalid = new Array;
  auto values = Validate(true, body->getObject("properties"), invalid);
  if (invalid->size() > 0) return NotValid(invalid);
  if (auto owner = EmailOwner(Lookup(values, "email"), contact->id); !owner.empty())
    return Error(409, "CONFLICT", Conflict(owner));
  Apply(contact, values);
  return Answer(200, Render(true, *contact, nullptr));
}

// By email (or a declared property); `new` tells create from update; an input that fails is
// reported in a 207 while the others are applied (§2.4, §5).
FakeAnswer HubSpotFake::BatchUpsert(const FakeRequest& request) {
  auto body = ParseObject(request.body);
  if (body.isNull()) return NotJson();
  auto inputs = body->getArray("inputs");
  if (inputs.isNull())
    return MissingFields("BatchInputSimplePublicObjectBatchInputUpsert", {"inputs"});
  if (inputs->size() > kBatchMax) return TooMany(inputs->size());
  struct Input {
    std::string id_property, id;
    Object::Ptr properties;
  };
  std::vector<Input> parsed;
  std::set<std::string> seen;
  for (size_t i = 0; i < inputs->size(); ++i) {  // the batch is refused as a whole for these
    auto in = inputs->getObject(i);
    if (in.isNull()) return Invalid("Invalid input JSON: an input is not an object");
    Input x{Text(in->get("idProperty")), Text(in->get("id")), in->getObject("properties")};
    if (x.id.empty() || x.properties.isNull())
      return MissingFields("SimplePublicObjectBatchInputUpsert", {"id", "properties"});
    if (x.id_property == "hs_object_id" || !Unique(true, x.id_property))
      return Invalid("Unable to perform update/upsert by non-unique 0-1 property " + x.id_property);
    if (!seen.insert(x.id_property + "\n" + Poco::toLower(x.id)).second)
      return Invalid("Duplicate IDs found in batch input: [" + x.id + "]");
    parsed.push_back(std::move(x));
  }
  const Poco::Timestamp started;
  Array::Ptr results = new Array, errors = new Array;
  auto fail = [&](const char* category, const std::string& message) {
    errors->add(Make({{"status", "error"}, {"category", category}, {"message", message}}));
  };
  for (const auto& x : parsed) {
    Array::Ptr invalid = new Array;
    auto values = Validate(true, x.properties, invalid);
    if (x.id_property == "email" && !ValidEmail(x.id))
      AddInvalid(invalid, "email", "INVALID_EMAIL", "Email address " + x.id + " is invalid");
    if (invalid->size() > 0) {
      fail("VALIDATION_ERROR", "Property values were not valid: " + Json(invalid));
      continue;
    }
    Record* contact = Find(true, x.id_property, x.id);
    if (!contact) values[x.id_property] = x.id;
    if (auto owner = EmailOwner(Lookup(values, "email"), contact ? contact->id : "");
        !owner.empty()) {
      fail("CONFLICT", Conflict(owner));
      continue;
    }
    if (contact) Apply(contact, values);
    auto result = Render(true, contact ? *contact : Create(true, std::move(values)), nullptr);
    result->set("new", contact == nullptr);
    results->add(result);
  }
  auto out = Make({{"status", "COMPLETE"}, {"results", results}});
  if (errors->size() > 0) {
    out->set("numErrors", static_cast<int>(errors->size()));
    out->set("errors", errors);
  }
  out->set("startedAt", Iso(started));
  out->set("completedAt", Iso(Poco::Timestamp()));
  return Answer(errors->size() > 0 ? 207 : 200, out);
}

// §2.3: "after" and "sorts" required (§4); filters OR-ed by group and AND-ed within, ignoring
// case; sorts are not applied (creation order). A contact made less than the search lag ago is
// not indexed yet (§5), though GET finds it.
FakeAnswer HubSpotFake::Search(const FakeRequest& request) {
  auto body = ParseObject(request.body);
  if (body.isNull()) return NotJson();
  std::vector<std::string> missing;
  if (!body->has("after")) missing.push_back("after");
  if (!body->isArray("sorts")) missing.push_back("sorts");
  if (!missing.empty()) return MissingFields("PublicObjectSearchRequest", missing);
  size_t after = 0, limit = 10;
  const std::string after_text = Text(body->get("after"));
  if (!after_text.empty() && !Count(after_text, &after)) return Invalid("after is not a number");
  Count(Text(body->get("limit")), &limit);
  struct Filter {
    std::string property, op;
    std::vector<std::string> values;
  };
  static const std::set<std::string> kOperators = {"EQ",     "NEQ",          "IN",
                                                   "NOT_IN", "HAS_PROPERTY", "NOT_HAS_PROPERTY"};
  std::vector<std::vector<Filter>> groups;
  const auto group_list = body->getArray("filterGroups");
  for (size_t g = 0; !group_list.isNull() && g < group_list->size(); ++g) {
    auto group = group_list->getObject(g);
    auto filters = group.isNull() ? Array::Ptr() : group->getArray("filters");
    if (filters.isNull()) return MissingFields("FilterGroup", {"filters"});
    groups.emplace_back();
    for (size_t i = 0; i < filters->size(); ++i) {
      auto f = filters->getObject(i);
      if (f.isNull()) return Invalid("Invalid input JSON: a filter is not an object");
      Filter filter{Text(f->get("propertyName")), Text(f->get("operator")),
                    Strings(f->getArray("values"))};
      if (f->has("value")) filter.values.push_back(Text(f->get("value")));
      if (!kOperators.count(filter.op))
        return Invalid("operator " + filter.op + " is not supported by the HubSpot fake");
      groups.back().push_back(std::move(filter));
    }
  }
  auto passes = [&](const Record& contact, const Filter& filter) {
    std::string value;
    const bool has = Value(true, contact, filter.property, &value) && !value.empty();
    const bool match = has && std::any_of(filter.values.begin(), filter.values.end(),
                                          [&](auto& v) { return Poco::icompare(v, value) == 0; });
    if (filter.op == "HAS_PROPERTY" || filter.op == "NOT_HAS_PROPERTY")
      return has == (filter.op == "HAS_PROPERTY");
    return match == (filter.op == "EQ" || filter.op == "IN");
  };
  const auto indexed_until = Clock::now() - std::chrono::milliseconds(search_lag_ms_);
  std::vector<const Record*> hits;
  for (const auto& c : contacts_) {
    if (c.made > indexed_until) continue;
    if (groups.empty() || std::any_of(groups.begin(), groups.end(), [&](const auto& group) {
          return std::all_of(group.begin(), group.end(),
                             [&](const Filter& f) { return passes(c, f); });
        }))
      hits.push_back(&c);
  }
  const auto wanted = Strings(body->getArray("properties"));
  auto page = Page(hits.size(), after, std::clamp<size_t>(limit, 1, 200), [&](size_t i) {
    return Render(true, *hits[i], wanted.empty() ? Defaults(true) : &wanted);
  });
  page->set("total", static_cast<int>(hits.size()));
  return Answer(200, page);
}

// §2.5: hs_timestamp required (epoch ms or ISO, read back as ISO); each association is
// HUBSPOT_DEFINED 202 (note to contact) to an existing contact.
FakeAnswer HubSpotFake::CreateNote(const FakeRequest& request) {
  auto body = ParseObject(request.body);
  if (body.isNull()) return NotJson();
  auto properties = body->getObject("properties");
  auto associations = body->getArray("associations");
  std::vector<std::string> missing;
  if (properties.isNull()) missing.push_back("properties");
  if (associations.isNull()) missing.push_back("associations");
  if (!missing.empty()) return MissingFields("SimplePublicObjectInputForCreate", missing);
  Array::Ptr invalid = new Array;
  auto values = Validate(false, properties, invalid);
  Poco::Timestamp when;
  if (properties->isNull("hs_timestamp"))  // absent or null
    AddInvalid(invalid, "hs_timestamp", "REQUIRED_PROPERTY",
               "Property \"hs_timestamp\" is required");
  else if (values.count("hs_timestamp") && !ParseTime(values["hs_timestamp"], &when))
    AddInvalid(invalid, "hs_timestamp", "INVALID_DATETIME",
               "Property \"hs_timestamp\" value \"" + values["hs_timestamp"] +
                   "\" is neither epoch milliseconds nor an ISO 8601 datetime");
  else if (values.count("hs_timestamp"))
    values["hs_timestamp"] = Iso(when);
  if (invalid->size() > 0) return NotValid(invalid);
  std::vector<std::string> contact_ids;
  for (size_t i = 0; i < associations->size(); ++i) {
    auto association = associations->getObject(i);
    auto to = association.isNull() ? Object::Ptr() : association->getObject("to");
    auto types = association.isNull() ? Array::Ptr() : association->getArray("types");
    const std::string id = to.isNull() ? "" : Text(to->get("id"));
    if (id.empty() || types.isNull() || types->size() == 0)
      return MissingFields("PublicAssociationsForObject", {"to", "types"});
    for (size_t t = 0; t < types->size(); ++t) {
      auto type = types->getObject(t);
      const std::string category = type.isNull() ? "" : Text(type->get("associationCategory"));
      const std::string type_id = type.isNull() ? "" : Text(type->get("associationTypeId"));
      if (category != "HUBSPOT_DEFINED" || type_id != "202")
        return Invalid("Association type " + category + " " + type_id +
                       " is not valid from note to contact (HUBSPOT_DEFINED 202)");
    }
    if (!Find(true, "hs_object_id", id))
      return Invalid("One or more associations are invalid: contact " + id + " does not exist");
    if (!std::count(contact_ids.begin(), contact_ids.end(), id)) contact_ids.push_back(id);
  }
  Record& note = Create(false, std::move(values));
  note.contact_ids = std::move(contact_ids);
  return Answer(201, Render(false, note, nullptr));
}

// Ids not found come back as a 207 OBJECT_NOT_FOUND error listing them.
FakeAnswer HubSpotFake::BatchReadNotes(const FakeRequest& request) {
  auto body = ParseObject(request.body);
  if (body.isNull()) return NotJson();
  auto inputs = body->getArray("inputs");
  if (inputs.isNull()) return MissingFields("BatchReadInputSimplePublicObjectId", {"inputs"});
  if (inputs->size() > kBatchMax) return TooMany(inputs->size());
  const Poco::Timestamp started;
  const auto wanted = Strings(body->getArray("properties"));
  Array::Ptr results = new Array;
  std::vector<std::string> absent;
  for (size_t i = 0; i < inputs->size(); ++i) {
    auto input = inputs->getObject(i);
    const std::string id = input.isNull() ? "" : Text(input->get("id"));
    if (const Record* note = Find(false, "hs_object_id", id))
      results->add(Render(false, *note, wanted.empty() ? Defaults(false) : &wanted));
    else
      absent.push_back(id);
  }
  auto out = Make({{"status", "COMPLETE"}, {"results", results}});
  if (!absent.empty()) {
    Array::Ptr errors = new Array;
    errors->add(Make({{"status", "error"},
                      {"category", "OBJECT_NOT_FOUND"},
                      {"message",
                       "Could not get some NOTE objects, they may be deleted or not exist. "
                       "Check that ids are valid."},
                      {"context", Make({{"ids", List(absent)}})}}));
    out->set("numErrors", 1);
    out->set("errors", errors);
  }
  out->set("startedAt", Iso(started));
  out->set("completedAt", Iso(Poco::Timestamp()));
  return Answer(absent.empty() ? 200 : 207, out);
}

// --- records and properties ---

bool HubSpotFake::Writable(bool contacts, const std::string& name) const {
  static const std::set<std::string> kContact = {"email", "firstname", "lastname", "company",
                                                 "phone", "jobtitle",  "website"};
  static const std::set<std::string> kNote = {"hs_timestamp", "hs_note_body", "hubspot_owner_id",
                                              "hs_attachment_ids"};
  if ((contacts ? kContact : kNote).count(name)) return true;
  auto it = declared_.find(contacts ? "contacts" : "notes");
  return it != declared_.end() && it->second.count(name) > 0;
}
bool HubSpotFake::Readable(bool contacts, const std::string& name) const {
  return IsSystem(contacts, name) || Writable(contacts, name);
}
bool HubSpotFake::Unique(bool contacts, const std::string& name) const {
  if (name == "hs_object_id" || (contacts && name == "email")) return true;
  auto it = declared_.find(contacts ? "contacts" : "notes");
  return it != declared_.end() && it->second.count(name) > 0;
}

std::map<std::string, std::string> HubSpotFake::Validate(bool contacts,
                                                         const Poco::JSON::Object::Ptr& input,
                                                         Poco::JSON::Array::Ptr invalid) const {
  std::map<std::string, std::string> values;
  for (const auto& [name, value] : *input) {
    std::string text;
    if (IsSystem(contacts, name))
      AddInvalid(invalid, name, "READ_ONLY_VALUE",
                 "\"" + name + "\" is a read only property; its value cannot be set.");
    else if (!Writable(contacts, name))
      AddInvalid(invalid, name, "PROPERTY_DOESNT_EXIST",
                 "Property \"" + name + "\" does not exist");
    else if (!Scalar(value, &text))
      AddInvalid(invalid, name, "INVALID_PROPERTY_VALUE",
                 "Property \"" + name + "\" is not a scalar");
    else if (contacts && name == "email" && !text.empty() && !ValidEmail(text))
      AddInvalid(invalid, name, "INVALID_EMAIL", "Email address " + text + " is invalid");
    else if (!contacts && name == "hs_note_body" && Utf8Length(text) > kNoteBodyMax)
      AddInvalid(invalid, name, "MAX_LENGTH_EXCEEDED",
                 "Property \"hs_note_body\" is longer than " + std::to_string(kNoteBodyMax) +
                     " characters");
    else
      values[name] = text;
  }
  return values;
}

HubSpotFake::Record* HubSpotFake::Find(bool contacts, const std::string& property,
                                       const std::string& value) {
  for (auto& record : contacts ? contacts_ : notes_) {
    std::string have;
    if (!Value(contacts, record, property, &have)) continue;
    if (property == "email" ? Poco::icompare(have, value) == 0 : have == value) return &record;
  }
  return nullptr;
}

std::string HubSpotFake::EmailOwner(const std::string& email, const std::string& except_id) const {
  for (const auto& c : contacts_)
    if (!email.empty() && c.id != except_id &&
        Poco::icompare(Lookup(c.properties, "email"), email) == 0)
      return c.id;
  return "";
}

HubSpotFake::Record& HubSpotFake::Create(bool contacts, std::map<std::string, std::string> values) {
  auto& records = contacts ? contacts_ : notes_;
  records.emplace_back();
  Record& record = records.back();
  record.id = std::to_string(contacts ? next_contact_id_++ : next_note_id_++);
  record.made = Clock::now();
  Apply(&record, values);
  record.created = record.updated;
  return record;
}

// An empty string clears a property (§2.4).
void HubSpotFake::Apply(Record* record, const std::map<std::string, std::string>& values) {
  for (const auto& [name, value] : values) {
    if (value.empty())
      record->properties.erase(name);
    else
      record->properties[name] = value;
  }
  record->updated = Poco::Timestamp();
}

bool HubSpotFake::Value(bool contacts, const Record& record, const std::string& name,
                        std::string* out) const {
  if (name == "hs_object_id") {
    *out = record.id;
  } else if (name == (contacts ? "createdate" : "hs_createdate")) {
    *out = Iso(record.created);
  } else if (name == (contacts ? "lastmodifieddate" : "hs_lastmodifieddate")) {
    *out = Iso(record.updated);
  } else {
    auto it = record.properties.find(name);
    if (it == record.properties.end()) return false;
    *out = it->second;
  }
  return true;
}

Poco::JSON::Object::Ptr HubSpotFake::Render(bool contacts, const Record& record,
                                            const std::vector<std::string>* names) const {
  std::vector<std::string> set;
  for (const auto& [name, value] : record.properties) set.push_back(name);
  auto properties = Make({});
  for (const auto* list : {names ? names : &set, &SystemNames(contacts)}) {
    for (const auto& name : *list) {
      std::string value;
      if (!Readable(contacts, name) || properties->has(name)) continue;
      // Asked for but not set: HubSpot answers null.
      properties->set(name, Value(contacts, record, name, &value) ? Var(value) : Var());
    }
  }
  return Make({{"id", record.id},
               {"properties", properties},
               {"createdAt", Iso(record.created)},
               {"updatedAt", Iso(record.updated)},
               {"archived", false}});
}

}  // namespace crmhost::testing
