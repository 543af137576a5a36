// The salesforce adapter: visitor events into Salesforce through the REST API, per
// /work/shared/crm-contracts.md §1.
//
// - visitor.pre_registered, visitor.checked_in: upsert the contact (mapped record "contact") by
//   email: one PATCH through a custom External ID field when config names one (§1.4), else a SOQL
//   query by Email, then update the match or create.
// - visitor.checked_out: the same upsert, then a completed Task (mapped record "activity") with
//   WhoId = that contact (§1.5). A repeat never makes a second Task: with `delivery_id_field` the
//   Task is upserted by the delivery id; without it the Subject ends with " [ref <delivery id>]"
//   and that Subject is looked for on the contact before the Task is created.
//
// The host owns OAuth (no expires_in, instance_url as the API base, §1.1), the field mapping and
// pacing; this file speaks the REST API and classifies its answers, the daily quota included
// (Sforce-Limit-Info on every answer, 403 REQUEST_LIMIT_EXCEEDED, §1.6).
//
// THREADING: CRMH_FLAG_INSTANCE_THREADSAFE. The settings are immutable after construction; the
// quota state (what the last answer near the quota said) is atomic.
#define CRMH_MIN_HOST_MINOR 2
#include <atomic>
#include <crm_kit/crm_kit.hpp>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>

namespace {

using crmkit::Answer;
using crmkit::CrmCall;
using crmkit::json;
using crmkit::Outcome;
using crmkit::unreadable;

// The daily limit sends no Retry-After: back off for an hour, not seconds (§1.6). The concurrent
// long-running request limit shares the error code but clears as soon as requests finish.
constexpr int64_t kQuotaPauseMs = 3600 * 1000;
constexpr int64_t kConcurrencyPauseMs = 60 * 1000;
constexpr size_t kSubjectMax = 255;  // Task.Subject holds 255 characters; counted here in bytes

// A member of a JSON object as text ("" when absent, null, or `object` is no object).
std::string field_text(const json& object, const char* key) {
  return object.is_object() ? crmkit::text(object, key) : "";
}

// object[key] when it is an array, else an empty one (find() on a non-object finds nothing).
json array_at(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_array() ? *it : json::array();
}

// The records of a query answer (§1.3), or nullptr when the body is no query answer.
const json* records_of(const json& body) {
  auto it = body.find("records");
  return it != body.end() && it->is_array() ? &*it : nullptr;
}

// A SOQL string literal (§1.3): \ and ' escaped, and the line breaks and tabs SOQL has escapes
// for, so a literal stays on one line; the whole query is percent-encoded afterwards.
std::string soql_literal(std::string_view value) {
  static constexpr std::pair<char, const char*> kEscapes[] = {
      {'\\', "\\\\"}, {'\'', "\\'"}, {'\n', "\\n"}, {'\r', "\\r"}, {'\t', "\\t"}};
  std::string out = "'";
  for (char c : value) {
    const char* escaped = nullptr;
    for (const auto& [raw, text] : kEscapes)
      if (c == raw) escaped = text;
    if (escaped != nullptr) {
      out += escaped;
    } else {
      out.push_back(c);
    }
  }
  return out + "'";
}

// The first element of Salesforce's error array (§1.6); {} when the body is none.
json first_error(const Answer& a) {
  json body = a.body_json();
  return body.is_array() && !body.empty() && body[0].is_object() ? body[0] : json::object();
}

// "<errorCode> <fields>: <message>" of the first error (§1.6).
std::string error_text(const Answer& a) {
  json e = first_error(a);
  std::string code = field_text(e, "errorCode"), message = field_text(e, "message");
  if (code.empty() && message.empty()) return "HTTP " + std::to_string(a.status);
  std::string fields;
  for (const json& name : array_at(e, "fields"))
    if (name.is_string()) fields += (fields.empty() ? "" : ",") + name.get<std::string>();
  return code + (fields.empty() ? "" : " " + fields) + ": " + message;
}

// The ids a 300 Multiple Choices names: its body lists the matching records' URLs
// ".../sobjects/Contact/003..." (§1.4); the last segment of each.
std::string matched_ids(const Answer& a) {
  json body = a.body_json();
  std::string ids;
  for (const json& item : body.is_array() ? body : json::array()) {
    std::string url = item.is_string() ? item.get<std::string>() : field_text(item, "url");
    if (!url.empty()) ids += (ids.empty() ? "" : ", ") + url.substr(url.rfind('/') + 1);
  }
  return ids.empty() ? "(not named)" : ids;
}

// The outcome of a REST answer (§1.6). `what` names the request for the message.
Outcome classify(const Answer& a, const std::string& what) {
  if (!a.answered()) return crmkit::transport_outcome(a, what);
  Outcome o;
  o.http_status = a.status;
  if (a.ok()) return o;
  o.message = what + ": " + error_text(a);
  json e = first_error(a);
  if (a.status == 401) {
    o.status = CRMH_AUTH_EXPIRED;  // INVALID_SESSION_ID: the host renews the token once
  } else if (a.status == 403 && field_text(e, "errorCode") == "REQUEST_LIMIT_EXCEEDED") {
    // Salesforce's rate limit is a 403, never a 429 (§1.6).
    o.status = CRMH_RATE_LIMITED;
    bool concurrent =
        crmkit::lower(field_text(e, "message")).find("concurrent") != std::string::npos;
    o.retry_after_ms = concurrent ? kConcurrencyPauseMs : kQuotaPauseMs;
  } else if (a.status == 429) {
    o.status = CRMH_RATE_LIMITED;  // never Salesforce's own (§1.6), but a proxy's
    o.retry_after_ms = a.retry_after_ms;
  } else if (a.status >= 500 || a.status == 408) {
    o.status = CRMH_RETRY;
  } else if (a.status == 300) {
    o.status = CRMH_PERMANENT;  // an External ID held by several records (§1.4)
    o.message = what + ": several records hold this external id: " + matched_ids(a);
  } else {
    o.status = CRMH_PERMANENT;  // 400, 403, 404, ...: will fail the same way again
  }
  return o;
}

bool is_alnum(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// The existing record a create was refused for (§1.4), "" when the refusal names none:
// DUPLICATES_DETECTED names it in duplicateResult.matchResults[].matchRecords[].record.Id (the
// key is spelled "duplicateResut" in many captured payloads: both are read); DUPLICATE_VALUE only
// in its message, "... duplicates value on record with id: 003...".
std::string duplicate_of(const Answer& a) {
  if (!a.answered() || a.status != 400) return "";
  json body = a.body_json();
  if (!body.is_array()) return "";
  for (const json& e : body) {
    for (const char* key : {"duplicateResult", "duplicateResut"})
      for (const json& match : array_at(crmkit::section(e, key), "matchResults"))
        for (const json& record : array_at(match, "matchRecords"))
          if (std::string id = field_text(crmkit::section(record, "record"), "Id"); !id.empty())
            return id;
    if (field_text(e, "errorCode") != "DUPLICATE_VALUE") continue;
    std::string message = field_text(e, "message");
    static const std::string kTag = "record with id: ";
    size_t from = message.find(kTag);
    if (from == std::string::npos) continue;
    from += kTag.size();
    size_t to = from;
    while (to < message.size() && is_alnum(message[to])) ++to;
    if (to > from) return message.substr(from, to - from);
  }
  return "";
}

// The Task Subject that names a delivery (§1.5): the mapped subject, trimmed (so what is stored
// is exactly what the look-up asks for) and cut at a character boundary to leave room for
// " [ref <delivery id>]" within 255; the marker itself is never cut.
std::string subject_with_marker(std::string subject, std::string_view delivery_id) {
  const std::string marker = "[ref " + std::string(delivery_id) + "]";
  auto trim = [&] {
    while (!subject.empty() && (subject.back() == ' ' || subject.back() == '\t'))
      subject.pop_back();
    size_t lead = subject.find_first_not_of(" \t");
    subject.erase(0, lead == std::string::npos ? subject.size() : lead);
  };
  trim();
  size_t room = kSubjectMax > marker.size() + 1 ? kSubjectMax - marker.size() - 1 : 0;
  if (subject.size() > room) {
    while (room > 0 && (static_cast<unsigned char>(subject[room]) & 0xC0) == 0x80) --room;
    subject.resize(room);
    trim();
  }
  return subject.empty() ? marker : subject + " " + marker;
}

// An sObject field's API name, as it may go into a path: letters, digits and '_'.
bool is_field_name(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_alnum(c) && c != '_') return false;
  return true;
}

struct Settings {
  std::string data_path;          // "/services/data/v60.0"
  std::string external_id_field;  // on Contact, holding the lower-cased email; "" = query first
  std::string delivery_id_field;  // on Task, an External ID for the delivery id; "" = marker
  std::string instance_url;       // for the look-up's record url; "" = null url
  int64_t daily_quota_reserve = 0;
};

// Throws CRMH_BAD_CONFIG naming the key.
Settings read_settings(std::string_view config_json) {
  json config = json::parse(config_json, nullptr, false);
  if (!config.is_object()) throw crmh::Error(CRMH_BAD_CONFIG, "config must be a JSON object");
  Settings s;
  std::string version = crmkit::text(config, "api_version");
  if (version.empty()) version = "v60.0";
  bool well_formed = version.size() > 3 && version[0] == 'v' && version.ends_with(".0");
  for (size_t i = 1; i + 2 < version.size() && well_formed; ++i)
    well_formed = version[i] >= '0' && version[i] <= '9';
  if (!well_formed)
    throw crmh::Error(CRMH_BAD_CONFIG, "config.api_version must look like v60.0 (vNN.0)");
  s.data_path = "/services/data/" + version;
  for (auto [key, out] : {std::pair{"external_id_field", &s.external_id_field},
                          std::pair{"delivery_id_field", &s.delivery_id_field}}) {
    *out = crmkit::text(config, key);
    if (!out->empty() && !is_field_name(*out))
      throw crmh::Error(CRMH_BAD_CONFIG, std::string("config.") + key +
                                             " must be a field's API name, like Email_Key__c");
  }
  s.instance_url = crmkit::text(config, "instance_url");
  while (!s.instance_url.empty() && s.instance_url.back() == '/') s.instance_url.pop_back();
  if (!s.instance_url.empty() && s.instance_url.rfind("https://", 0) != 0 &&
      s.instance_url.rfind("http://", 0) != 0)
    throw crmh::Error(
        CRMH_BAD_CONFIG,
        "config.instance_url must be the org's URL, like https://acme.my.salesforce.com");
  if (std::string reserve = crmkit::text(config, "daily_quota_reserve"); !reserve.empty()) {
    size_t used = 0;
    try {
      s.daily_quota_reserve = std::stoll(reserve, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != reserve.size() || s.daily_quota_reserve < 0)
      throw crmh::Error(CRMH_BAD_CONFIG, "config.daily_quota_reserve must be a whole number >= 0");
  }
  return s;
}

}  // namespace

class SalesforceAdapter {
 public:
  static constexpr const char* name = "salesforce";
  static constexpr const char* version = "1.0.0";
  static constexpr const char* description =
      "Salesforce: contacts by email, visits as completed Tasks";
  static constexpr uint32_t flags = CRMH_FLAG_INSTANCE_THREADSAFE;

  // §1.1: login.salesforce.com, test.salesforce.com or the org's My Domain (which the client
  // credentials flow needs). Every token answer names instance_url, the API base.
  static constexpr crmh_oauth_provider oauth{
      sizeof(crmh_oauth_provider),
      "{login_url|https://login.salesforce.com}/services/oauth2/authorize",
      "{login_url|https://login.salesforce.com}/services/oauth2/token",
      "api refresh_token",
      nullptr,         // authorize_params
      "instance_url",  // api_base_field
      nullptr,         // scheme: Bearer
      CRMH_OAUTH_PKCE | CRMH_OAUTH_CLIENT_CREDENTIALS,
      nullptr,  // api_token_header
      nullptr,  // api_base: instance_url always comes with the token
  };

  // Contact has no plain-text company field (the company is Account.Name); README shows how to
  // map it to a custom field.
  static constexpr const char* default_mapping = R"({
    "contact": {
      "FirstName": {"from": "visitor.first_name"},
      "LastName": {"from": "visitor.last_name", "required": true},
      "Email": {"from": "visitor.email", "transform": ["trim", "lower"], "required": true},
      "Phone": {"from": "visitor.phone"}
    },
    "activity": {
      "Subject": {"template": "Visit: {visitor.first_name} {visitor.last_name} at {visit.site}",
                  "required": true, "max_length": 200},
      "ActivityDate": {"from": ["visit.checked_out_at", "timestamp"], "transform": ["date"],
                       "required": true},
      "Status": {"value": "Completed"},
      "Priority": {"value": "Normal"},
      "TaskSubtype": {"value": "Task"},
      "Description": {"template": "Host: {visit.host}\nSite: {visit.site}\nPurpose: {visit.purpose}\nChecked in: {visit.checked_in_at}\nChecked out: {visit.checked_out_at}\nDocuments signed: {visit.documents_signed}",
                      "max_length": 32000}
    }
  })";

  // A daily quota, no short window (§1.6); 25 concurrent long-running requests per org.
  static constexpr crmh::Pacing pacing{0, 0, 25};

  SalesforceAdapter(crmh::Host host, std::string_view config_json)
      : host_(host), settings_(read_settings(config_json)) {}

  crmh_status deliver(crmh_call* call, const crmh_delivery& delivery, crmh::Result& out) {
    std::string_view type = crmh::view(delivery.event_type);
    bool checked_out = type == "visitor.checked_out";
    if (!checked_out && type != "visitor.pre_registered" && type != "visitor.checked_in")
      return Outcome{CRMH_OK, "ignored: salesforce writes nothing for " + std::string(type), 0, 0}
          .finish(out);
    if (Outcome paused = quota_pause(); paused.status != CRMH_OK) return paused.finish(out);
    CrmCall crm = connect(call);
    json records = crmkit::mapped_records(delivery);
    Contact contact;
    Outcome o = upsert_contact(crm, crmkit::section(records, "contact"), contact);
    if (o.status != CRMH_OK || !checked_out) return o.finish(out);
    return log_visit(crm, crmkit::section(records, "activity"), contact,
                     std::string(crmh::view(delivery.delivery_id)))
        .finish(out);
  }

  crmh_status lookup_contact(crmh_call* call, const crmh_lookup& lookup, crmh::JsonSink sink,
                             crmh::Result& out) {
    if (Outcome paused = quota_pause(); paused.status != CRMH_OK) return paused.finish(out);
    CrmCall crm = connect(call);
    static const std::string kSelect =
        "SELECT Id, FirstName, LastName, Email, Phone, Account.Name FROM Contact WHERE Email = ";
    Answer a = query(crm, kSelect + soql_literal(crmh::view(lookup.email)) + " LIMIT 1");
    Outcome o = classify(a, "Contact lookup");
    if (o.status != CRMH_OK) return o.finish(out);
    json body = a.body_json();
    const json* rows = records_of(body);
    if (rows == nullptr) return unreadable(a, "Contact lookup").finish(out);
    if (rows->empty()) {
      sink.write(R"({"found":false})");
      return o.finish(out);
    }
    if (field_text((*rows)[0], "Id").empty()) return unreadable(a, "Contact lookup").finish(out);
    sink.write(json{{"found", true}, {"contact", normalise((*rows)[0])}}.dump());
    return o.finish(out);
  }

  crmh_status test_connection(crmh_call* call, crmh::Result& out) {
    return classify(send(connect(call), "GET", "/limits"), "limits").finish(out);
  }

 private:
  // The contact a delivery wrote: its Id, and whether this very attempt created it.
  struct Contact {
    std::string id;
    bool created = false;
  };

  CrmCall connect(crmh_call* call) const {
    return CrmCall(host_, call, {{"Accept", "application/json"}});  // §1.2
  }

  // One REST request under /services/data/vNN.0; its Sforce-Limit-Info is noted (§1.6).
  Answer send(const CrmCall& crm, std::string_view method, const std::string& resource,
              const json& body = nullptr) const {
    Answer a = crm.send(method, settings_.data_path + resource, body.is_null() ? "" : body.dump());
    note_quota(a);
    return a;
  }
  Answer query(const CrmCall& crm, const std::string& soql) const {
    return send(crm, "GET", "/query?q=" + crmkit::url_encode(soql));
  }

  // Every answer carries "Sforce-Limit-Info: api-usage=N/M" (§1.6). When N >= M - reserve, the
  // next deliveries and look-ups answer RATE_LIMITED without calling, for an hour; after it one
  // call goes out and its answer decides again.
  void note_quota(const Answer& a) const {
    if (!a.answered()) return;
    std::string info = a.header("sforce-limit-info");
    size_t at = info.find("api-usage=");
    if (at == std::string::npos) return;
    long long used = 0, limit = 0;
    if (std::sscanf(info.c_str() + at + 10, "%lld/%lld", &used, &limit) != 2 || limit <= 0) return;
    if (used < limit - settings_.daily_quota_reserve) return;
    quota_used_.store(used);
    quota_limit_.store(limit);
    quota_paused_until_ms_.store(host_.wall_clock_ms() + kQuotaPauseMs);
  }
  Outcome quota_pause() const {
    int64_t wait = quota_paused_until_ms_.load() - host_.wall_clock_ms();
    if (wait <= 0) return Outcome::ok();
    return {CRMH_RATE_LIMITED,
            "daily API quota: " + std::to_string(quota_used_.load()) + " of " +
                std::to_string(quota_limit_.load()) + " requests used (Sforce-Limit-Info), " +
                "daily_quota_reserve " + std::to_string(settings_.daily_quota_reserve),
            0, wait};
  }

  // Sets contact.id: by the External ID upsert, or by query then update or create.
  Outcome upsert_contact(const CrmCall& crm, json record, Contact& contact) const {
    std::string email = field_text(record, "Email");
    if (email.empty())
      return {CRMH_PERMANENT, "contact: Email is empty; the mapping must fill it (the match key)",
              0, 0};
    if (!settings_.external_id_field.empty())
      return upsert_by_key(crm, std::move(record), crmkit::lower(email), contact);
    // Email is no External ID (§1.4): query, then update the match or create. A retry after a
    // create whose answer was lost finds the contact here.
    Outcome o = find(crm, "Contact", "Email = " + soql_literal(email), 2, contact.id);
    if (o.status != CRMH_OK) return o;
    if (contact.id.empty()) {
      Answer a = send(crm, "POST", "/sobjects/Contact", record);
      if (a.ok()) {
        contact.id = field_text(a.body_json(), "id");
        contact.created = true;
        return contact.id.empty() ? unreadable(a, "Contact create") : classify(a, "Contact create");
      }
      // An active duplicate rule, or a unique field, names the contact it matched: update that
      // one instead (§1.4).
      contact.id = duplicate_of(a);
      if (contact.id.empty()) return classify(a, "Contact create");
    }
    return classify(send(crm, "PATCH", "/sobjects/Contact/" + contact.id, record),
                    "Contact update");
  }

  // PATCH /sobjects/Contact/{field}/{key}, the key (the lower-cased email) in the path and not in
  // the body: 201 created, 200 updated, 300 several contacts hold it (§1.4).
  Outcome upsert_by_key(const CrmCall& crm, json record, const std::string& key,
                        Contact& contact) const {
    const std::string& field = settings_.external_id_field;
    record.erase(field);
    Answer a =
        send(crm, "PATCH", "/sobjects/Contact/" + field + "/" + crmkit::url_encode(key), record);
    if (a.ok()) {
      contact.id = field_text(a.body_json(), "id");
      contact.created = a.status == 201;
      if (!contact.id.empty()) return classify(a, "Contact upsert");
      // Before API v46.0 an update answers 204 without the id: read it by the key.
      Outcome o = find(crm, "Contact", field + " = " + soql_literal(key), 1, contact.id);
      return o.status == CRMH_OK && contact.id.empty() ? unreadable(a, "Contact upsert") : o;
    }
    // A duplicate rule refused the create: a contact with this email exists without the key.
    // Update that one and give it the key, so that the next upsert finds it.
    contact.id = duplicate_of(a);
    if (contact.id.empty()) return classify(a, "Contact upsert");
    record[field] = key;
    return classify(send(crm, "PATCH", "/sobjects/Contact/" + contact.id, record),
                    "Contact update");
  }

  // Sets `id` to the first `sobject` matching `where`, "" when none. With limit 2, a second match
  // is a duplicate already in the CRM: the first is used and both are logged (§1.3).
  Outcome find(const CrmCall& crm, const std::string& sobject, const std::string& where, int limit,
               std::string& id) const {
    const std::string what = sobject + " query";
    Answer a = query(
        crm, "SELECT Id FROM " + sobject + " WHERE " + where + " LIMIT " + std::to_string(limit));
    Outcome o = classify(a, what);
    if (o.status != CRMH_OK) return o;
    json body = a.body_json();
    const json* rows = records_of(body);
    if (rows == nullptr) return unreadable(a, what);
    id.clear();
    if (rows->empty()) return o;
    id = field_text((*rows)[0], "Id");
    if (id.empty()) return unreadable(a, what);
    if (rows->size() > 1)
      host_.log(CRMH_LOG_WARN, "salesforce: " + sobject + " records " + id + " and " +
                                   field_text((*rows)[1], "Id") + " both match; using " + id +
                                   " (a duplicate already in Salesforce: merge them there)");
    return o;
  }

  // The completed Task of one checked_out delivery, on `contact`.
  Outcome log_visit(const CrmCall& crm, json task, const Contact& contact,
                    const std::string& delivery_id) const {
    task["WhoId"] = contact.id;
    if (!settings_.delivery_id_field.empty()) return upsert_task(crm, std::move(task), delivery_id);
    // Look before writing: the Subject names the delivery (Description, a long text area, cannot
    // be filtered in SOQL). A contact this very attempt created has no Task to find.
    std::string subject = subject_with_marker(field_text(task, "Subject"), delivery_id);
    task["Subject"] = subject;
    if (!contact.created) {
      std::string existing;
      Outcome o =
          find(crm, "Task",
               "WhoId = " + soql_literal(contact.id) + " AND Subject = " + soql_literal(subject), 1,
               existing);
      if (o.status != CRMH_OK || !existing.empty()) return o;  // an earlier attempt logged it
    }
    return classify(send(crm, "POST", "/sobjects/Task", task), "Task create");
  }

  // PATCH /sobjects/Task/{delivery_id_field}/{delivery id}: every attempt names the same Task.
  Outcome upsert_task(const CrmCall& crm, json task, const std::string& delivery_id) const {
    const std::string path =
        "/sobjects/Task/" + settings_.delivery_id_field + "/" + crmkit::url_encode(delivery_id);
    task.erase(settings_.delivery_id_field);
    Answer a = send(crm, "PATCH", path, task);
    // A repeat takes the update branch, which refuses a create-only field such as TaskSubtype
    // (INVALID_FIELD_FOR_INSERT_UPDATE). Then an earlier attempt's Task is there: done.
    if (a.answered() && a.status == 400 &&
        field_text(first_error(a), "errorCode") == "INVALID_FIELD_FOR_INSERT_UPDATE") {
      Answer existing = send(crm, "GET", path + "?fields=Id");
      if (existing.ok()) return classify(existing, "Task read");
    }
    return classify(a, "Task upsert");
  }

  // A query record in the host's look-up shape.
  json normalise(const json& row) const {
    auto value = [](const json& object, const char* key) -> json {
      std::string v = field_text(object, key);
      return v.empty() ? json(nullptr) : json(v);
    };
    std::string id = field_text(row, "Id");
    json url = settings_.instance_url.empty()
                   ? json(nullptr)
                   : json(settings_.instance_url + "/lightning/r/Contact/" + id + "/view");
    return {{"id", id},
            {"email", value(row, "Email")},
            {"first_name", value(row, "FirstName")},
            {"last_name", value(row, "LastName")},
            {"company", value(crmkit::section(row, "Account"), "Name")},
            {"phone", value(row, "Phone")},
            {"crm", name},
            {"url", url}};
  }

  crmh::Host host_;
  Settings settings_;
  // What the last answer at or past the reserve said, and until when (wall ms) calls wait.
  mutable std::atomic<int64_t> quota_used_{0}, quota_limit_{0}, quota_paused_until_ms_{0};
};

CRMH_CPP_ADAPTER(SalesforceAdapter)
