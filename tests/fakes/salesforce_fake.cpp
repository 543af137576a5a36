#include "fakes/salesforce_fake.h"

#include <Poco/Base64Encoder.h>
#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>
#include <Poco/String.h>
#include <Poco/URI.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <random>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace crmhost::testing {
namespace {

using Poco::Dynamic::Var;
using Poco::JSON::Array;
using Poco::JSON::Object;
using Outcome = std::optional<FakeAnswer>;

constexpr const char* kJson = "application/json;charset=UTF-8";  // what Salesforce sends
constexpr const char* kDefaultVersion = "v60.0";

std::string Text(const Var& v) { return v.isEmpty() ? "" : v.convert<std::string>(); }
bool SameText(const std::string& a, const std::string& b) { return Poco::icompare(a, b) == 0; }

size_t Utf8Length(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

Object::Ptr NewObject() { return new Object(Poco::JSON_PRESERVE_KEY_ORDER); }

// Older Poco writes '/' as "\/"; Salesforce does not, and the answers should read like the real
// ones. Each backslash opens a two-character escape, so the scan cannot misread "\\/".
template <class T>
std::string Json(const T& value) {
  std::ostringstream out;
  value.stringify(out);
  const std::string s = out.str();
  std::string json;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] == '/') continue;
    json += s[i];
    if (s[i] == '\\' && i + 1 < s.size()) json += s[++i];
  }
  return json;
}

// §1.6: every error body is an array of {"message","errorCode"[,"fields"]}.
FakeAnswer Errors(int status, const std::string& code, const std::string& message,
                  const std::vector<std::string>& fields = {}) {
  Object::Ptr e = NewObject();
  e->set("message", message);
  e->set("errorCode", code);
  if (!fields.empty()) {
    Array::Ptr names = new Array;
    for (const std::string& f : fields) names->add(f);
    e->set("fields", names);
  }
  Array a;
  a.add(e);
  return {status, Json(a), kJson, {}};
}
FakeAnswer Bad(const std::string& code, const std::string& message,
               const std::vector<std::string>& fields = {}) {
  return Errors(400, code, message, fields);
}
// errorCode first, as Salesforce writes its 404s.
FakeAnswer NotFound() {
  Object::Ptr e = NewObject();
  e->set("errorCode", "NOT_FOUND");
  e->set("message", "The requested resource does not exist");
  Array a;
  a.add(e);
  return {404, Json(a), kJson, {}};
}
FakeAnswer MethodNotAllowed(const std::string& method, const std::string& allowed) {
  Object::Ptr e = NewObject();
  e->set("errorCode", "METHOD_NOT_ALLOWED");
  e->set("message", "HTTP Method '" + method + "' not allowed. Allowed are " + allowed);
  Array a;
  a.add(e);
  return {405, Json(a), kJson, {}};
}
FakeAnswer NoColumn(const std::string& name, const std::string& sobject) {
  return Bad("INVALID_FIELD", "No such column '" + name + "' on sobject of type " + sobject);
}

FakeAnswer TokenError(const std::string& error, const std::string& description) {
  Object o(Poco::JSON_PRESERVE_KEY_ORDER);
  o.set("error", error);
  o.set("error_description", description);
  return {400, Json(o), kJson, {{"Cache-Control", "no-cache,must-revalidate,max-age=0,no-store"}}};
}

bool IsId(const std::string& s) {
  static const std::regex re("^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$");
  return std::regex_match(s, re);
}
bool IsEmail(const std::string& s) {
  static const std::regex re(R"(^[^@\s]+@[^@\s]+\.[^@\s]+$)");
  return std::regex_match(s, re);
}
bool IsDate(const std::string& s) {
  static const std::regex re(R"(^(\d{4})-(\d{2})-(\d{2})$)");
  std::smatch m;
  if (!std::regex_match(s, m, re)) return false;
  const int month = std::stoi(m.str(2)), day = std::stoi(m.str(3));
  return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

// The restricted picklists of a Task (§1.5); empty for any other field.
const std::vector<std::string>& Picklist(const std::string& field) {
  static const std::vector<std::string> kStatus = {"Not Started", "In Progress", "Completed",
                                                   "Waiting on someone else", "Deferred"};
  static const std::vector<std::string> kPriority = {"High", "Normal", "Low"};
  static const std::vector<std::string> kNone;
  return field == "Status" ? kStatus : field == "Priority" ? kPriority : kNone;
}

// A reference field's label, as its errors name it.
std::string Label(const std::string& field) {
  if (field == "WhoId") return "Name ID";
  if (field == "WhatId") return "Related To ID";
  if (field == "AccountId") return "Account ID";
  return field;
}

std::string Signature() {  // the real one is an HMAC of id + issued_at; any base64 will do here
  static thread_local std::mt19937 random{std::random_device{}()};
  std::string bytes(32, '\0');
  for (char& c : bytes) c = static_cast<char>(random() & 0xFF);
  std::ostringstream out;
  Poco::Base64Encoder encoder(out);
  encoder.rdbuf()->setLineLength(0);
  encoder << bytes;
  encoder.close();
  return out.str();
}

}  // namespace

// --- construction ---

SalesforceFake::SalesforceFake(std::string client_id, std::string client_secret)
    : FakeCrm(client_id, client_secret),
      client_id_(std::move(client_id)),
      client_secret_(std::move(client_secret)) {
  SObject contact{"Contact", "003", {}, {}, 0};
  contact.fields = {{"Id", Kind::kComputed, 18, false},
                    {"FirstName", Kind::kText, 40, false},
                    {"LastName", Kind::kText, 80, false},
                    {"Name", Kind::kComputed, 121, false},
                    {"Email", Kind::kText, 80, false},
                    {"Phone", Kind::kText, 40, false},
                    {"Title", Kind::kText, 128, false},
                    {"Description", Kind::kText, 32000, false},
                    {"AccountId", Kind::kId, 18, false},
                    {"MobilePhone", Kind::kText, 40, false}};
  SObject task{"Task", "00T", {}, {}, 0};
  task.fields = {{"Id", Kind::kComputed, 18, false},
                 {"WhoId", Kind::kId, 18, false},
                 {"WhatId", Kind::kId, 18, false},
                 {"Subject", Kind::kText, 255, false},
                 {"ActivityDate", Kind::kDate, 0, false},
                 {"Status", Kind::kPicklist, 40, false},
                 {"Priority", Kind::kPicklist, 40, false},
                 {"Description", Kind::kText, 32000, false},
                 {"TaskSubtype", Kind::kText, 40, false},
                 {"Type", Kind::kText, 40, false}};
  objects_.emplace("Contact", std::move(contact));
  objects_.emplace("Task", std::move(task));
  Start();
}

SalesforceFake::~SalesforceFake() { Stop(); }

std::string SalesforceFake::api_root() const {
  return base_url() + "/services/data/" + kDefaultVersion;
}

const SalesforceFake::Field* SalesforceFake::SObject::Find(const std::string& field) const {
  for (const Field& f : fields)
    if (SameText(f.name, field)) return &f;
  return nullptr;
}

SalesforceFake::SObject* SalesforceFake::FindObject(const std::string& name) {
  for (auto& [key, o] : objects_)
    if (SameText(key, name)) return &o;
  return nullptr;
}

// --- OAuth (§1.1) ---

bool SalesforceFake::IsTokenRequest(const FakeRequest& r) const {
  return r.method == "POST" && (r.path == "/services/oauth2/token" ||
                                r.path == "/services/oauth2/token/");
}

FakeAnswer SalesforceFake::TokenRequest(const FakeRequest& r) {
  auto form = ParseForm(r.body);
  for (const auto& [name, value] : r.query) form.emplace(name, value);  // the body wins
  auto param = [&](const std::string& name) {
    auto it = form.find(name);
    return it == form.end() ? std::string() : it->second;
  };
  const std::string grant = param("grant_type");
  if (grant == "client_credentials") {
    if (!ClientMatches(r, form)) return TokenError("invalid_client", "invalid client credentials");
  } else if (grant == "refresh_token") {
    // The secret is optional on a refresh (§1.1); the client id is not.
    const bool basic = r.header("authorization").rfind("Basic ", 0) == 0;
    if (!ClientMatches(r, form)) {
      if (!basic && param("client_id") != client_id_)
        return TokenError("invalid_client_id", "client identifier invalid");
      if (basic || !param("client_secret").empty())
        return TokenError("invalid_client", "invalid client credentials");
    }
    if (!RefreshTokenValid(param("refresh_token")))
      return TokenError("invalid_grant", "expired access/refresh token");
  } else if (grant == "authorization_code") {  // the fake hands out no codes
    return TokenError("invalid_grant", "expired authorization code");
  } else if (grant == "urn:ietf:params:oauth:grant-type:jwt-bearer") {
    return TokenError("invalid_grant", "user hasn't approved this consumer");
  } else {
    return TokenError("unsupported_grant_type", "grant type not supported");
  }
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  Object o(Poco::JSON_PRESERVE_KEY_ORDER);
  o.set("access_token", IssueAccessToken());
  o.set("signature", Signature());
  o.set("scope", "api refresh_token");
  o.set("instance_url", base_url());
  o.set("id", "https://login.salesforce.com/id/" + org_id_ + "/" + user_id_);
  o.set("token_type", "Bearer");
  o.set("issued_at", std::to_string(now.count()));  // epoch milliseconds, as a string
  return {200, Json(o), kJson, {{"Cache-Control", "no-cache,must-revalidate,max-age=0,no-store"}}};
}

// --- faults (§1.6) ---

FakeAnswer SalesforceFake::WithLimit(FakeAnswer a) const {
  a.headers.emplace_back("Sforce-Limit-Info",
                         "api-usage=" + std::to_string(usage_) + "/" + std::to_string(limit_));
  return a;
}

FakeAnswer SalesforceFake::RateLimited(const FakeRequest&) {
  return WithLimit(Errors(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."));
}

FakeAnswer SalesforceFake::ServerError(int status) {
  if (status == 503)
    return WithLimit(Errors(503, "SERVER_UNAVAILABLE",
                            "Server temporarily unavailable. Please try again later."));
  return WithLimit(Errors(status, "UNKNOWN_EXCEPTION",  // [unverified] the ErrorId's shape
                          "An unexpected error occurred. Please include this ErrorId if you "
                          "contact support: 1214318471-87321 (-1481376589)"));
}

// --- routing ---

FakeAnswer SalesforceFake::Handle(const FakeRequest& r, bool authorized) {
  if (r.path == "/services/data" || r.path == "/services/data/") {  // not counted, no token
    if (r.method == "GET") return Versions();
    return MethodNotAllowed(r.method, "GET,HEAD");
  }
  if (!authorized)
    return WithLimit(Errors(401, "INVALID_SESSION_ID", "Session expired or invalid"));
  static const std::regex api(R"(^/services/data/(v[0-9]{2,3}\.0)(/.*)?$)");
  std::smatch m;
  if (!std::regex_match(r.raw_path, m, api)) return WithLimit(NotFound());
  if (usage_ >= limit_) return RateLimited(r);  // the daily quota: refused, changing nothing
  ++usage_;
  version_ = m.str(1);
  std::vector<std::string> segments;
  try {
    std::stringstream in(m.str(2));
    for (std::string s; std::getline(in, s, '/');) {
      if (s.empty()) continue;
      std::string decoded;
      Poco::URI::decode(s, decoded);
      segments.push_back(std::move(decoded));
    }
  } catch (const Poco::Exception&) {
    return WithLimit(NotFound());
  }
  return WithLimit(Route(r, segments));
}

FakeAnswer SalesforceFake::Route(const FakeRequest& r, const std::vector<std::string>& s) {
  const std::string root = "/services/data/" + version_;
  if (s.empty()) {
    if (r.method != "GET") return MethodNotAllowed(r.method, "GET,HEAD");
    Object o(Poco::JSON_PRESERVE_KEY_ORDER);
    o.set("limits", root + "/limits");
    o.set("query", root + "/query");
    o.set("sobjects", root + "/sobjects");
    return {200, Json(o), kJson, {}};
  }
  if (s.size() == 1 && s[0] == "limits") {
    if (r.method != "GET") return MethodNotAllowed(r.method, "GET,HEAD");
    return Limits();
  }
  if (s.size() == 1 && s[0] == "query") {
    if (r.method != "GET") return MethodNotAllowed(r.method, "GET,HEAD");
    return Query(r);
  }
  if (s[0] != "sobjects" || s.size() < 2 || s.size() > 4) return NotFound();
  SObject* o = FindObject(s[1]);
  if (!o) return NotFound();
  if (s.size() == 2) {
    if (r.method == "POST") return Create(r, *o);
    if (r.method == "GET") return Describe(*o, false);
    return MethodNotAllowed(r.method, "GET,POST,HEAD");
  }
  if (s.size() == 3) {
    if (s[2] == "describe") {
      if (r.method != "GET") return MethodNotAllowed(r.method, "GET,HEAD");
      return Describe(*o, true);
    }
    if (r.method == "PATCH") return Update(r, *o, s[2]);
    if (r.method == "GET") {
      Object::Ptr record = FindById(*o, s[2]);
      if (!record) return NotFound();
      return Retrieve(r, *o, {record});
    }
    return MethodNotAllowed(r.method, "GET,PATCH,HEAD");
  }
  // /sobjects/{obj}/{ExternalIdField}/{value} (§1.4)
  const Field* f = o->Find(s[2]);
  if (!f || !f->external_id) return NotFound();
  if (r.method == "PATCH") return Upsert(r, *o, f->name, s[3]);
  if (r.method == "GET") return Retrieve(r, *o, FindByField(*o, f->name, s[3]));
  return MethodNotAllowed(r.method, "GET,PATCH,HEAD");
}

FakeAnswer SalesforceFake::Versions() const {
  static const std::pair<const char*, const char*> kVersions[] = {
      {"Winter '24", "59.0"}, {"Spring '24", "60.0"}, {"Summer '24", "61.0"},
      {"Winter '25", "62.0"}};
  Array a;
  for (const auto& [label, version] : kVersions) {
    Object::Ptr v = NewObject();
    v->set("label", std::string(label));
    v->set("url", std::string("/services/data/v") + version);
    v->set("version", std::string(version));
    a.add(v);
  }
  return {200, Json(a), kJson, {}};
}

FakeAnswer SalesforceFake::Limits() const {
  Object::Ptr daily = NewObject();
  daily->set("Max", limit_);
  daily->set("Remaining", std::max(0, limit_ - usage_));
  Object o(Poco::JSON_PRESERVE_KEY_ORDER);
  o.set("DailyApiRequests", daily);
  return {200, Json(o), kJson, {}};
}

FakeAnswer SalesforceFake::Describe(const SObject& o, bool full) const {
  Object::Ptr d = NewObject();
  d->set("name", o.name);
  d->set("label", o.name);
  d->set("keyPrefix", o.prefix);
  d->set("custom", false);
  d->set("createable", true);
  d->set("queryable", true);
  d->set("updateable", true);
  if (!full) {
    Object out(Poco::JSON_PRESERVE_KEY_ORDER);
    out.set("objectDescribe", d);
    out.set("recentItems", Array::Ptr(new Array));
    return {200, Json(out), kJson, {}};
  }
  Array::Ptr fields = new Array;
  for (const Field& f : o.fields) {
    Object::Ptr fd = NewObject();
    const char* type = f.name == "Id"                   ? "id"
                       : f.kind == Kind::kId            ? "reference"
                       : f.kind == Kind::kDate          ? "date"
                       : f.kind == Kind::kPicklist      ? "picklist"
                       : f.name == "Email"              ? "email"
                       : f.name.find("Phone") != std::string::npos ? "phone"
                       : f.name == "Description"        ? "textarea"
                                                        : "string";
    fd->set("name", f.name);
    fd->set("type", std::string(type));
    fd->set("length", static_cast<int>(f.max_length));
    fd->set("custom", f.kind == Kind::kCustom);
    fd->set("externalId", f.external_id);
    fd->set("nillable", f.name != "Id" && f.name != "LastName" && f.kind != Kind::kPicklist);
    fd->set("createable", f.kind != Kind::kComputed);
    fd->set("updateable", f.kind != Kind::kComputed);
    fd->set("filterable", f.max_length <= 255);
    Array::Ptr values = new Array;
    for (const std::string& v : Picklist(f.name)) {
      Object::Ptr pv = NewObject();
      pv->set("active", true);
      pv->set("defaultValue", v == "Not Started" || v == "Normal");
      pv->set("label", v);
      pv->set("value", v);
      values->add(pv);
    }
    fd->set("picklistValues", values);
    fields->add(fd);
  }
  d->set("fields", fields);
  return {200, Json(*d), kJson, {}};
}

// --- reading ---

std::string SalesforceFake::Url(const std::string& sobject, const std::string& id) const {
  return "/services/data/" + version_ + "/sobjects/" + sobject + "/" + id;
}

Poco::JSON::Object::Ptr SalesforceFake::FindById(const SObject& o, const std::string& id) const {
  for (const Object::Ptr& record : o.records) {
    const std::string own = Text(record->get("Id"));
    if (own == id || (id.size() == 15 && own.compare(0, 15, id) == 0)) return record;
  }
  return nullptr;
}

std::vector<Poco::JSON::Object::Ptr> SalesforceFake::FindByField(const SObject& o,
                                                                 const std::string& field,
                                                                 const std::string& value) const {
  std::vector<Object::Ptr> out;
  for (const Object::Ptr& record : o.records) {
    const Var v = record->get(field);
    if (!v.isEmpty() && SameText(Text(v), value)) out.push_back(record);
  }
  return out;
}

Poco::JSON::Object::Ptr SalesforceFake::Show(const SObject& o, const Poco::JSON::Object& record,
                                             const std::vector<std::string>& select) const {
  Object::Ptr out = NewObject();
  Object::Ptr attributes = NewObject();
  attributes->set("type", o.name);
  attributes->set("url", Url(o.name, Text(record.get("Id"))));
  out->set("attributes", attributes);
  auto put = [&](const std::string& name) {
    if (name != "Account.Name") {
      out->set(name, record.get(name));  // empty (null) when unset
      return;
    }
    const std::string account_id = Text(record.get("AccountId"));
    auto it = accounts_.find(account_id);
    if (it == accounts_.end()) {
      out->set("Account", Var());
      return;
    }
    Object::Ptr account = NewObject();
    Object::Ptr account_attributes = NewObject();
    account_attributes->set("type", "Account");
    account_attributes->set("url", Url("Account", account_id));
    account->set("attributes", account_attributes);
    account->set("Name", it->second);
    out->set("Account", account);
  };
  if (select.empty())
    for (const Field& f : o.fields) put(f.name);
  for (const std::string& name : select) put(name);
  return out;
}

FakeAnswer SalesforceFake::Retrieve(const FakeRequest& r, const SObject& o,
                                    const std::vector<Poco::JSON::Object::Ptr>& matches) {
  if (matches.empty()) return NotFound();
  if (matches.size() > 1) {  // §1.4: an external ID that matches several records
    Array a;
    for (const Object::Ptr& m : matches) a.add(Url(o.name, Text(m->get("Id"))));
    return {300, Json(a), kJson, {}};
  }
  std::vector<std::string> select;
  if (auto it = r.query.find("fields"); it != r.query.end()) {
    std::stringstream in(it->second);
    for (std::string name; std::getline(in, name, ',');) {
      name = Poco::trim(name);
      const Field* f = o.Find(name);
      if (!f) return NoColumn(name, o.name);
      select.push_back(f->name);
    }
  }
  return {200, Json(*Show(o, *matches[0], select)), kJson, {}};
}

// §1.3: SELECT f, ... FROM Contact|Task [WHERE f = 'literal' [AND ...]] [LIMIT n].
FakeAnswer SalesforceFake::Query(const FakeRequest& r) {
  auto qit = r.query.find("q");
  if (qit == r.query.end() || Poco::trim(qit->second).empty())
    return Bad("MALFORMED_QUERY", "A query string has to be specified");
  const std::string& q = qit->second;
  size_t i = 0;
  auto skip = [&] {
    while (i < q.size() && std::isspace(static_cast<unsigned char>(q[i]))) ++i;
  };
  auto word = [&] {
    const size_t from = i;
    while (i < q.size() &&
           (std::isalnum(static_cast<unsigned char>(q[i])) || q[i] == '_' || q[i] == '.'))
      ++i;
    return q.substr(from, i - from);
  };
  auto malformed = [&](size_t at) {
    std::string token = "<EOF>";
    if (at < q.size()) {
      size_t end = at + 1;
      while (end < q.size() && !std::isspace(static_cast<unsigned char>(q[end]))) ++end;
      token = q.substr(at, end - at);
    }
    return Bad("MALFORMED_QUERY", "\n" + q + "\n" + std::string(at, ' ') +
                                      "^\nERROR at Row:1:Column:" + std::to_string(at + 1) +
                                      "\nunexpected token: '" + token + "'");
  };

  skip();
  size_t at = i;
  if (!SameText(word(), "SELECT")) return malformed(at);
  std::vector<std::string> asked;
  for (;;) {
    skip();
    at = i;
    std::string name = word();
    if (name.empty() || SameText(name, "FROM")) return malformed(at);
    asked.push_back(std::move(name));
    skip();
    if (i < q.size() && q[i] == ',') {
      ++i;
      continue;
    }
    break;
  }
  skip();
  at = i;
  if (!SameText(word(), "FROM")) return malformed(at);
  skip();
  at = i;
  const std::string type = word();
  if (type.empty()) return malformed(at);
  const SObject* o = FindObject(type);
  if (!o)
    return Bad("INVALID_TYPE",
               "\n" + q + "\n" + std::string(at, ' ') + "^\nERROR at Row:1:Column:" +
                   std::to_string(at + 1) + "\nsObject type '" + type +
                   "' is not supported. If you are attempting to use a custom object, be sure "
                   "to append the '__c' after the entity name. Please reference your WSDL or the "
                   "describe call for the appropriate names.");
  auto canonical = [&](const std::string& name, std::string* out) {
    if (o->name == "Contact" && SameText(name, "Account.Name")) {
      *out = "Account.Name";
      return true;
    }
    const Field* f = o->Find(name);
    if (!f) return false;
    *out = f->name;
    return true;
  };
  std::vector<std::string> select;
  for (const std::string& name : asked) {
    std::string field;
    if (!canonical(name, &field)) return NoColumn(name, o->name);
    select.push_back(field);
  }

  std::vector<Condition> where;
  long long limit = -1;
  skip();
  at = i;
  std::string next = word();
  if (SameText(next, "WHERE")) {
    for (;;) {
      skip();
      at = i;
      const std::string name = word();
      if (name.empty()) return malformed(at);
      Condition c;
      if (!canonical(name, &c.field)) return NoColumn(name, o->name);
      if (const Field* f = o->Find(c.field); f && f->max_length > 255)  // a long text area
        return Bad("INVALID_FIELD",
                   "\n" + q + "\n" + std::string(at, ' ') + "^\nERROR at Row:1:Column:" +
                       std::to_string(at + 1) + "\nfield '" + f->name +
                       "' can not be filtered in a query call");
      skip();
      if (i >= q.size() || q[i] != '=') return malformed(i);
      ++i;
      skip();
      at = i;
      if (i < q.size() && q[i] == '\'') {
        ++i;
        bool closed = false;
        while (i < q.size()) {
          const char ch = q[i++];
          if (ch == '\'') {
            closed = true;
            break;
          }
          if (ch != '\\') {
            c.literal += ch;
            continue;
          }
          if (i >= q.size()) break;
          const char e = q[i++];
          switch (e) {
            case '\'': case '\\': case '"': c.literal += e; break;
            case 'n': c.literal += '\n'; break;
            case 'r': c.literal += '\r'; break;
            case 't': c.literal += '\t'; break;
            case 'b': c.literal += '\b'; break;
            case 'f': c.literal += '\f'; break;
            default:
              return Bad("MALFORMED_QUERY", "Invalid string literal '" + q.substr(at, i - at) +
                                                "'. Illegal character sequence '\\" +
                                                std::string(1, e) + "' in string literal.");
          }
        }
        if (!closed)
          return Bad("MALFORMED_QUERY", "\n" + q + "\n" + std::string(at, ' ') +
                                            "^\nERROR at Row:1:Column:" +
                                            std::to_string(at + 1) +
                                            "\nunterminated string literal: '" + q.substr(at) +
                                            "'");  // [unverified] wording
      } else {
        if (!SameText(word(), "null")) return malformed(at);
        c.is_null = true;
      }
      where.push_back(std::move(c));
      skip();
      at = i;
      next = word();
      if (!SameText(next, "AND")) break;
    }
  }
  if (SameText(next, "LIMIT")) {
    skip();
    at = i;
    const std::string n = word();
    if (n.empty() || n.size() > 9 ||
        !std::all_of(n.begin(), n.end(), [](unsigned char ch) { return std::isdigit(ch); }))
      return malformed(at);
    limit = std::stoll(n);
    skip();
    at = i;
    next = word();
  }
  skip();
  if (!next.empty()) return malformed(at);
  if (i < q.size()) return malformed(i);

  Array::Ptr records = new Array;
  for (const Object::Ptr& record : o->records) {
    if (limit >= 0 && static_cast<long long>(records->size()) >= limit) break;
    bool match = true;
    for (const Condition& c : where) {
      std::string value;
      bool set = false;
      if (c.field == "Account.Name") {
        auto it = accounts_.find(Text(record->get("AccountId")));
        set = it != accounts_.end();
        if (set) value = it->second;
      } else {
        const Var v = record->get(c.field);
        set = !v.isEmpty();
        value = Text(v);
      }
      const bool ok = c.is_null ? !set
                                : set && (c.field == "Email" ? SameText(value, c.literal)
                                                             : value == c.literal);
      match = match && ok;
    }
    if (match) records->add(Show(*o, *record, select));
  }
  Object out(Poco::JSON_PRESERVE_KEY_ORDER);
  out.set("totalSize", static_cast<int>(records->size()));
  out.set("done", true);
  out.set("records", records);
  return {200, Json(out), kJson, {}};
}

// --- writing ---

SalesforceFake::Outcome SalesforceFake::ReadBody(const std::string& body, const SObject& o,
                                                 Poco::JSON::Object::Ptr* changes) const {
  Object::Ptr in;
  try {
    in = Poco::JSON::Parser().parse(body).extract<Object::Ptr>();
  } catch (const Poco::Exception& e) {  // [unverified] wording
    return Bad("JSON_PARSER_ERROR", "Unexpected character or end-of-input in the request body "
                                    "(expected a JSON object): " + e.displayText());
  } catch (const std::exception& e) {
    return Bad("JSON_PARSER_ERROR", std::string("Malformed request body: ") + e.what());
  }
  if (!in) return Bad("JSON_PARSER_ERROR", "The request body is not a JSON object");
  *changes = NewObject();
  for (const auto& [name, value] : *in) {
    if (name == "attributes") continue;
    const Field* f = o.Find(name);
    if (!f) return NoColumn(name, o.name);
    if (f->kind == Kind::kComputed && f->name != "Id")
      return Bad("INVALID_FIELD_FOR_INSERT_UPDATE",
                 "Unable to create/update fields: " + f->name +
                     ". Please check the security settings of this field and verify that it is "
                     "read/write for your profile or permission set.",
                 {f->name});
    if (value.type() == typeid(Object::Ptr) || value.type() == typeid(Array::Ptr))
      return Bad("JSON_PARSER_ERROR",
                 "Cannot deserialize instance of string from " +
                     std::string(value.type() == typeid(Object::Ptr) ? "START_OBJECT value {"
                                                                     : "START_ARRAY value [") +
                     " or request may be missing a required field");
    if (value.isEmpty())
      (*changes)->set(f->name, Var());  // null clears the field
    else if (f->kind == Kind::kCustom)
      (*changes)->set(f->name, value);
    else
      (*changes)->set(f->name, Text(value));
  }
  return std::nullopt;
}

SalesforceFake::Outcome SalesforceFake::CheckWrite(const SObject& o,
                                                   const Poco::JSON::Object* existing,
                                                   const Poco::JSON::Object& changes) const {
  auto merged = [&](const std::string& name) {
    if (changes.has(name)) return Text(changes.get(name));
    return existing ? Text(existing->get(name)) : std::string();
  };
  for (const auto& [name, value] : changes) {
    const Field* f = o.Find(name);
    if (!f || f->name == "Id") continue;
    const std::string text = Text(value);
    if (f->kind == Kind::kPicklist) {  // restricted: null is refused too
      const auto& values = Picklist(f->name);
      if (std::find(values.begin(), values.end(), text) == values.end())
        return Bad("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                   f->name + ": bad value for restricted picklist field: " + text, {f->name});
      continue;
    }
    if (value.isEmpty()) continue;
    if (f->kind == Kind::kDate && !IsDate(text))
      return Bad("JSON_PARSER_ERROR", "Cannot deserialize instance of date from VALUE_STRING "
                                      "value " + text +
                                          " or request may be missing a required field");
    if (f->kind == Kind::kId) {
      if (f->name == "WhoId") {
        if (!IsId(text) || !FindById(objects_.at("Contact"), text))
          return Bad("FIELD_INTEGRITY_EXCEPTION",
                     Label(f->name) + ": id value of incorrect type: " + text, {f->name});
      } else if (!IsId(text)) {
        return Bad("MALFORMED_ID", Label(f->name) + ": id value of incorrect type: " + text,
                   {f->name});
      }
      continue;
    }
    if (f->max_length && Utf8Length(text) > f->max_length)
      return Bad("STRING_TOO_LONG",
                 f->name + ": data value too large: " + text +
                     " (max length=" + std::to_string(f->max_length) + ")",
                 {f->name});
  }
  if (o.name == "Contact") {
    if (Poco::trim(merged("LastName")).empty())
      return Bad("REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]",
                 {"LastName"});
    const std::string email = Text(changes.get("Email"));
    if (!email.empty() && !IsEmail(email))
      return Bad("INVALID_EMAIL_ADDRESS", "Email: invalid email address: " + email, {"Email"});
    if (!existing && duplicate_rule_ && !email.empty()) {
      std::vector<Object::Ptr> matches = FindByField(o, "Email", email);
      if (!matches.empty()) return Duplicates(o, matches);
    }
  }
  return std::nullopt;
}

// §1.4: an active duplicate rule, with the real payload's "duplicateResut" spelling.
FakeAnswer SalesforceFake::Duplicates(const SObject& o,
                                      const std::vector<Poco::JSON::Object::Ptr>& matches) const {
  Array::Ptr match_records = new Array;
  for (const Object::Ptr& m : matches) {
    const std::string id = Text(m->get("Id"));
    Object::Ptr attributes = NewObject();
    attributes->set("type", o.name);
    attributes->set("url", Url(o.name, id));
    Object::Ptr record = NewObject();
    record->set("attributes", attributes);
    record->set("Id", id);
    Object::Ptr match = NewObject();
    match->set("additionalInformation", Array::Ptr(new Array));
    match->set("fieldDiffs", Array::Ptr(new Array));
    match->set("matchConfidence", 100.0);
    match->set("record", record);
    match_records->add(match);
  }
  Object::Ptr result = NewObject();
  result->set("entityType", o.name);
  result->set("errors", Array::Ptr(new Array));
  result->set("matchEngine", "ExactMatchEngine");
  result->set("matchRecords", match_records);
  result->set("rule", "Standard_Contact_Match_Rule_v1_1");
  result->set("size", static_cast<int>(matches.size()));
  result->set("success", true);
  Array::Ptr results = new Array;
  results->add(result);
  Object::Ptr duplicate = NewObject();
  duplicate->set("allowSave", false);
  duplicate->set("duplicateRule", "Standard_Contact_Duplicate_Rule");
  duplicate->set("duplicateRuleEntityType", o.name);
  duplicate->set("errorMessage", "Use one of these records?");
  duplicate->set("matchResults", results);
  Object::Ptr error = NewObject();
  error->set("duplicateResut", duplicate);
  error->set("errorCode", "DUPLICATES_DETECTED");
  error->set("message", "Use one of these records?");
  Array a;
  a.add(error);
  return {400, Json(a), kJson, {}};
}

void SalesforceFake::Commit(const SObject& o, Poco::JSON::Object& record,
                            const Poco::JSON::Object& changes) const {
  for (const auto& [name, value] : changes) {
    if (name == "Id") continue;
    if (value.isEmpty())
      record.remove(name);
    else
      record.set(name, value);
  }
  if (o.name == "Contact") {  // Name is "First Last", computed
    const std::string full =
        Poco::trim(Text(record.get("FirstName")) + " " + Text(record.get("LastName")));
    if (full.empty())
      record.remove("Name");
    else
      record.set("Name", full);
  }
}

SalesforceFake::Outcome SalesforceFake::Insert(SObject& o, Poco::JSON::Object& changes,
                                               std::string* id) {
  if (changes.has("Id"))
    return Bad("INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", {"Id"});
  if (auto e = CheckWrite(o, nullptr, changes)) return e;
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%sDn%010dIAW", o.prefix.c_str(), ++o.next_id);
  *id = buffer;
  Object::Ptr record = NewObject();
  record->set("Id", *id);
  if (o.name == "Task") {  // the stock org's defaults
    record->set("Status", "Not Started");
    record->set("Priority", "Normal");
    record->set("TaskSubtype", "Task");
  }
  Commit(o, *record, changes);
  o.records.push_back(record);
  return std::nullopt;
}

FakeAnswer SalesforceFake::Create(const FakeRequest& r, SObject& o) {
  Object::Ptr changes;
  std::string id;
  if (auto e = ReadBody(r.body, o, &changes)) return *e;
  if (auto e = Insert(o, *changes, &id)) return *e;
  Object out(Poco::JSON_PRESERVE_KEY_ORDER);
  out.set("id", id);
  out.set("success", true);
  out.set("errors", Array::Ptr(new Array));
  return {201, Json(out), kJson, {{"Location", Url(o.name, id)}}};
}

FakeAnswer SalesforceFake::Update(const FakeRequest& r, SObject& o, const std::string& id) {
  Object::Ptr record = FindById(o, id);
  if (!record) return NotFound();
  Object::Ptr changes;
  if (auto e = ReadBody(r.body, o, &changes)) return *e;
  if (changes->has("Id")) {
    if (Text(changes->get("Id")) != Text(record->get("Id")))
      return Bad("INVALID_FIELD", "The Id field should not be specified in the sobject data.");
    changes->remove("Id");
  }
  if (auto e = CheckWrite(o, record.get(), *changes)) return *e;
  Commit(o, *record, *changes);
  return {204, "", "", {}};
}

// §1.4: upsert by an external ID field.
FakeAnswer SalesforceFake::Upsert(const FakeRequest& r, SObject& o, const std::string& field,
                                  const std::string& value) {
  Object::Ptr changes;
  if (auto e = ReadBody(r.body, o, &changes)) return *e;
  if (changes->has(field))  // [unverified] wording, after the real one for Id
    return Bad("INVALID_FIELD", "The " + field + " field should not be specified in the sobject "
                                                 "data; the external ID is in the URL.");
  if (changes->has("Id"))
    return Bad("INVALID_FIELD", "The Id field should not be specified in the sobject data.");
  const std::vector<Object::Ptr> matches = FindByField(o, field, value);
  if (matches.size() > 1) {
    Array a;
    for (const Object::Ptr& m : matches) a.add(Url(o.name, Text(m->get("Id"))));
    return {300, Json(a), kJson, {}};
  }
  Object out(Poco::JSON_PRESERVE_KEY_ORDER);
  if (matches.empty()) {
    std::string id;
    changes->set(field, value);
    if (auto e = Insert(o, *changes, &id)) return *e;
    out.set("id", id);
    out.set("errors", Array::Ptr(new Array));
    out.set("success", true);
    out.set("created", true);
    return {201, Json(out), kJson, {{"Location", Url(o.name, id)}}};
  }
  Object::Ptr target = matches[0];
  if (auto e = CheckWrite(o, target.get(), *changes)) return *e;
  Commit(o, *target, *changes);
  out.set("id", Text(target->get("Id")));
  out.set("errors", Array::Ptr(new Array));
  out.set("success", true);
  out.set("created", false);
  return {200, Json(out), kJson, {}};
}

// --- for the tests ---

std::string SalesforceFake::AddContact(const std::string& fields_json,
                                       const std::string& account_name) {
  std::lock_guard lock(mu());
  SObject& o = objects_.at("Contact");
  Object::Ptr changes;
  std::string id;
  Outcome e = ReadBody(fields_json, o, &changes);
  if (!e && !account_name.empty()) {
    std::string account_id;
    for (const auto& [aid, name] : accounts_)
      if (name == account_name) account_id = aid;
    if (account_id.empty()) {
      char buffer[32];
      std::snprintf(buffer, sizeof buffer, "001Dn%010dQAA", ++next_account_);
      account_id = buffer;
      accounts_[account_id] = account_name;
    }
    changes->set("AccountId", account_id);
  }
  if (!e) e = Insert(o, *changes, &id);
  if (e) throw std::invalid_argument("SalesforceFake::AddContact: " + e->body);
  return id;
}

std::vector<Poco::JSON::Object::Ptr> SalesforceFake::Records(const std::string& sobject) const {
  std::lock_guard lock(mu());
  std::vector<Object::Ptr> out;
  for (const auto& [name, o] : objects_)
    if (SameText(name, sobject))
      for (const Object::Ptr& record : o.records) out.push_back(new Object(*record));
  return out;
}

void SalesforceFake::SetDailyLimit(int limit) {
  std::lock_guard lock(mu());
  limit_ = limit;
}

int SalesforceFake::api_usage() const {
  std::lock_guard lock(mu());
  return usage_;
}

void SalesforceFake::AddCustomField(const std::string& sobject, const std::string& field,
                                    bool external_id) {
  std::lock_guard lock(mu());
  SObject* o = FindObject(sobject);
  if (!o) throw std::invalid_argument("SalesforceFake::AddCustomField: no sobject " + sobject);
  if (field.size() < 4 || field.compare(field.size() - 3, 3, "__c") != 0)
    throw std::invalid_argument("SalesforceFake::AddCustomField: " + field +
                                " does not end in __c");
  for (Field& f : o->fields)
    if (SameText(f.name, field)) {
      f.external_id = external_id;
      return;
    }
  o->fields.push_back({field, Kind::kCustom, 0, external_id});
}

void SalesforceFake::EnableDuplicateRule(bool on) {
  std::lock_guard lock(mu());
  duplicate_rule_ = on;
}

std::string SalesforceFake::GrantRefreshToken() {
  std::lock_guard lock(mu());
  return IssueRefreshToken();
}

}  // namespace crmhost::testing
