// The hubspot adapter: visitor events into HubSpot CRM through the v3 objects API, per
// /work/shared/crm-contracts.md §2 and §4.
//
// - visitor.pre_registered, visitor.checked_in: upsert the contact (mapped record "contact") by
//   email with batch/upsert (§2.4), which cannot duplicate it.
// - visitor.checked_out: the same upsert, then a note (mapped record "activity") associated with
//   that contact. The note body carries a marker naming the delivery id; before creating, the
//   contact's notes are read back (a consistent read, never search: §2.3), so a repeat finds the
//   first attempt's note instead of making a second one.
//
// The host owns OAuth (or the private-app token), the field mapping and pacing; this file only
// speaks the CRM API and classifies its answers.
//
// THREADING: an instance is immutable after construction (CRMH_FLAG_INSTANCE_THREADSAFE); every
// call builds its own CrmCall.
#define CRMH_MIN_HOST_MINOR 2
#include <algorithm>
#include <crm_kit/crm_kit.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace {

using crmkit::Answer;
using crmkit::CrmCall;
using crmkit::json;
using crmkit::Outcome;
using crmkit::unreadable;

constexpr size_t kBatchMax = 100;           // inputs per batch call (§2.4)
constexpr int64_t kDailyLimitWaitMs = 3600 * 1000;  // the daily limit: look again in an hour
constexpr int kMaxAssociationPages = 100;   // 500 ids each: a bound against a cursor that loops
constexpr int64_t kLockedMinWaitMs = 2000;  // 423: wait at least 2 s (§2.6)
constexpr int64_t kRateWindowMs = 10000;    // the 10 s rolling window (§2.6)

// A member of a JSON object as text ("" when absent, null or not an object).
std::string field_text(const json& object, const char* key) {
  return object.is_object() ? crmkit::text(object, key) : "";
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A header value of delta milliseconds ("10000"), 0 when absent or malformed.
int64_t header_ms(const Answer& a, std::string_view lower_name) {
  std::string v = a.header(lower_name);
  if (!all_digits(v) || v.size() > 12) return 0;
  return std::stoll(v);
}

// "<category>: <message>" of HubSpot's error object (§2.6); the 429 body names its kind in
// errorType instead of category.
std::string error_detail(const json& error) {
  std::string category = field_text(error, "category");
  if (category.empty()) category = field_text(error, "errorType");
  std::string message = field_text(error, "message");
  if (category.empty() || message.empty()) return category + message;
  return category + ": " + message;
}

// The outcome of a CRM answer (§2.6). `what` names the request for the message.
Outcome classify(const Answer& a, const std::string& what) {
  if (!a.answered()) return crmkit::transport_outcome(a, what);
  Outcome o;
  o.http_status = a.status;
  if (a.ok()) return o;
  std::string detail = error_detail(a.body_json());
  if (detail.empty()) detail = "HTTP " + std::to_string(a.status);
  o.message = what + ": " + detail;
  if (a.status == 401) {
    // EXPIRED_AUTHENTICATION and friends: the host refreshes once and calls again (§2.6).
    o.status = CRMH_AUTH_EXPIRED;
  } else if (a.status == 429) {
    // Retry-After, else the length of the rolling window the limit is counted over (§2.6).
    o.status = CRMH_RATE_LIMITED;
    o.retry_after_ms = a.retry_after_ms;
    if (o.retry_after_ms == 0)
      o.retry_after_ms = header_ms(a, "x-hubspot-ratelimit-interval-milliseconds");
    if (o.retry_after_ms == 0) o.retry_after_ms = kRateWindowMs;
    // The daily limit is spent until the portal's day turns: a 10 s pause would only ask again
    // and again (policyName DAILY, §2.6).
    if (json body = a.body_json(); body.is_object() && crmkit::text(body, "policyName") == "DAILY")
      o.retry_after_ms = std::max<int64_t>(o.retry_after_ms, kDailyLimitWaitMs);
  } else if (a.status == 423) {
    // Locked: bulk upsert contention on the portal; HubSpot asks for at least 2 s (§2.6).
    o.status = CRMH_RATE_LIMITED;
    o.retry_after_ms = std::max(a.retry_after_ms, kLockedMinWaitMs);
  } else if (a.status == 477) {
    // Migration in Progress: the portal moves data centre, possibly for hours (§2.6).
    o.status = CRMH_RATE_LIMITED;
    o.retry_after_ms = a.retry_after_ms;
  } else if (a.status >= 500 || a.status == 408) {
    o.status = CRMH_RETRY;
  } else {
    o.status = CRMH_PERMANENT;
  }
  return o;
}

// A mapped record as HubSpot properties: every value a string, as the spec's properties maps
// declare (§4), `skip` left out.
json properties_of(const json& record, std::string_view skip = {}) {
  json props = json::object();
  for (const auto& [key, value] : record.items()) {
    if (key == skip || value.is_null()) continue;
    props[key] = value.is_string() ? value.get<std::string>() : value.dump();
  }
  return props;
}

// The existing contact id of a 409 CONFLICT, which HubSpot names only in the message text
// "Contact already exists. Existing ID: 12345" (§2.4); "" when it names none.
std::string existing_id(const Answer& a) {
  std::string message = field_text(a.body_json(), "message");
  static const std::string kTag = "Existing ID: ";
  size_t at = message.find(kTag);
  if (at == std::string::npos) return "";
  size_t from = at + kTag.size(), to = from;
  while (to < message.size() && message[to] >= '0' && message[to] <= '9') ++to;
  return message.substr(from, to - from);
}

// Whether a batch/upsert 400 says email cannot serve as idProperty in this portal
// ("Unable to perform update/upsert by non-unique 0-1 property ...", §2.4).
bool refuses_email_id_property(const Answer& a) {
  if (!a.answered() || a.status != 400) return false;
  std::string message = crmkit::lower(field_text(a.body_json(), "message"));
  for (const char* sign : {"non-unique", "idproperty", "upsert by"})
    if (message.find(sign) != std::string::npos) return true;
  return false;
}

std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

// The text that names a delivery inside its note body; HubSpot keeps a note's text though it may
// rewrite its HTML, so the look-up matches the text, not the <p> element.
std::string marker_text(std::string_view delivery_id) {
  return "crmhost ref: " + html_escape(delivery_id);
}

// Whether `body` holds `marker` as a whole token (so "dlv_1" is not found in "dlv_12").
bool holds_marker(const std::string& body, const std::string& marker) {
  for (size_t at = body.find(marker); at != std::string::npos; at = body.find(marker, at + 1)) {
    size_t end = at + marker.size();
    if (end == body.size()) return true;
    char c = body[end];
    bool id_char = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                   c == '_' || c == '-' || c == '.' || c == '&';
    if (!id_char) return true;
  }
  return false;
}

// The paging cursor of a collection answer, paging.next.after; "" on the last page.
std::string next_after(const json& collection) {
  if (!collection.is_object() || !collection.contains("paging")) return "";
  return field_text(crmkit::section(crmkit::section(collection, "paging"), "next"), "after");
}

// Numeric ids, newest (largest) first: a repeat's note is most likely the latest one.
bool newer_first(const std::string& x, const std::string& y) {
  return x.size() != y.size() ? x.size() > y.size() : x > y;
}

// The integration's own settings.
struct Settings {
  std::string portal_id;  // the HubSpot account (hub) id for record links; "" = no links
};

// Throws CRMH_BAD_CONFIG naming the key.
Settings read_settings(std::string_view config_json) {
  json config = json::parse(config_json, nullptr, false);
  if (!config.is_object()) throw crmh::Error(CRMH_BAD_CONFIG, "config must be a JSON object");
  Settings s;
  s.portal_id = crmkit::text(config, "portal_id");
  if (!s.portal_id.empty() && !all_digits(s.portal_id))
    throw crmh::Error(CRMH_BAD_CONFIG,
                      "config.portal_id must be the HubSpot account id (digits only), as shown "
                      "in the account menu");
  // oauth_base fills the token URL template "{oauth_base}/oauth/v3/token".
  std::string oauth_base = crmkit::text(config, "oauth_base");
  if (!oauth_base.empty()) {
    bool http = oauth_base.rfind("https://", 0) == 0 || oauth_base.rfind("http://", 0) == 0;
    if (!http || oauth_base.back() == '/')
      throw crmh::Error(CRMH_BAD_CONFIG,
                        "config.oauth_base must be an http(s) URL without a trailing '/', e.g. "
                        "https://api.hubapi.com");
  }
  return s;
}

}  // namespace

class HubSpotAdapter {
 public:
  static constexpr const char* name = "hubspot";
  static constexpr const char* version = "1.0.0";
  static constexpr const char* description =
      "HubSpot CRM: contacts upserted by email, visits as notes on the contact";
  static constexpr uint32_t flags = CRMH_FLAG_INSTANCE_THREADSAFE;

  // Public-app OAuth (§2.1). The v3 token endpoint (v1 is deprecated on 2027-02-16) takes the
  // client credentials in the body, so no BASIC_AUTH. A private-app token (secret api_token) is
  // sent as "Authorization: Bearer" like an access token (§2.1).
  static constexpr crmh_oauth_provider oauth{
      sizeof(crmh_oauth_provider),
      "https://app.hubspot.com/oauth/authorize",
      "{oauth_base|https://api.hubapi.com}/oauth/v3/token",
      "oauth crm.objects.contacts.read crm.objects.contacts.write",
      nullptr,  // authorize_params
      nullptr,  // api_base_field: the token answer names no API base
      nullptr,  // scheme: Bearer
      0,        // flags: PKCE not needed; credentials in the body
      nullptr,  // api_token_header: the private-app token goes as Bearer too
      "https://api.hubapi.com",
  };

  // hs_note_body holds up to 65,536 characters (§2.5); 60,000 leaves room for the marker.
  static constexpr const char* default_mapping = R"({
    "contact": {
      "email": {"from": "visitor.email", "transform": ["trim", "lower"], "required": true},
      "firstname": {"from": "visitor.first_name"},
      "lastname": {"from": "visitor.last_name"},
      "company": {"from": "visitor.company"},
      "phone": {"from": "visitor.phone"}
    },
    "activity": {
      "hs_timestamp": {"from": ["visit.checked_out_at", "timestamp"], "required": true},
      "hs_note_body": {"template": "<p><strong>Visit</strong> at {visit.site}</p><p>Host: {visit.host}<br>Purpose: {visit.purpose}<br>Checked in: {visit.checked_in_at}<br>Checked out: {visit.checked_out_at}<br>Documents signed: {visit.documents_signed}</p>",
                       "required": true, "max_length": 60000}
    }
  })";

  // The burst budget of the lowest tier: 100 requests per 10 s (§2.6).
  static constexpr crmh::Pacing pacing{100, 10000, 10};

  HubSpotAdapter(crmh::Host host, std::string_view config_json)
      : host_(host), settings_(read_settings(config_json)) {}

  crmh_status deliver(crmh_call* call, const crmh_delivery& delivery, crmh::Result& out) {
    std::string_view type = crmh::view(delivery.event_type);
    bool checked_out = type == "visitor.checked_out";
    if (!checked_out && type != "visitor.pre_registered" && type != "visitor.checked_in") {
      // An event this CRM has no use for: nothing to write, nothing to retry.
      return Outcome{CRMH_OK, "ignored: hubspot writes nothing for " + std::string(type), 0, 0}
          .finish(out);
    }
    CrmCall crm = connect(call);
    json records = crmkit::mapped_records(delivery);
    Contact contact;
    Outcome o = upsert_contact(crm, crmkit::section(records, "contact"), contact);
    if (o.status != CRMH_OK || !checked_out) return o.finish(out);
    return log_visit(crm, crmkit::section(records, "activity"), contact,
                     crmh::view(delivery.delivery_id))
        .finish(out);
  }

  crmh_status lookup_contact(crmh_call* call, const crmh_lookup& lookup, crmh::JsonSink sink,
                             crmh::Result& out) {
    CrmCall crm = connect(call);
    // A GET by idProperty=email is consistent at once, unlike search (§2.3).
    Answer a =
        crm.send("GET", "/crm/v3/objects/contacts/" + crmkit::url_encode(crmh::view(lookup.email)) +
                            "?idProperty=email&properties=email,firstname,lastname,company,phone");
    if (a.answered() && a.status == 404) {  // OBJECT_NOT_FOUND (§2.3)
      sink.write(R"({"found":false})");
      return Outcome{CRMH_OK, "", 404, 0}.finish(out);
    }
    Outcome o = classify(a, "contact lookup");
    if (o.status != CRMH_OK) return o.finish(out);
    json body = a.body_json();
    if (field_text(body, "id").empty()) return unreadable(a, "contact lookup").finish(out);
    sink.write(json{{"found", true}, {"contact", normalise(body)}}.dump());
    return o.finish(out);
  }

  crmh_status test_connection(crmh_call* call, crmh::Result& out) {
    CrmCall crm = connect(call);
    return classify(crm.send("GET", "/crm/v3/objects/contacts?limit=1"), "connection test")
        .finish(out);
  }

 private:
  // The contact a delivery wrote: its id, and whether this very attempt created it.
  struct Contact {
    std::string id;
    bool created = false;
  };

  CrmCall connect(crmh_call* call) const {
    return CrmCall(host_, call, {{"Accept", "application/json"}});
  }

  // batch/upsert by email (§2.4): one request, create or update, never a duplicate.
  Outcome upsert_contact(const CrmCall& crm, const json& record, Contact& contact) const {
    std::string email = field_text(record, "email");
    if (email.empty())
      return {CRMH_PERMANENT,
              "contact: email is empty; the mapping must fill it (it is the match key)", 0, 0};
    json input = {
        {"idProperty", "email"}, {"id", email}, {"properties", properties_of(record, "email")}};
    Answer a = crm.send("POST", "/crm/v3/objects/contacts/batch/upsert",
                        json{{"inputs", json::array({input})}}.dump());
    if (refuses_email_id_property(a)) return create_or_update(crm, record, contact);
    Outcome o = classify(a, "contact upsert");
    if (o.status != CRMH_OK) return o;
    json body = a.body_json();
    // 207: the one input failed; the reason is in errors[] (§2.4).
    if (body.is_object() && body.contains("errors") && body["errors"].is_array() &&
        !body["errors"].empty()) {
      std::string detail = error_detail(body["errors"][0]);
      return {CRMH_PERMANENT, "contact upsert: " + (detail.empty() ? "rejected" : detail), a.status,
              0};
    }
    if (!body.is_object() || !body.contains("results") || !body["results"].is_array() ||
        body["results"].empty() || field_text(body["results"][0], "id").empty())
      return unreadable(a, "contact upsert");
    const json& result = body["results"][0];
    contact.id = field_text(result, "id");
    contact.created =
        result.contains("new") && result["new"].is_boolean() && result["new"].get<bool>();
    return o;
  }

  // A portal where email may not be an idProperty: create, and on 409 CONFLICT update the
  // contact the conflict names (§2.4). A retry after a create that committed lands on the 409.
  Outcome create_or_update(const CrmCall& crm, const json& record, Contact& contact) const {
    Answer a = crm.send(
        "POST", "/crm/v3/objects/contacts",
        json{{"properties", properties_of(record)}, {"associations", json::array()}}.dump());
    if (a.answered() && a.status == 409) {
      contact.id = existing_id(a);
      if (contact.id.empty()) return classify(a, "contact create");
      return classify(crm.send("PATCH", "/crm/v3/objects/contacts/" + contact.id,
                               json{{"properties", properties_of(record, "email")}}.dump()),
                      "contact update");
    }
    Outcome o = classify(a, "contact create");
    if (o.status != CRMH_OK) return o;
    contact.id = field_text(a.body_json(), "id");
    if (contact.id.empty()) return unreadable(a, "contact create");
    contact.created = true;
    return o;
  }

  // The visit as a note on the contact, once per delivery: look before write (§2.5, §2.3).
  Outcome log_visit(const CrmCall& crm, const json& activity, const Contact& contact,
                    std::string_view delivery_id) const {
    const std::string marker = marker_text(delivery_id);
    // A contact this attempt created has no notes yet, so there is nothing to look for.
    if (!contact.created) {
      std::vector<std::string> note_ids;
      Outcome o = list_notes(crm, contact.id, note_ids);
      if (o.status != CRMH_OK) return o;
      bool found = false;
      o = find_marker(crm, note_ids, marker, found);
      if (o.status != CRMH_OK || found) return o;
    }
    json props = properties_of(activity);
    props["hs_note_body"] = field_text(props, "hs_note_body") + "<p>" + marker + "</p>";
    json association = {
        {"to", {{"id", contact.id}}},
        {"types", json::array({json{{"associationCategory", "HUBSPOT_DEFINED"},
                                    {"associationTypeId", 202}}})}};  // note -> contact (§2.5)
    return classify(
        crm.send("POST", "/crm/v3/objects/notes",
                 json{{"properties", props}, {"associations", json::array({association})}}.dump()),
        "note create");
  }

  // The ids of the contact's notes, from the contact read with its associations; when they run
  // past one page, all of them from the v4 associations list instead.
  Outcome list_notes(const CrmCall& crm, const std::string& contact_id,
                     std::vector<std::string>& ids) const {
    const std::string path = "/crm/v3/objects/contacts/" + contact_id;
    Answer a = crm.send("GET", path + "?associations=notes");
    Outcome o = classify(a, "contact notes");
    if (o.status != CRMH_OK) return o;
    json body = a.body_json();
    if (!body.is_object()) return unreadable(a, "contact notes");
    json notes = body.contains("associations") && body["associations"].is_object()
                     ? crmkit::section(body["associations"], "notes")
                     : json::object();
    std::set<std::string> unique;  // a note may be associated under several types
    if (notes.contains("results") && notes["results"].is_array())
      for (const json& r : notes["results"])
        if (std::string id = field_text(r, "id"); !id.empty()) unique.insert(id);
    if (!next_after(notes).empty()) {
      unique.clear();
      o = list_all_notes(crm, contact_id, unique);
      if (o.status != CRMH_OK) return o;
    }
    ids.assign(unique.begin(), unique.end());
    std::sort(ids.begin(), ids.end(), newer_first);
    return o;
  }

  // GET /crm/v4/objects/contacts/{id}/associations/notes, page by page (§2.5).
  Outcome list_all_notes(const CrmCall& crm, const std::string& contact_id,
                         std::set<std::string>& ids) const {
    std::string after;
    for (int page = 0; page < kMaxAssociationPages; ++page) {
      Answer a = crm.send("GET", "/crm/v4/objects/contacts/" + contact_id +
                                     "/associations/notes?limit=500" +
                                     (after.empty() ? "" : "&after=" + crmkit::url_encode(after)));
      Outcome o = classify(a, "contact notes");
      if (o.status != CRMH_OK) return o;
      json body = a.body_json();
      if (!body.is_object() || !body.contains("results") || !body["results"].is_array())
        return unreadable(a, "contact notes");
      for (const json& r : body["results"])
        if (std::string id = field_text(r, "toObjectId"); !id.empty()) ids.insert(id);
      after = next_after(body);
      if (after.empty()) return o;
    }
    return {CRMH_PERMANENT,
            "contact notes: the contact has too many notes to check for this visit's note", 0, 0};
  }

  // Reads the notes' bodies, 100 at a time, until one holds `marker`.
  Outcome find_marker(const CrmCall& crm, const std::vector<std::string>& note_ids,
                      const std::string& marker, bool& found) const {
    Outcome o;
    for (size_t from = 0; from < note_ids.size() && !found; from += kBatchMax) {
      json inputs = json::array();
      for (size_t i = from; i < std::min(note_ids.size(), from + kBatchMax); ++i)
        inputs.push_back(json{{"id", note_ids[i]}});
      Answer a =
          crm.send("POST", "/crm/v3/objects/notes/batch/read",
                   json{{"inputs", inputs},
                        {"properties", json::array({"hs_note_body"})},
                        {"propertiesWithHistory", json::array()}}  // required by the spec (§4)
                       .dump());
      // 207: some notes went away since the listing; the others are still in results.
      o = classify(a, "note read");
      if (o.status != CRMH_OK) return o;
      json body = a.body_json();
      if (!body.is_object() || !body.contains("results") || !body["results"].is_array())
        return unreadable(a, "note read");
      for (const json& note : body["results"]) {
        json props = note.is_object() ? crmkit::section(note, "properties") : json::object();
        if (holds_marker(field_text(props, "hs_note_body"), marker)) found = true;
      }
    }
    return o;
  }

  // A contact in the host's look-up shape.
  json normalise(const json& object) const {
    json props = crmkit::section(object, "properties");
    auto field = [&](const char* key) -> json {
      std::string v = field_text(props, key);
      return v.empty() ? json(nullptr) : json(v);
    };
    std::string id = field_text(object, "id");
    json url =
        settings_.portal_id.empty()
            ? json(nullptr)
            : json("https://app.hubspot.com/contacts/" + settings_.portal_id + "/record/0-1/" + id);
    return {{"id", id},
            {"email", field("email")},
            {"first_name", field("firstname")},
            {"last_name", field("lastname")},
            {"company", field("company")},
            {"phone", field("phone")},
            {"crm", name},
            {"url", url}};
  }

  crmh::Host host_;
  Settings settings_;
};

CRMH_CPP_ADAPTER(HubSpotAdapter)
