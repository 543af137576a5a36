#include "ingress/event_validation.h"

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeParser.h>
#include <Poco/JSON/Parser.h>

#include <regex>
#include <set>

namespace crmhost {
namespace {

using Poco::JSON::Object;

const std::set<std::string> kEventTypes = {"visitor.pre_registered", "visitor.checked_in",
                                           "visitor.checked_out"};

struct Invalid {
  Problem problem;
};

[[noreturn]] void missing(const std::string& field) {
  throw Invalid{{400, "missing_field", field + " is required", field}};
}
[[noreturn]] void bad(const std::string& field, const std::string& why) {
  throw Invalid{{400, "bad_field", field + " " + why, field}};
}

std::string string_field(const Object::Ptr& obj, const std::string& key, const std::string& path,
                         bool required, size_t max_len = 1024) {
  if (!obj->has(key) || obj->isNull(key)) {
    if (required) missing(path);
    return "";
  }
  auto v = obj->get(key);
  if (!v.isString()) bad(path, "must be a string");
  std::string s = v.convert<std::string>();
  if (required && s.empty()) bad(path, "must not be empty");
  if (s.size() > max_len) bad(path, "is longer than " + std::to_string(max_len) + " characters");
  return s;
}

void timestamp_field(const Object::Ptr& obj, const std::string& key, const std::string& path,
                     bool required) {
  std::string s = string_field(obj, key, path, required, 64);
  if (s.empty() && !required) return;
  static const std::regex shape(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$)");
  Poco::DateTime dt;
  int tz = 0;
  if (!std::regex_match(s, shape) ||
      !(Poco::DateTimeParser::tryParse(Poco::DateTimeFormat::ISO8601_FRAC_FORMAT, s, dt, tz) ||
        Poco::DateTimeParser::tryParse(Poco::DateTimeFormat::ISO8601_FORMAT, s, dt, tz)))
    bad(path, "must be an RFC 3339 timestamp like 2026-04-15T09:30:00Z");
}

Object::Ptr object_field(const Object::Ptr& obj, const std::string& key) {
  if (!obj->has(key) || obj->isNull(key)) missing(key);
  auto child = obj->getObject(key);
  if (!child) bad(key, "must be an object");
  return child;
}

bool plausible_email(const std::string& s) {
  static const std::regex shape(R"(^[^@\s]+@[^@\s]+\.[^@\s]+$)");
  return s.size() <= 254 && std::regex_match(s, shape);
}

VisitorEvent validate(const std::string& body) {
  Poco::Dynamic::Var parsed;
  try {
    Poco::JSON::Parser parser;
    parsed = parser.parse(body);
  } catch (const Poco::Exception& e) {
    throw Invalid{{400, "bad_json", "body is not valid JSON: " + e.message(), ""}};
  }
  if (parsed.type() != typeid(Object::Ptr))
    throw Invalid{{400, "bad_json", "body must be a JSON object", ""}};
  auto root = parsed.extract<Object::Ptr>();

  VisitorEvent event;
  event.type = string_field(root, "event", "event", true, 64);
  if (!kEventTypes.count(event.type))
    bad("event", "must be one of visitor.pre_registered, visitor.checked_in, visitor.checked_out");
  timestamp_field(root, "timestamp", "timestamp", true);
  event.id = string_field(root, "id", "id", false, 255);
  if (root->has("id") && event.id.empty()) bad("id", "must not be empty");

  auto visitor = object_field(root, "visitor");
  std::string email = string_field(visitor, "email", "visitor.email", true, 254);
  if (!plausible_email(email)) bad("visitor.email", "is not an email address");
  string_field(visitor, "first_name", "visitor.first_name", true);
  string_field(visitor, "last_name", "visitor.last_name", true);
  string_field(visitor, "company", "visitor.company", true);
  string_field(visitor, "phone", "visitor.phone", false, 64);

  auto visit = object_field(root, "visit");
  string_field(visit, "host", "visit.host", true);
  string_field(visit, "site", "visit.site", true);
  string_field(visit, "purpose", "visit.purpose", false, 4096);
  timestamp_field(visit, "expected_arrival", "visit.expected_arrival", false);
  timestamp_field(visit, "checked_in_at", "visit.checked_in_at", false);
  timestamp_field(visit, "checked_out_at", "visit.checked_out_at", false);
  if (visit->has("documents_signed") && !visit->isNull("documents_signed")) {
    auto docs = visit->getArray("documents_signed");
    if (!docs) bad("visit.documents_signed", "must be an array of strings");
    for (size_t i = 0; i < docs->size(); ++i)
      if (!docs->get(static_cast<unsigned>(i)).isString())
        bad("visit.documents_signed[" + std::to_string(i) + "]", "must be a string");
  }
  return event;
}

}  // namespace

Expected<VisitorEvent> validate_event(const std::string& body, Problem* problem) {
  try {
    return validate(body);
  } catch (const Invalid& invalid) {
    *problem = invalid.problem;
    return Error{invalid.problem.message};
  } catch (const Poco::Exception& e) {
    *problem = {400, "bad_field", e.displayText(), ""};
    return Error{problem->message};
  }
}

}  // namespace crmhost
