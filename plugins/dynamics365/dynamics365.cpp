// The dynamics365 adapter: visitor events into Microsoft Dataverse (Dynamics 365 Sales, Customer
// Service, ...) through the Web API, per /work/shared/crm-contracts.md §3.
//
// - visitor.pre_registered, visitor.checked_in: upsert the contact (mapped record "contact") by
//   emailaddress1, through the environment's alternate key when config says it has one (§3.4),
//   else query-then-write.
// - visitor.checked_out: the same upsert, then a completed task (mapped record "activity") on
//   that contact. The task's primary key is derived from the delivery id, so a repeat finds the
//   first attempt's task instead of making a second one.
//
// The host owns OAuth (Entra ID, v2.0 endpoints), the field mapping and pacing; this file only
// speaks the Web API and classifies its answers.
//
// THREADING: an instance is immutable after construction (CRMH_FLAG_INSTANCE_THREADSAFE); every
// call builds its own CrmCall.
#define CRMH_MIN_HOST_MINOR 2
#include <crm_kit/crm_kit.hpp>
#include <string>
#include <string_view>

namespace {

using crmkit::Answer;
using crmkit::CrmCall;
using crmkit::json;
using crmkit::Outcome;
using crmkit::unreadable;

constexpr const char* kDuplicateDetection = "0x80040333";  // §3.4, answered with a 500
constexpr std::string_view kInvalidKey = "The key in the request URI is not valid";  // §3.4

// A value of a mapped record or of an answer as text ("" when absent or null).
std::string value_text(const json& object, const char* key) { return crmkit::text(object, key); }

// The value of a Dataverse string literal inside a URL: ' doubled (§3.3, else "unterminated
// literal"), then percent-encoded, which turns '+' into %2B and '@' into %40 as §3.3 asks.
std::string odata_literal(std::string_view value) {
  std::string doubled;
  for (char c : value) {
    doubled.push_back(c);
    if (c == '\'') doubled.push_back('\'');
  }
  return crmkit::url_encode(doubled);
}

// A Dataverse primary key as it may go into a path: 8-4-4-4-12 hex digits.
bool is_guid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (dash ? c != '-' : !hex) return false;
  }
  return true;
}

// The record id of a 204's OData-EntityId ".../contacts(<guid>)" (§3.4); "" when it names none.
std::string entity_id(const Answer& a) {
  std::string url = a.header("odata-entityid");
  size_t open = url.rfind('('), close = url.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return "";
  std::string id = url.substr(open + 1, close - open - 1);
  return is_guid(id) ? id : "";
}

// The outcome of a CRM answer (§3.6). `what` names the record for the message.
Outcome classify(const Answer& a, const std::string& what) {
  if (!a.answered()) return crmkit::transport_outcome(a, what);
  Outcome o;
  o.http_status = a.status;
  if (a.ok()) return o;
  std::string code, message;
  json body = a.body_json();
  if (body.is_object() && body.contains("error") && body["error"].is_object()) {
    code = value_text(body["error"], "code");
    message = value_text(body["error"], "message");
  }
  std::string detail = code.empty() ? message : message.empty() ? code : code + ": " + message;
  if (detail.empty()) detail = "HTTP " + std::to_string(a.status);
  o.message = what + ": " + detail;
  if (a.status == 401) {
    // ExpiredAuthTicket and friends (§3.6): the host refreshes the token once and calls again.
    o.status = CRMH_AUTH_EXPIRED;
  } else if (a.status == 429) {
    // Service protection limits answer 429 with Retry-After seconds (§3.6).
    o.status = CRMH_RATE_LIMITED;
    o.retry_after_ms = a.retry_after_ms;
  } else if (a.status == 500 && code == kDuplicateDetection) {
    // Duplicate detection answers 500 although nothing will change on a retry (§3.4).
    o.status = CRMH_PERMANENT;
    o.message = what + ": duplicate detection refused the write (" + detail +
                "); merge the records or relax the duplicate detection rule";
  } else if (a.status >= 500 || a.status == 408) {
    o.status = CRMH_RETRY;
  } else {
    o.status = CRMH_PERMANENT;
  }
  return o;
}

// The integration's own settings; api_base itself is also read by the host (it is the API base
// and the token audience).
struct Settings {
  std::string api_base;      // "https://contoso.crm4.dynamics.com", no trailing '/'
  std::string data_path;     // "/api/data/v9.2"
  bool email_alternate_key;  // the environment has an alternate key on emailaddress1
};

bool is_http_url(std::string_view s) {
  for (std::string_view scheme : {"https://", "http://"})
    if (s.size() > scheme.size() && s.substr(0, scheme.size()) == scheme) return true;
  return false;
}

// Throws CRMH_BAD_CONFIG naming the key.
Settings read_settings(std::string_view config_json) {
  json config = json::parse(config_json, nullptr, false);
  if (!config.is_object()) throw crmh::Error(CRMH_BAD_CONFIG, "config must be a JSON object");
  Settings s;
  s.api_base = crmkit::text(config, "api_base");
  if (!is_http_url(s.api_base))
    throw crmh::Error(CRMH_BAD_CONFIG,
                      "config.api_base must be the environment URL, e.g. "
                      "https://contoso.crm4.dynamics.com");
  // The OAuth scope is "{api_base}/.default" and paths are "/api/data/...": a trailing '/' or a
  // path would make the scope "...com//.default" and the requests miss.
  if (s.api_base.find('/', s.api_base.find("//") + 2) != std::string::npos)
    throw crmh::Error(CRMH_BAD_CONFIG,
                      "config.api_base must be the bare environment URL, without a path or a "
                      "trailing '/'");
  if (crmkit::text(config, "tenant").empty())
    throw crmh::Error(CRMH_BAD_CONFIG,
                      "config.tenant is required: the Entra tenant id or domain "
                      "(contoso.onmicrosoft.com)");
  std::string login_url = crmkit::text(config, "login_url");
  if (!login_url.empty() && !is_http_url(login_url))
    throw crmh::Error(CRMH_BAD_CONFIG, "config.login_url must be an http(s) URL");
  std::string version = crmkit::text(config, "api_version");
  if (version.empty()) version = "v9.2";
  bool well_formed = version.size() >= 2 && version[0] == 'v';
  for (size_t i = 1; i < version.size() && well_formed; ++i)
    well_formed = (version[i] >= '0' && version[i] <= '9') || version[i] == '.';
  if (!well_formed) throw crmh::Error(CRMH_BAD_CONFIG, "config.api_version must look like v9.2");
  s.data_path = "/api/data/" + version;
  s.email_alternate_key = crmkit::flag(config, "email_alternate_key", false);
  return s;
}

}  // namespace

class Dynamics365Adapter {
 public:
  static constexpr const char* name = "dynamics365";
  static constexpr const char* version = "1.0.0";
  static constexpr const char* description =
      "Microsoft Dynamics 365 / Dataverse: contacts by email, visits as completed tasks";
  static constexpr uint32_t flags = CRMH_FLAG_INSTANCE_THREADSAFE;

  // Entra ID v2.0 (§3.1). The client-credentials grant needs an Application User in the
  // environment; the host drops offline_access for it (no refresh token there).
  static constexpr crmh_oauth_provider oauth{
      sizeof(crmh_oauth_provider),
      "{login_url|https://login.microsoftonline.com}/{tenant}/oauth2/v2.0/authorize",
      "{login_url|https://login.microsoftonline.com}/{tenant}/oauth2/v2.0/token",
      "{api_base}/.default offline_access",
      nullptr,  // authorize_params
      nullptr,  // api_base_field: Entra's token answer names no API base; config api_base does
      nullptr,  // scheme: Bearer
      CRMH_OAUTH_PKCE | CRMH_OAUTH_CLIENT_CREDENTIALS,
      nullptr,  // api_token_header
      nullptr,  // api_base: none; config api_base is required
  };

  // The stock contact has no plain-text company column (README: map one to a custom column).
  // task.subject max 200, description max 2000 (§3.5).
  static constexpr const char* default_mapping = R"({
    "contact": {
      "firstname": {"from": "visitor.first_name"},
      "lastname": {"from": "visitor.last_name", "required": true},
      "emailaddress1": {"from": "visitor.email", "transform": ["trim", "lower"], "required": true},
      "telephone1": {"from": "visitor.phone"}
    },
    "activity": {
      "subject": {"template": "Visit: {visitor.first_name} {visitor.last_name} at {visit.site}",
                  "required": true, "max_length": 200},
      "description": {"template": "Host: {visit.host}\nSite: {visit.site}\nPurpose: {visit.purpose}\nChecked in: {visit.checked_in_at}\nChecked out: {visit.checked_out_at}\nDocuments signed: {visit.documents_signed}",
                      "max_length": 2000},
      "scheduledend": {"from": ["visit.checked_out_at", "timestamp"]},
      "actualstart": {"from": "visit.checked_in_at"},
      "actualend": {"from": "visit.checked_out_at"}
    }
  })";

  // Service protection limits: 6000 requests per 300 s, 52 concurrent (§3.6).
  static constexpr crmh::Pacing pacing{6000, 300000, 52};

  Dynamics365Adapter(crmh::Host host, std::string_view config_json)
      : host_(host), settings_(read_settings(config_json)) {}

  crmh_status deliver(crmh_call* call, const crmh_delivery& delivery, crmh::Result& out) {
    std::string_view type = crmh::view(delivery.event_type);
    bool checked_out = type == "visitor.checked_out";
    if (!checked_out && type != "visitor.pre_registered" && type != "visitor.checked_in") {
      // An event this CRM has no use for: nothing to write, nothing to retry.
      return Outcome{CRMH_OK, "ignored: dynamics365 writes nothing for " + std::string(type), 0, 0}
          .finish(out);
    }
    CrmCall crm = connect(call);
    json records = crmkit::mapped_records(delivery);
    std::string contact_id;
    Outcome o = upsert_contact(crm, crmkit::section(records, "contact"), contact_id);
    if (o.status != CRMH_OK || !checked_out) return o.finish(out);
    if (contact_id.empty())
      return Outcome{CRMH_PERMANENT, "contact: written, but Dataverse named no contact id",
                     o.http_status, 0}
          .finish(out);
    std::string task_id = crmkit::stable_guid(crmh::view(delivery.delivery_id));
    return log_visit(crm, crmkit::section(records, "activity"), contact_id, task_id).finish(out);
  }

  crmh_status lookup_contact(crmh_call* call, const crmh_lookup& lookup, crmh::JsonSink sink,
                             crmh::Result& out) {
    CrmCall crm = connect(call);
    Answer a = get(crm, "/contacts?$select=contactid,firstname,lastname,emailaddress1,telephone1" +
                            email_filter(crmh::view(lookup.email)) + "&$top=1");
    Outcome o = classify(a, "contact lookup");
    if (o.status != CRMH_OK) return o.finish(out);
    json body = a.body_json();
    if (!body.is_object() || !body.contains("value") || !body["value"].is_array())
      return unreadable(a, "contact lookup").finish(out);
    if (body["value"].empty() || !body["value"][0].is_object()) {
      sink.write(R"({"found":false})");
      return o.finish(out);
    }
    sink.write(json{{"found", true}, {"contact", normalise(body["value"][0])}}.dump());
    return o.finish(out);
  }

  crmh_status test_connection(crmh_call* call, crmh::Result& out) {
    CrmCall crm = connect(call);
    return classify(get(crm, "/WhoAmI"), "WhoAmI").finish(out);
  }

 private:
  // Every request carries the OData headers of §3.2 (Content-Type comes with a body).
  CrmCall connect(crmh_call* call) const {
    return CrmCall(
        host_, call,
        {{"Accept", "application/json"}, {"OData-MaxVersion", "4.0"}, {"OData-Version", "4.0"}});
  }

  // A read; If-None-Match: null keeps Dataverse from answering 304 from its cache (§3.2).
  Answer get(const CrmCall& crm, const std::string& resource) const {
    return crm.send("GET", settings_.data_path + resource, "", {{"If-None-Match", "null"}});
  }
  Answer write(const CrmCall& crm, std::string_view method, const std::string& resource,
               const json& body, bool existing_only = false) const {
    crmkit::Headers extra;
    if (existing_only) extra.emplace_back("If-Match", "*");  // update, never create (§3.4)
    return crm.send(method, settings_.data_path + resource, body.dump(), extra);
  }

  // "&$filter=emailaddress1 eq '<email>'" with the spaces as %20 (§3.3).
  static std::string email_filter(std::string_view email) {
    return "&$filter=emailaddress1%20eq%20'" + odata_literal(email) + "'";
  }

  // Writes the contact record and sets `id` to its contactid ("" when Dataverse named none).
  Outcome upsert_contact(const CrmCall& crm, json contact, std::string& id) const {
    std::string email = value_text(contact, "emailaddress1");
    if (email.empty())
      return {CRMH_PERMANENT,
              "contact: emailaddress1 is empty; the mapping must fill it (it is the match key)", 0,
              0};
    // Dataverse refuses / < > * % & : \ ? + inside an alternate-key value (use-alternate-key-
    // reference-record.md), and "jane+vip@..." is common: such an address is queried instead.
    const bool key_usable = email.find_first_of("/<>*%&:\\?+") == std::string::npos;
    Outcome o = settings_.email_alternate_key && key_usable
                    ? upsert_by_key(crm, std::move(contact), email, id)
                    : query_then_write(crm, contact, email, id);
    if (o.status != CRMH_OK || !id.empty()) return o;
    // A 204 without a usable OData-EntityId: ask for the row just written.
    Outcome found = find_contact(crm, email, id);
    return found.status == CRMH_OK ? o : found;
  }

  // PATCH contacts(emailaddress1='...') without a condition is an upsert; the key column stays
  // out of the body (§3.4).
  Outcome upsert_by_key(const CrmCall& crm, json contact, const std::string& email,
                        std::string& id) const {
    contact.erase("emailaddress1");
    Answer a =
        write(crm, "PATCH", "/contacts(emailaddress1='" + odata_literal(email) + "')", contact);
    Outcome o = classify(a, "contact upsert");
    if (a.answered() && a.status == 400 && a.body.find(kInvalidKey) != std::string::npos) {
      o.message =
          "contact upsert: config.email_alternate_key is true but the environment has no "
          "alternate key on contact.emailaddress1; set email_alternate_key: false or define the "
          "key (Dataverse: " +
          o.message.substr(o.message.find(": ") + 2) + ")";
      return o;
    }
    if (o.status == CRMH_OK) id = entity_id(a);
    return o;
  }

  // No alternate key: query, then update the match or create (§3.4 fallback). A retry after a
  // create that committed finds the contact here, so repeats do not duplicate it.
  Outcome query_then_write(const CrmCall& crm, const json& contact, const std::string& email,
                           std::string& id) const {
    Outcome o = find_contact(crm, email, id);
    if (o.status != CRMH_OK) return o;
    if (!id.empty()) {
      Answer a = write(crm, "PATCH", "/contacts(" + id + ")", contact, true);
      // 404 with If-Match: *: the contact was deleted since the query; create it instead.
      if (!(a.answered() && a.status == 404)) return classify(a, "contact update");
      id.clear();
    }
    Answer a = write(crm, "POST", "/contacts", contact);
    o = classify(a, "contact create");
    if (o.status == CRMH_OK) id = entity_id(a);
    return o;
  }

  // Sets `id` to the contactid whose emailaddress1 is `email`, "" when none. $top=2 shows
  // duplicates, which are logged: the first one is updated.
  Outcome find_contact(const CrmCall& crm, const std::string& email, std::string& id) const {
    Answer a = get(crm, "/contacts?$select=contactid" + email_filter(email) + "&$top=2");
    Outcome o = classify(a, "contact query");
    if (o.status != CRMH_OK) return o;
    json body = a.body_json();
    if (!body.is_object() || !body.contains("value") || !body["value"].is_array())
      return unreadable(a, "contact query");
    const json& rows = body["value"];
    if (rows.empty()) return o;
    id = rows[0].is_object() ? value_text(rows[0], "contactid") : "";
    if (!is_guid(id)) return unreadable(a, "contact query");
    if (rows.size() > 1)
      host_.log(CRMH_LOG_WARN,
                "dynamics365: several contacts share the visitor's emailaddress1; using " + id);
    return o;
  }

  // The completed task of one checked_out delivery. Its activityid is stable_guid(delivery id):
  // Dataverse lets a create set the primary key, so every attempt names the same task.
  Outcome log_visit(const CrmCall& crm, json task, const std::string& contact_id,
                    const std::string& task_id) const {
    const std::string path = "/tasks(" + task_id + ")";
    Answer a = get(crm, path + "?$select=statecode");
    if (a.answered() && a.status == 404) {
      task["activityid"] = task_id;
      // The single-valued navigation property is regardingobjectid_contact_task (§3.5).
      task["regardingobjectid_contact_task@odata.bind"] = "/contacts(" + contact_id + ")";
      Answer created = write(crm, "POST", "/tasks", task);
      // 412: a task with this key exists, an earlier attempt's create committed (§3.6).
      if (!(created.answered() && created.status == 412)) {
        Outcome o = classify(created, "task create");
        if (o.status != CRMH_OK) return o;
      }
    } else {
      Outcome o = classify(a, "task read");
      if (o.status != CRMH_OK) return o;
      json body = a.body_json();
      if (!body.is_object() || !body.contains("statecode") || !body["statecode"].is_number())
        return unreadable(a, "task read");
      if (body["statecode"].get<int>() != 0) return o;  // completed (or canceled in the CRM)
    }
    // Completing is a second step: statecode and statuscode together, 1/5 = Completed (§3.5).
    return classify(write(crm, "PATCH", path, json{{"statecode", 1}, {"statuscode", 5}}, true),
                    "task complete");
  }

  // A contact row in the host's look-up shape.
  json normalise(const json& row) const {
    auto field = [&](const char* key) -> json {
      std::string v = value_text(row, key);
      return v.empty() ? json(nullptr) : json(v);
    };
    json id = field("contactid");
    json url = id.is_null()
                   ? json(nullptr)
                   : json(settings_.api_base + "/main.aspx?pagetype=entityrecord&etn=contact&id=" +
                          id.get<std::string>());
    return {{"id", id},
            {"email", field("emailaddress1")},
            {"first_name", field("firstname")},
            {"last_name", field("lastname")},
            {"company", nullptr},  // no plain-text company column on contact
            {"phone", field("telephone1")},
            {"crm", name},
            {"url", url}};
  }

  crmh::Host host_;
  Settings settings_;
};

CRMH_CPP_ADAPTER(Dynamics365Adapter)
