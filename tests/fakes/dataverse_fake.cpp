#include "fakes/dataverse_fake.h"

#include <Poco/DateTimeFormatter.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>
#include <Poco/String.h>
#include <Poco/Timestamp.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <random>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace crmhost::testing {
namespace {

using Poco::Dynamic::Var;
using Poco::JSON::Object;
using Outcome = std::optional<FakeAnswer>;

constexpr const char* kODataJson = "application/json; odata.metadata=minimal";

std::string NewGuid() {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  unsigned long long a = (random() & ~0xF000ULL) | 0x4000ULL;        // version 4
  unsigned long long b = (random() & ~(3ULL << 62)) | (2ULL << 62);  // RFC 4122 variant
  char s[37];
  std::snprintf(s, sizeof s, "%08llx-%04llx-%04llx-%04llx-%012llx", a >> 32, (a >> 16) & 0xFFFF,
                a & 0xFFFF, b >> 48, b & 0xFFFFFFFFFFFFULL);
  return s;
}

bool IsGuid(const std::string& s) {
  static const std::regex re("^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$");
  return std::regex_match(s, re);
}
bool IsInt(const std::string& s) {
  static const std::regex re("^-?[0-9]{1,10}$");
  return std::regex_match(s, re);
}
// Edm.DateTimeOffset as OData reads it: the offset is required.
bool IsDateTime(const std::string& s, bool with_offset = true) {
  static const std::regex full(
      R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})$)");
  static const std::regex bare(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?$)");
  return std::regex_match(s, with_offset ? full : bare);
}

std::string Text(const Var& v) { return v.isEmpty() ? "" : v.convert<std::string>(); }
long long IntOf(const Var& v) { return v.isEmpty() ? -1 : v.convert<Poco::Int64>(); }
bool SameText(const std::string& a, const std::string& b) { return Poco::icompare(a, b) == 0; }
std::string Now(const char* format) {
  return Poco::DateTimeFormatter::format(Poco::Timestamp(), format);
}

size_t Utf8Length(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// Older Poco writes '/' as "\/"; Microsoft does not, and the answers should read like the real
// ones. Each backslash opens a two-character escape, so the scan cannot misread "\\/".
std::string Json(const Object& o) {
  std::ostringstream out;
  o.stringify(out);
  const std::string s = out.str();
  std::string json;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] == '/') continue;
    json += s[i];
    if (s[i] == '\\' && i + 1 < s.size()) json += s[++i];
  }
  return json;
}

FakeAnswer Error(int status, const std::string& code, const std::string& message) {
  Object::Ptr inner = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
  Object outer;
  inner->set("code", code);
  inner->set("message", message);
  outer.set("error", inner);
  return {status, Json(outer), kODataJson, {}};
}

FakeAnswer Bad(const std::string& code, const std::string& message) {
  return Error(400, code, message);
}

// OData literal: 'text' with '' for a quote, or a bare word up to a space. False: unterminated.
bool ReadLiteral(const std::string& s, size_t* pos, std::string* text, bool* quoted) {
  *quoted = *pos < s.size() && s[*pos] == '\'';
  if (!*quoted) {
    while (*pos < s.size() && s[*pos] != ' ') *text += s[(*pos)++];
    return true;
  }
  for (++*pos; *pos < s.size(); ++*pos) {
    if (s[*pos] != '\'') {
      *text += s[*pos];
    } else if (*pos + 1 < s.size() && s[*pos + 1] == '\'') {
      *text += '\'';
      ++*pos;
    } else {
      ++*pos;
      return true;
    }
  }
  return false;
}

// The OData lexer sees an odd number of quotes before anything else (filter-rows.md).
Outcome Unterminated(const std::string& s) {
  if (std::count(s.begin(), s.end(), '\'') % 2 == 0) return std::nullopt;
  return Bad("0x80060888", "There is an unterminated literal at position " +
                               std::to_string(s.size()) + " in '" + s + "'.");
}
FakeAnswer SyntaxError(size_t at, const std::string& s) {
  return Bad("0x80060888", "Syntax error at position " + std::to_string(at) + " in '" + s + "'.");
}
FakeAnswer QuerySyntax() { return Bad("0x80060888", "Bad Request - Error in query syntax."); }
// Code "0x0" as in web-api-client-errors.md.
FakeAnswer NoProperty(const std::string& type, const std::string& name) {
  return Bad("0x0", "Could not find a property named '" + name +
                        "' on type 'Microsoft.Dynamics.CRM." + type + "'.");
}
std::string Etag(long long version) { return "W/\"" + std::to_string(version) + "\""; }
FakeAnswer NotFound(const std::string& segment) {  // code from web-api-client-errors.md
  return Error(404, "0x8006088a", "Resource not found for the segment '" + segment + "'.");
}
// A missing row, by id or by alternate key (§3.6 [obs/unverified]).
FakeAnswer Missing(const std::string& type, bool alternate, const std::string& id) {
  if (alternate)
    return Error(404, "0x80040217",
                 "A record with the specified key values does not exist in " + type + " entity");
  return Error(404, "0x80040217", type + " With Id = " + id + " Does Not Exist");
}
FakeAnswer WithOData(FakeAnswer a) {
  a.headers.emplace_back("OData-Version", "4.0");
  return a;
}

// Entra's error shape (§3.1): the AADSTS description carries the trace, correlation and time.
FakeAnswer EntraError(int status, const std::string& error, int code, const std::string& text) {
  const std::string trace = NewGuid(), correlation = NewGuid(), when = Now("%Y-%m-%d %H:%M:%SZ");
  Object o(Poco::JSON_PRESERVE_KEY_ORDER);
  o.set("error", error);
  o.set("error_description", "AADSTS" + std::to_string(code) + ": " + text +
                                 "\r\nTrace ID: " + trace + "\r\nCorrelation ID: " + correlation +
                                 "\r\nTimestamp: " + when);
  Poco::JSON::Array::Ptr codes = new Poco::JSON::Array;
  codes->add(code);
  o.set("error_codes", codes);
  o.set("timestamp", when);
  o.set("trace_id", trace);
  o.set("correlation_id", correlation);
  o.set("error_uri", "https://login.microsoftonline.com/error?code=" + std::to_string(code));
  return {status, Json(o), "application/json; charset=utf-8", {}};
}

const char* EdmType(int kind) {  // by DataverseFake::Kind; nullptr: any
  static const char* names[] = {"Edm.String", "Edm.Guid", "Edm.Int32", "Edm.DateTimeOffset",
                                "Edm.String", "Edm.Guid", nullptr};
  return names[kind];
}

bool ValidState(long long state, long long status) {  // task.md statecode/statuscode pairs
  return (state == 0 && (status == 2 || status == 3 || status == 4 || status == 7)) ||
         (state == 1 && status == 5) || (state == 2 && status == 6);
}

}  // namespace

const DataverseFake::Column* DataverseFake::Table::Find(const std::string& name) const {
  for (const Column& c : columns)
    if (c.name == name) return &c;
  return nullptr;
}

// Lengths: task ones from §3.5, contact ones the stock MaxLength as remembered [unverified].
DataverseFake::DataverseFake(std::string client_id, std::string client_secret)
    : FakeCrm(client_id, std::move(client_secret)), client_id_(std::move(client_id)) {
  const Column created{"createdon", Kind::kComputed, 0}, modified{"modifiedon", Kind::kComputed, 0};
  // clang-format off
  tables_["contacts"] = {"contacts", "contact", "contactid", {
      {"contactid", Kind::kGuid, 0}, {"firstname", Kind::kText, 50}, {"lastname", Kind::kText, 50},
      {"fullname", Kind::kComputed, 0}, {"emailaddress1", Kind::kText, 100},
      {"emailaddress2", Kind::kText, 100}, {"telephone1", Kind::kText, 50},
      {"jobtitle", Kind::kText, 100}, {"description", Kind::kText, 2000}, created, modified}, {}};
  tables_["tasks"] = {"tasks", "task", "activityid", {
      {"activityid", Kind::kGuid, 0}, {"subject", Kind::kText, 200},
      {"description", Kind::kText, 2000}, {"scheduledstart", Kind::kDateTime, 0},
      {"scheduledend", Kind::kDateTime, 0}, {"actualstart", Kind::kDateTime, 0},
      {"actualend", Kind::kDateTime, 0}, {"actualdurationminutes", Kind::kInt, 0},
      {"statecode", Kind::kInt, 0}, {"statuscode", Kind::kInt, 0}, {"prioritycode", Kind::kInt, 0},
      {"_regardingobjectid_value", Kind::kLookup, 0}, created, modified}, {}};
  // clang-format on
  user_id_ = NewGuid();
  business_unit_id_ = NewGuid();
  organization_id_ = NewGuid();
  Start();
}

DataverseFake::~DataverseFake() { Stop(); }

std::string DataverseFake::api_root() const { return base_url() + "/api/data/v9.2"; }

// --- Entra (§3.1) ---

bool DataverseFake::IsTokenRequest(const FakeRequest& request) const {
  const std::string tail = "/oauth2/v2.0/token";
  return request.path.size() > tail.size() &&
         request.path.compare(request.path.size() - tail.size(), tail.size(), tail) == 0;
}

FakeAnswer DataverseFake::TokenRequest(const FakeRequest& r) {
  auto form = ParseForm(r.body);
  auto param = [&](const char* name) { return form.count(name) ? form.at(name) : std::string(); };
  auto missing = [](const std::string& name) {
    return EntraError(400, "invalid_request", 900144,
                      "The request body must contain the following parameter: '" + name + "'.");
  };
  const std::string grant = param("grant_type"), scope = param("scope");
  if (grant.empty()) return missing("grant_type");
  if (!param("client_id").empty() && param("client_id") != client_id_)
    return EntraError(
        400, "unauthorized_client", 700016,
        "Application with identifier '" + param("client_id") + "' was not found in the directory.");
  // invalid_client comes back as 401, not 400 (observed: keycloak/keycloak #31294,
  // Azure/sap-automation #418, BookStackApp/BookStack #4089).
  if (!ClientMatches(r, form)) {
    if (param("client_secret").empty() && r.header("authorization").empty())
      return EntraError(401, "invalid_client", 7000218,
                        "The request body must contain the following parameter: "
                        "'client_assertion' or 'client_secret'.");
    return EntraError(401, "invalid_client", 7000215,
                      "Invalid client secret provided. Ensure the secret being sent in the "
                      "request is the client secret value, not the client secret ID, for a "
                      "secret added to app '" +
                          client_id_ + "'.");
  }
  Object o(Poco::JSON_PRESERVE_KEY_ORDER);
  o.set("token_type", "Bearer");
  if (grant == "client_credentials") {
    if (scope.empty()) return missing("scope");
    if (scope.size() < 9 || scope.compare(scope.size() - 9, 9, "/.default") != 0)
      return EntraError(
          400, "invalid_scope", 1002012,
          "The provided value for scope " + scope +
              " is not valid. Client "
              "credential flows must have a scope value with /.default suffixed to the "
              "resource identifier (application ID URI).");
  } else if (grant == "refresh_token") {
    if (param("refresh_token").empty()) return missing("refresh_token");
    if (!RefreshTokenValid(param("refresh_token")))
      return EntraError(400, "invalid_grant", 700082,
                        "The refresh token has expired due to inactivity. The token was issued "
                        "on 2023-02-24T13:21:24.0000000Z and was inactive for 90.00:00:00.");
    o.set("scope", scope.empty() ? base_url() + "/user_impersonation" : scope);
  } else if (grant == "authorization_code") {  // the fake hands out no codes
    return EntraError(400, "invalid_grant", 70000,
                      "The provided value for the 'code' parameter is not valid.");
  } else {
    return EntraError(400, "unsupported_grant_type", 70003,
                      "The app requested an unsupported grant type '" + grant + "'.");
  }
  o.set("expires_in", 3599);
  o.set("ext_expires_in", 3599);
  o.set("access_token", IssueAccessToken());
  if (grant == "refresh_token") o.set("refresh_token", IssueRefreshToken());  // rotated, §3.1
  return {
      200, Json(o), "application/json; charset=utf-8", {{"Cache-Control", "no-store, no-cache"}}};
}

// --- the org: faults ---

FakeAnswer DataverseFake::RateLimited(const FakeRequest&) {  // §3.6 service-protection limits
  FakeAnswer a = Error(429, "0x80072322",
                       "Number of requests exceeded the limit of 6000 over time window of 300 "
                       "seconds.");
  a.headers.emplace_back("Retry-After", std::to_string(retry_after_seconds_));
  return WithOData(std::move(a));
}

FakeAnswer DataverseFake::ServerError(int status) {
  return WithOData(Error(status, "0x80040216", "An unexpected error occurred."));
}

FakeAnswer DataverseFake::Handle(const FakeRequest& r, bool authorized) {
  if (r.header("odata-version") != "4.0") ++missing_odata_headers_;
  if (authorized) return WithOData(Route(r));
  // §3.6: an expired or unknown token gets an empty 401 and the challenge header.
  FakeAnswer a{401, "", "", {}};
  a.headers.emplace_back("WWW-Authenticate",
                         "Bearer authorization_uri=https://login.microsoftonline.com/common/"
                         "oauth2/authorize, resource_id=" +
                             base_url() + "/");
  return WithOData(std::move(a));
}

// --- the org: routing ---

FakeAnswer DataverseFake::Route(const FakeRequest& r) {
  static const std::regex api(R"(^/api/data/v9\.[0-2]/)");
  std::smatch m;
  if (!std::regex_search(r.path, m, api)) return NotFound(r.path.substr(r.path.empty() ? 0 : 1));
  root_ = base_url() + m.str(0).substr(0, m.length(0) - 1);
  const std::string rest = r.path.substr(m.length(0));
  if (rest == "WhoAmI" || rest == "WhoAmI()") {  // a function: GET only (web-api-client-errors.md)
    if (r.method == "GET") return WhoAmI();
    return Error(
        404, "",
        "No HTTP resource was found that matches the request URI '" + root_ + "/" + rest + "'.");
  }
  const size_t paren = rest.find('(');
  auto table = tables_.find(rest.substr(0, paren));
  if (table == tables_.end()) return NotFound(rest.substr(0, paren));
  auto not_allowed = [&] {
    return Error(405, "",
                 "The requested resource does not support http method '" + r.method + "'.");
  };
  if (paren == std::string::npos) {
    if (r.method == "GET") return Query(r, table->second);
    if (r.method == "POST") return Create(r, table->second);
    return not_allowed();
  }
  if (rest.back() != ')') return NotFound(rest.substr(rest.find(')') + 1));
  const std::string key_text = rest.substr(paren + 1, rest.size() - paren - 2);
  if (r.method == "GET") return Retrieve(r, table->second, key_text);
  if (r.method == "PATCH") return Patch(r, table->second, key_text);
  return not_allowed();
}

FakeAnswer DataverseFake::WhoAmI() const {
  Object o(Poco::JSON_PRESERVE_KEY_ORDER);
  o.set("@odata.context", root_ + "/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse");
  o.set("BusinessUnitId", business_unit_id_);
  o.set("UserId", user_id_);
  o.set("OrganizationId", organization_id_);
  return {200, Json(o), kODataJson, {}};
}

// --- the org: reading ---

DataverseFake::Outcome DataverseFake::ParseKey(const Table& t, const std::string& text,
                                               KeyRef* key) const {
  if (auto e = Unterminated(text)) return e;
  std::string name, value;
  size_t eq = text.find('='), quote = text.find('\''), pos = 0;
  if (eq != std::string::npos && eq < quote) {
    name = text.substr(0, eq);
    pos = eq + 1;
  }
  bool quoted = false;
  ReadLiteral(text, &pos, &value, &quoted);
  if (pos != text.size()) return QuerySyntax();
  if (name.empty() || name == t.key) {
    if (quoted || !IsGuid(value)) return QuerySyntax();
    *key = {false, Poco::toLower(value)};
    return std::nullopt;
  }
  if (t.set == "contacts" && name == "emailaddress1" && email_key_ && quoted) {
    // use-alternate-key-reference-record.md: these characters are not supported in key values.
    if (value.find_first_of("/<>*%&:\\?+") != std::string::npos) return QuerySyntax();
    *key = {true, value};
    return std::nullopt;
  }
  const std::string type = "'Microsoft.Dynamics.CRM." + t.type + "'";  // §3.4
  return Bad("0x80060888",
             "The key in the request URI is not valid for resource " + type +
                 ". Ensure that the names and number of key properties match the declared or "
                 "alternate key properties for the resource " +
                 type + ".");
}

DataverseFake::Outcome DataverseFake::ParseSelect(const FakeRequest& r, const Table& t,
                                                  std::vector<std::string>* out) const {
  auto it = r.query.find("$select");
  if (it == r.query.end()) return std::nullopt;  // every column
  std::stringstream in(it->second);
  for (std::string name; std::getline(in, name, ',');) {
    name = Poco::trim(name);
    if (!t.Find(name)) return NoProperty(t.type, name);
    out->push_back(name);
  }
  return std::nullopt;
}

// Only `<column> eq <literal>` joined by ` and ` (what the adapters send, §3.3); the literal's
// OData type must match the column's, as the real parser insists.
DataverseFake::Outcome DataverseFake::ParseFilter(const Table& t, const std::string& f,
                                                  std::vector<Clause>* out) const {
  if (auto e = Unterminated(f)) return e;
  const auto unsupported = Bad("0x80060888",
                               "This fake Dataverse supports only `<column> eq <literal>` "
                               "clauses joined by `and`: '" +
                                   f + "'.");
  size_t i = 0;
  auto skip = [&] {
    while (i < f.size() && f[i] == ' ') ++i;
  };
  auto word = [&] {
    size_t from = i;
    while (i < f.size() && (std::isalnum(static_cast<unsigned char>(f[i])) || f[i] == '_')) ++i;
    return f.substr(from, i - from);
  };
  for (;;) {
    skip();
    size_t at = i;
    const std::string name = word();
    if (name.empty()) return i < f.size() && f[i] == '(' ? unsupported : SyntaxError(at, f);
    if (i < f.size() && f[i] == '(') return unsupported;  // contains(), startswith(), ...
    const Column* column = t.Find(name);
    if (!column) return NoProperty(t.type, name);
    skip();
    at = i;
    const std::string op = word();
    if (op != "eq") return op.empty() ? SyntaxError(at, f) : unsupported;
    skip();
    Clause c{name, "", false};
    bool quoted = false;
    at = i;
    ReadLiteral(f, &i, &c.literal, &quoted);
    if (!quoted && c.literal.empty()) return SyntaxError(at, f);
    c.is_null = !quoted && c.literal == "null";
    const char* want = EdmType(static_cast<int>(column->kind));
    if (!c.is_null && want) {
      std::string got = quoted                  ? "Edm.String"
                        : IsGuid(c.literal)     ? "Edm.Guid"
                        : IsInt(c.literal)      ? "Edm.Int32"
                        : IsDateTime(c.literal) ? "Edm.DateTimeOffset"
                                                : "";
      if (got.empty()) return NoProperty(t.type, c.literal);  // a bare word is a property path
      if (got != want)
        return Bad("0x80060888",
                   "A binary operator with incompatible types was detected. Found operand "
                   "types '" +
                       std::string(want) + "' and '" + got + "' for operator kind 'Equal'.");
    }
    out->push_back(std::move(c));
    skip();
    if (i >= f.size()) return std::nullopt;
    at = i;
    const std::string join = word();
    if (join == "or" || join == "not") return unsupported;
    if (join != "and") return SyntaxError(at, f);
  }
}

FakeAnswer DataverseFake::Query(const FakeRequest& r, const Table& t) {
  std::vector<std::string> select;
  std::vector<Clause> filter;
  if (auto e = ParseSelect(r, t, &select)) return *e;
  if (auto it = r.query.find("$filter"); it != r.query.end())
    if (auto e = ParseFilter(t, it->second, &filter)) return *e;
  long long top = -1;
  if (auto it = r.query.find("$top"); it != r.query.end()) {
    if (!std::regex_match(it->second, std::regex("^[0-9]{1,9}$")))
      return Bad("0x80060888", "Invalid value '" + it->second +
                                   "' for $top query option found. The $top query option "
                                   "requires a non-negative integer value.");
    top = std::stoll(it->second);
  }
  Poco::JSON::Array::Ptr value = new Poco::JSON::Array;
  for (const Row& row : t.rows) {
    if (top >= 0 && static_cast<long long>(value->size()) >= top) break;
    bool match = true;
    for (const Clause& c : filter) {
      const bool set = !row.values->get(c.column).isEmpty();
      match =
          match && (c.is_null ? !set : set && SameText(Text(row.values->get(c.column)), c.literal));
    }
    if (match) value->add(Record(t, row, select, ""));
  }
  Object o(Poco::JSON_PRESERVE_KEY_ORDER);
  o.set("@odata.context", Context(t, select));
  o.set("value", value);
  return {200, Json(o), kODataJson, {}};
}

FakeAnswer DataverseFake::Retrieve(const FakeRequest& r, Table& t, const std::string& key_text) {
  KeyRef key;
  std::vector<std::string> select;
  if (auto e = ParseKey(t, key_text, &key)) return *e;
  if (auto e = ParseSelect(r, t, &select)) return *e;
  Row* row = Find(t, key);
  if (!row) return Missing(t.type, key.alternate, key.value);
  if (r.header("if-none-match") == Etag(row->version)) return {304, "", "", {}};
  return {200, Json(*Record(t, *row, select, Context(t, select) + "/$entity")), kODataJson, {}};
}

DataverseFake::Row* DataverseFake::Find(Table& t, const KeyRef& key) {
  const std::string column = key.alternate ? "emailaddress1" : t.key;
  for (Row& row : t.rows)
    if (row.values->has(column) && SameText(Text(row.values->get(column)), key.value)) return &row;
  return nullptr;
}

// A row as the Web API shows it: the etag, the key, then the selected (or all) columns, null
// when unset.
Poco::JSON::Object::Ptr DataverseFake::Record(const Table& t, const Row& row,
                                              const std::vector<std::string>& select,
                                              const std::string& context) const {
  Object::Ptr o = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
  if (!context.empty()) o->set("@odata.context", context);
  o->set("@odata.etag", Etag(row.version));
  auto put = [&](const std::string& name) {
    o->set(name, row.values->get(name));  // empty (null) when unset
  };
  put(t.key);
  if (select.empty())
    for (const Column& c : t.columns) put(c.name);
  for (const std::string& name : select) put(name);
  return o;
}

std::string DataverseFake::Context(const Table& t, const std::vector<std::string>& select) const {
  std::string cols;
  for (const std::string& name : select) cols += (cols.empty() ? "" : ",") + name;
  return root_ + "/$metadata#" + t.set + (cols.empty() ? "" : "(" + cols + ")");
}

// --- the org: writing ---

DataverseFake::Outcome DataverseFake::ReadBody(const FakeRequest& r, const Table& t,
                                               Poco::JSON::Object::Ptr* changes) const {
  Object::Ptr in;
  try {
    in = Poco::JSON::Parser().parse(r.body).extract<Object::Ptr>();
  } catch (const Poco::Exception& e) {  // [unverified] code and wording
    return Bad("0x0",
               "An error occurred while validating input parameters: "
               "Microsoft.OData.ODataException: Invalid JSON. " +
                   e.displayText());
  }
  *changes = new Object;
  const std::string validating = "An error occurred while validating input parameters: ";
  for (const auto& [name, value] : *in) {
    const std::string bind = "@odata.bind";
    if (name.size() > bind.size() &&
        name.compare(name.size() - bind.size(), bind.size(), bind) == 0) {
      if (auto e = Bind(t, name.substr(0, name.size() - bind.size()), value, **changes)) return e;
      continue;
    }
    if (name.find('@') != std::string::npos) continue;  // instance annotations, not columns
    const Column* c = t.Find(name);
    if (!c)  // web-api-client-errors.md ("Invalid property ... was found in entity")
      return Bad("0x0", validating + "Microsoft.Crm.CrmException: Invalid property '" + name +
                            "' was found in entity 'Microsoft.Dynamics.CRM." + t.type +
                            "'. ---> Microsoft.OData.ODataException: Does not support "
                            "untyped value in non-open type.");
    if (c->kind == Kind::kComputed) continue;  // not valid for create/update: ignored [unverified]
    if (c->kind == Kind::kLookup)
      return Bad("0x80060888",
                 "CRM do not support direct update of Entity Reference "
                 "properties, Use Navigation properties instead.");
    if (value.isEmpty() && c->name != t.key) {
      (*changes)->set(name, Var());
      continue;
    }
    const bool structured =
        value.type() == typeid(Object::Ptr) || value.type() == typeid(Poco::JSON::Array::Ptr);
    const std::string s = value.isString() ? value.extract<std::string>() : "";
    if (c->kind == Kind::kDateTime && value.isString() && IsDateTime(s, false))  // ODL's wording
      return Bad("0x0", validating +
                            "Microsoft.OData.ODataException: The time zone information "
                            "is missing on the DateTimeOffset value '" +
                            s +
                            "'. A DateTimeOffset value "
                            "must contain the time zone information.");
    const long long n = value.isInteger() && !value.isBoolean() ? IntOf(value) : 1LL << 40;
    const bool ok = c->kind == Kind::kText       ? value.isString()
                    : c->kind == Kind::kGuid     ? value.isString() && IsGuid(s)
                    : c->kind == Kind::kDateTime ? value.isString() && IsDateTime(s)
                    : c->kind == Kind::kInt      ? n >= INT32_MIN && n <= INT32_MAX
                                                 : !structured;
    const char* edm = EdmType(static_cast<int>(c->kind));
    if (!ok)
      return Bad("0x0", validating +
                            "Microsoft.OData.ODataException: Cannot convert the literal '" +
                            (structured ? "{...}" : Text(value)) + "' to the expected type '" +
                            (edm ? edm : "Edm.Untyped") + "'.");
    if (c->max_length && Utf8Length(s) > c->max_length)  // [unverified] code
      return Bad("0x80044331", "A validation error occurred. The length of the '" + name +
                                   "' attribute of the '" + t.type +
                                   "' entity exceeded the maximum allowed length of '" +
                                   std::to_string(c->max_length) + "'.");
    if (c->kind == Kind::kGuid)
      (*changes)->set(name, Poco::toLower(s));
    else if (c->kind == Kind::kInt)
      (*changes)->set(name, Poco::Int64(n));
    else
      (*changes)->set(name, value);
  }
  return std::nullopt;
}

// §3.5: a task's contact is bound through regardingobjectid_contact_task; any other navigation
// property (regardingobjectid_contact among them) is undeclared. Wording from
// web-api-client-errors.md.
DataverseFake::Outcome DataverseFake::Bind(const Table& t, const std::string& property,
                                           const Poco::Dynamic::Var& value,
                                           Poco::JSON::Object& changes) const {
  if (t.set != "tasks" || property != "regardingobjectid_contact_task")
    return Bad("0x80048d19",
               "Error identified in Payload provided by the user for Entity :'" + t.set +
                   "'  ---->  InnerException : Microsoft.OData.ODataException: An undeclared "
                   "property '" +
                   property +
                   "' which only has property annotations in the "
                   "payload but no property value was found in the payload. In OData, only "
                   "declared navigation properties and declared named streams can be "
                   "represented as properties without values.");
  static const std::regex ref(R"(^(?:.*/api/data/v9\.[0-2])?/?contacts\(([0-9a-fA-F-]{36})\)$)");
  std::smatch m;
  const std::string text = value.isString() ? value.extract<std::string>() : Text(value);
  if (!value.isString() || !std::regex_match(text, m, ref) || !IsGuid(m.str(1)))  // [unverified]
    return Bad("0x80060888", "The value '" + text + "' of '" + property +
                                 "@odata.bind' is not a reference to a contact; expected "
                                 "'/contacts(<contactid>)'.");
  const std::string id = Poco::toLower(m.str(1));
  bool found = false;
  for (const Row& row : tables_.at("contacts").rows)
    found = found || Text(row.values->get("contactid")) == id;
  if (!found) return Bad("0x80040217", "contact With Id = " + id + " Does Not Exist");
  changes.set("_regardingobjectid_value", id);
  return std::nullopt;
}

DataverseFake::Outcome DataverseFake::CheckWrite(const FakeRequest& r, const Table& t,
                                                 const Row* existing,
                                                 Poco::JSON::Object& changes) const {
  auto has = [&](const char* name) { return changes.has(name); };
  if (t.set == "contacts") {
    if (!has("emailaddress1") || changes.isNull("emailaddress1")) return std::nullopt;
    const std::string email = Text(changes.get("emailaddress1"));
    bool taken = false;
    for (const Row& row : t.rows)
      taken =
          taken || (&row != existing && SameText(Text(row.values->get("emailaddress1")), email));
    if (!taken) return std::nullopt;
    // §3.4: duplicate detection runs only when the caller asks for it, and answers 500.
    if (duplicate_detection_ && SameText(r.header("mscrm.suppressduplicatedetection"), "false"))
      return Error(500, "0x80040333",
                   "A record was not created or updated because a duplicate "
                   "of the current record already exists.");
    if (email_key_)  // the alternate key's unique index [unverified wording]
      return Error(412, "0x80060892",
                   "A record that has the attribute values Email already "
                   "exists. The entity key Email Key requires that this set "
                   "of attributes contains unique values. Select unique "
                   "values and try again.");
    return std::nullopt;
  }
  const std::string id =
      existing ? Text(existing->values->get("activityid")) : Text(changes.get("activityid"));
  // The contract makes subject required (§3.5 says ApplicationRequired) [unverified].
  if (!existing && (!has("subject") || Text(changes.get("subject")).empty()))
    return Bad("0x80040203",
               "Attribute 'subject' is required: a task cannot be created "
               "without a subject.");
  const long long state0 = existing ? IntOf(existing->values->get("statecode")) : 0;
  if (state0 != 0) {  // closed: only a reopening {"statecode":0[,"statuscode":n]} [unverified]
    bool reopen = has("statecode") && IntOf(changes.get("statecode")) == 0;
    for (const auto& [name, value] : changes)
      reopen = reopen && (name == "statecode" || name == "statuscode" || name == "activityid");
    if (!reopen)
      return Bad("0x80040203",
                 "This task is closed or canceled and cannot be edited. "
                 "Reopen it (statecode 0) first.");
  }
  if (has("statecode") || has("statuscode")) {
    const long long state = has("statecode") ? IntOf(changes.get("statecode")) : state0;
    const long long status = has("statuscode") ? IntOf(changes.get("statuscode"))
                             : state == 1      ? 5
                             : state == 2      ? 6
                                               : 2;
    static const char* states[] = {"Open", "Completed", "Canceled"};
    if (state < 0 || state > 2)  // [unverified] wording
      return Bad("0x80040203", std::to_string(state) +
                                   " is not a valid state code on task "
                                   "with Id " +
                                   id + ".");
    if (!ValidState(state, status))
      return Bad("0x80040203", std::to_string(status) +
                                   " is not a valid status code for "
                                   "state code TaskState." +
                                   states[state] + " on task with Id " + id + ".");
    changes.set("statecode", Poco::Int64(state));
    changes.set("statuscode", Poco::Int64(status));
  }
  return std::nullopt;
}

DataverseFake::Outcome DataverseFake::Insert(const FakeRequest& r, Table& t,
                                             Poco::JSON::Object& changes, Row** row) {
  if (changes.has(t.key)) {
    if (Find(t, {false, Text(changes.get(t.key))}))
      return Error(412, "0x80040237", "A record with matching key values already exists.");
  } else {
    changes.set(t.key, NewGuid());
  }
  if (auto e = CheckWrite(r, t, nullptr, changes)) return e;
  *row = &Commit(t, nullptr, changes);
  return std::nullopt;
}

DataverseFake::Row& DataverseFake::Commit(Table& t, Row* existing,
                                          const Poco::JSON::Object& changes) {
  const std::string now = Now("%Y-%m-%dT%H:%M:%SZ");
  Row* row = existing;
  if (!row) {
    t.rows.push_back({new Object, 0});
    row = &t.rows.back();
    row->values->set("createdon", now);
    if (t.set == "tasks") {
      row->values->set("statecode", Poco::Int64(0));
      row->values->set("statuscode", Poco::Int64(2));
      row->values->set("prioritycode", Poco::Int64(1));
    }
  }
  for (const auto& [name, value] : changes) {
    if (value.isEmpty())
      row->values->remove(name);
    else
      row->values->set(name, value);
  }
  row->values->set("modifiedon", now);
  if (t.set == "contacts") {  // fullname is "First Last", the stock format
    std::string full =
        Poco::trim(Text(row->values->get("firstname")) + " " + Text(row->values->get("lastname")));
    if (full.empty())
      row->values->remove("fullname");
    else
      row->values->set("fullname", full);
  }
  row->version = ++version_;
  return *row;
}

FakeAnswer DataverseFake::Create(const FakeRequest& r, Table& t) {
  std::vector<std::string> select;
  Object::Ptr changes;
  Row* row = nullptr;
  if (auto e = ParseSelect(r, t, &select)) return *e;
  if (auto e = ReadBody(r, t, &changes)) return *e;
  if (auto e = Insert(r, t, *changes, &row)) return *e;
  return Written(r, t, *row, true, select);
}

// §3.4: PATCH is an upsert unless If-Match / If-None-Match say otherwise.
FakeAnswer DataverseFake::Patch(const FakeRequest& r, Table& t, const std::string& key_text) {
  KeyRef key;
  std::vector<std::string> select;
  Object::Ptr changes;
  if (auto e = ParseKey(t, key_text, &key)) return *e;
  if (auto e = ParseSelect(r, t, &select)) return *e;
  if (auto e = ReadBody(r, t, &changes)) return *e;
  if (key.alternate && changes->has("emailaddress1"))  // [unverified] wording
    return Bad("0x80060888",
               "The key attribute 'emailaddress1' is in the request URI; it "
               "must not be repeated in the request body.");
  if (!key.alternate && changes->has(t.key) && Text(changes->get(t.key)) != key.value)
    return Bad("0x80060888",
               "The primary key in the request body does not match the one "
               "in the request URI.");  // [unverified]
  Row* row = Find(t, key);
  const std::string if_match = r.header("if-match");
  if (row && r.header("if-none-match") == "*")
    return Error(412, "0x80040237", "A record with matching key values already exists.");
  if (!row && !if_match.empty()) return Missing(t.type, key.alternate, key.value);
  if (row && !if_match.empty() && if_match != "*" && if_match != Etag(row->version))
    return Error(412, "0x80060882",
                 "The version of the existing record doesn't match the RowVersion property "
                 "provided.");
  if (!row) {
    changes->set(t.key, key.alternate ? NewGuid() : key.value);
    if (key.alternate) changes->set("emailaddress1", key.value);
  }
  if (auto e = CheckWrite(r, t, row, *changes)) return *e;
  const bool created = !row;
  return Written(r, t, Commit(t, row, *changes), created, select);
}

// §3.4: 204 + OData-EntityId, or the record with Prefer: return=representation.
FakeAnswer DataverseFake::Written(const FakeRequest& r, const Table& t, const Row& row,
                                  bool created, const std::vector<std::string>& select) const {
  if (r.header("prefer").find("return=representation") != std::string::npos)
    return {created ? 201 : 200,
            Json(*Record(t, row, select, Context(t, select) + "/$entity")),
            kODataJson,
            {{"Preference-Applied", "return=representation"}}};
  return {204,
          "",
          "",
          {{"OData-EntityId", root_ + "/" + t.set + "(" + Text(row.values->get(t.key)) + ")"}}};
}

// --- for the tests ---

std::string DataverseFake::AddContact(const std::string& columns_json) {
  std::lock_guard lock(mu());
  FakeRequest seed;
  seed.method = "POST";
  seed.body = columns_json;
  Table& t = tables_.at("contacts");
  Object::Ptr changes;
  Row* row = nullptr;
  Outcome e = ReadBody(seed, t, &changes);
  if (!e) e = Insert(seed, t, *changes, &row);
  if (e) throw std::invalid_argument("DataverseFake::AddContact: " + e->body);
  return Text(row->values->get("contactid"));
}

std::string DataverseFake::GrantRefreshToken() {
  std::lock_guard lock(mu());
  return IssueRefreshToken();
}

std::vector<Poco::JSON::Object::Ptr> DataverseFake::Rows(const std::string& table) const {
  std::lock_guard lock(mu());
  std::vector<Object::Ptr> out;
  if (auto it = tables_.find(table); it != tables_.end())
    for (const Row& row : it->second.rows) out.push_back(new Object(*row.values));
  return out;
}

void DataverseFake::AddColumn(const std::string& table, const std::string& column) {
  std::lock_guard lock(mu());
  auto it = tables_.find(table);
  if (it == tables_.end())
    throw std::invalid_argument("DataverseFake::AddColumn: no table " + table);
  if (!it->second.Find(column)) it->second.columns.push_back({column, Kind::kCustom, 0});
}

void DataverseFake::EnableEmailAlternateKey(bool on) {
  std::lock_guard lock(mu());
  email_key_ = on;
}

void DataverseFake::EnableDuplicateDetection(bool on) {
  std::lock_guard lock(mu());
  duplicate_detection_ = on;
}

void DataverseFake::SetRetryAfterSeconds(int seconds) {
  std::lock_guard lock(mu());
  retry_after_seconds_ = seconds;
}

int DataverseFake::missing_odata_headers() const {
  std::lock_guard lock(mu());
  return missing_odata_headers_;
}

}  // namespace crmhost::testing
