#include "mapping/field_mapping.h"

#include <Poco/DateTimeParser.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Timestamp.h>

#include <set>
#include <sstream>

namespace crmhost {

enum class Transform { kTrim, kLower, kUpper, kDate, kEpochMs };

struct FieldMapping::Rule {
  enum class Source { kFrom, kTemplate, kValue };
  struct Piece {
    bool is_path = false;
    std::string text;  // literal text, or the path
  };
  Source source = Source::kFrom;
  std::vector<std::string> paths;  // kFrom: the first non-empty wins
  std::vector<Piece> pieces;       // kTemplate
  Poco::Dynamic::Var value;        // kValue
  std::vector<Transform> transforms;
  std::string fallback;  // `default`; empty = none
  bool required = false;
  size_t max_length = 0;        // 0 = no limit
};

namespace {

using Rule = FieldMapping::Rule;

Error bad(const std::string& where, const std::string& why) {
  return Error{where + ": " + why, ErrorKind::kBadInput};
}

bool valid_path(const std::string& p) {
  if (p.empty() || p.front() == '.' || p.back() == '.' || p.find("..") != std::string::npos)
    return false;
  for (char c : p)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-'))
      return false;
  return true;
}

Expected<std::vector<Rule::Piece>> parse_template(const std::string& t, const std::string& where) {
  std::vector<Rule::Piece> pieces;
  std::string literal;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '}') return bad(where, "a '}' without its '{' in \"" + t + "\"");
    if (t[i] != '{') {
      literal.push_back(t[i]);
      continue;
    }
    size_t end = t.find('}', i);
    if (end == std::string::npos) return bad(where, "an unclosed '{' in \"" + t + "\"");
    std::string path = t.substr(i + 1, end - i - 1);
    if (!valid_path(path)) return bad(where, "\"" + path + "\" is not a field path like visitor.email");
    if (!literal.empty()) pieces.push_back({false, std::move(literal)});
    literal.clear();
    pieces.push_back({true, path});
    i = end;
  }
  if (!literal.empty()) pieces.push_back({false, std::move(literal)});
  return pieces;
}

Expected<Transform> parse_transform(const std::string& name, const std::string& where) {
  static const std::map<std::string, Transform> kNames = {{"trim", Transform::kTrim},
                                                          {"lower", Transform::kLower},
                                                          {"upper", Transform::kUpper},
                                                          {"date", Transform::kDate},
                                                          {"epoch_ms", Transform::kEpochMs}};
  auto it = kNames.find(name);
  if (it == kNames.end())
    return bad(where, "unknown transform \"" + name + "\" (known: trim, lower, upper, date, epoch_ms)");
  return it->second;
}

Expected<std::shared_ptr<const Rule>> parse_rule(const Poco::Dynamic::Var& v,
                                                 const std::string& where) {
  auto rule = std::make_shared<Rule>();
  if (v.isString()) {
    auto pieces = parse_template(v.extract<std::string>(), where);
    if (!pieces.ok()) return pieces.failure();
    rule->source = Rule::Source::kTemplate;
    rule->pieces = std::move(*pieces);
    return std::shared_ptr<const Rule>(rule);
  }
  if (v.type() != typeid(Poco::JSON::Object::Ptr))
    return bad(where, "expected a template string or an object with from, template or value");
  auto o = v.extract<Poco::JSON::Object::Ptr>();
  static const std::set<std::string> kKeys = {"from",     "template", "value",     "transform",
                                              "default",  "required", "max_length"};
  int sources = 0;
  for (const auto& [key, value] : *o) {
    const std::string at = where + "." + key;
    if (!kKeys.count(key))
      return bad(at, "unknown key (expected from, template, value, transform, default, required, max_length)");
    if (key == "from") {
      ++sources;
      rule->source = Rule::Source::kFrom;
      std::vector<Poco::Dynamic::Var> list;
      if (value.isString()) {
        list.push_back(value);
      } else if (value.type() == typeid(Poco::JSON::Array::Ptr)) {
        for (const auto& p : *value.extract<Poco::JSON::Array::Ptr>()) list.push_back(p);
      }
      if (list.empty()) return bad(at, "expected a field path or a non-empty list of them");
      for (const auto& p : list) {
        std::string path = p.isString() ? p.extract<std::string>() : "";
        if (!valid_path(path)) return bad(at, "\"" + p.toString() + "\" is not a field path like visitor.email");
        rule->paths.push_back(path);
      }
    } else if (key == "template") {
      ++sources;
      if (!value.isString()) return bad(at, "expected a string");
      auto pieces = parse_template(value.extract<std::string>(), at);
      if (!pieces.ok()) return pieces.failure();
      rule->source = Rule::Source::kTemplate;
      rule->pieces = std::move(*pieces);
    } else if (key == "value") {
      ++sources;
      if (!(value.isString() || value.isNumeric() || value.isBoolean()))
        return bad(at, "expected a string, a number or a boolean");
      rule->source = Rule::Source::kValue;
      rule->value = value;
    } else if (key == "transform") {
      std::vector<std::string> names;
      if (value.isString()) {
        names.push_back(value.extract<std::string>());
      } else if (value.type() == typeid(Poco::JSON::Array::Ptr)) {
        for (const auto& t : *value.extract<Poco::JSON::Array::Ptr>())
          names.push_back(t.isString() ? t.extract<std::string>() : t.toString());
      } else {
        return bad(at, "expected a transform name or a list of them");
      }
      for (const auto& n : names) {
        auto t = parse_transform(n, at);
        if (!t.ok()) return t.failure();
        rule->transforms.push_back(*t);
      }
    } else if (key == "default") {
      if (!(value.isString() || value.isNumeric())) return bad(at, "expected a string");
      rule->fallback = value.toString();
    } else if (key == "required") {
      if (!value.isBoolean()) return bad(at, "expected true or false");
      rule->required = value.extract<bool>();
    } else if (key == "max_length") {
      if (!value.isInteger() || value.convert<int64_t>() < 1 || value.convert<int64_t>() > 1000000)
        return bad(at, "expected a whole number from 1 to 1000000");
      rule->max_length = value.convert<size_t>();
    }
  }
  if (sources != 1) return bad(where, "needs exactly one of from, template or value");
  return std::shared_ptr<const Rule>(rule);
}

// The event's value at a dot path as text: arrays joined with ", ", null and absent as "".
std::string lookup(const Poco::JSON::Object::Ptr& event, const std::string& path) {
  Poco::Dynamic::Var at = event;
  size_t start = 0;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (at.type() != typeid(Poco::JSON::Object::Ptr)) return "";
    auto o = at.extract<Poco::JSON::Object::Ptr>();
    if (!o->has(key)) return "";
    at = o->get(key);
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  if (at.isEmpty()) return "";
  if (at.type() == typeid(Poco::JSON::Array::Ptr)) {
    std::string joined;
    for (const auto& item : *at.extract<Poco::JSON::Array::Ptr>()) {
      if (item.isEmpty()) continue;
      joined += (joined.empty() ? "" : ", ") + item.toString();
    }
    return joined;
  }
  if (at.type() == typeid(Poco::JSON::Object::Ptr)) return "";
  return at.toString();
}

std::string transformed(std::string s, Transform t) {
  switch (t) {
    case Transform::kTrim: {
      size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
      return b == std::string::npos ? "" : s.substr(b, e - b + 1);
    }
    case Transform::kLower:
      for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return s;
    case Transform::kUpper:
      for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      return s;
    case Transform::kDate:  // the calendar date as written (the visit's own local date)
      return s.size() >= 10 && s[4] == '-' && s[7] == '-' ? s.substr(0, 10) : "";
    case Transform::kEpochMs: {
      int tz = 0;
      Poco::DateTime parsed;
      if (!Poco::DateTimeParser::tryParse(Poco::DateTimeFormat::ISO8601_FRAC_FORMAT, s, parsed, tz))
        return "";
      parsed.makeUTC(tz);
      return std::to_string(parsed.timestamp().epochMicroseconds() / 1000);
    }
  }
  return s;
}

// Cuts `s` to at most `n` bytes, never inside a UTF-8 sequence.
std::string truncated(std::string s, size_t n) {
  if (n == 0 || s.size() <= n) return s;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

Poco::Dynamic::Var evaluate(const Rule& rule, const Poco::JSON::Object::Ptr& event) {
  if (rule.source == Rule::Source::kValue) return rule.value;
  std::string text;
  if (rule.source == Rule::Source::kFrom) {
    for (const auto& p : rule.paths)
      if (!(text = lookup(event, p)).empty()) break;
  } else {
    // A template none of whose fields has a value is empty (its default applies), not its
    // literal text alone ("Visit at " without a site).
    bool any_value = false, any_path = false;
    for (const auto& piece : rule.pieces) {
      if (!piece.is_path) {
        text += piece.text;
        continue;
      }
      any_path = true;
      std::string value = lookup(event, piece.text);
      any_value = any_value || !value.empty();
      text += value;
    }
    if (any_path && !any_value) text.clear();
  }
  for (Transform t : rule.transforms) text = transformed(std::move(text), t);
  if (text.empty()) text = rule.fallback;
  return truncated(std::move(text), rule.max_length);
}

}  // namespace

Expected<FieldMapping> FieldMapping::parse(const std::string& json, const std::string& where,
                                           bool overrides) {
  Poco::JSON::Object::Ptr root;
  try {
    auto parsed = Poco::JSON::Parser().parse(json);
    if (parsed.type() == typeid(Poco::JSON::Object::Ptr)) root = parsed.extract<Poco::JSON::Object::Ptr>();
  } catch (const Poco::Exception& e) {
    return bad(where, "not valid JSON: " + e.message());
  }
  if (!root) return bad(where, "expected an object of records (contact, activity, ...)");
  FieldMapping m;
  for (const auto& [record, fields] : *root) {
    const std::string at = where + "." + record;
    if (fields.type() != typeid(Poco::JSON::Object::Ptr))
      return bad(at, "expected an object of CRM fields");
    auto& out = m.records_[record];
    for (const auto& [field, rule] : *fields.extract<Poco::JSON::Object::Ptr>()) {
      if (field.empty()) return bad(at, "a field name is empty");
      if (rule.isEmpty()) {
        if (!overrides) return bad(at + "." + field, "null drops a default; the default itself needs a rule");
        out[field] = nullptr;
        continue;
      }
      auto parsed = parse_rule(rule, at + "." + field);
      if (!parsed.ok()) return parsed.failure();
      out[field] = std::move(*parsed);
    }
  }
  return m;
}

Expected<FieldMapping> FieldMapping::merged(const FieldMapping& overrides,
                                            const std::string& where) const {
  FieldMapping m = *this;
  for (const auto& [record, fields] : overrides.records_) {
    auto target = m.records_.find(record);
    if (target == m.records_.end()) {
      std::string known;
      for (const auto& [name, f] : records_) known += (known.empty() ? "" : ", ") + name;
      return bad(where + "." + record, "the adapter maps no such record (it maps " +
                                           (known.empty() ? "none" : known) + ")");
    }
    for (const auto& [field, rule] : fields) {
      auto existing = target->second.find(field);
      bool was_required = existing != target->second.end() && existing->second->required;
      if (!rule) {
        if (was_required)
          return bad(where + "." + record + "." + field, "the CRM requires this field; it cannot be dropped");
        target->second.erase(field);
        continue;
      }
      if (was_required && !rule->required) {  // a field the CRM requires stays required
        auto kept = std::make_shared<Rule>(*rule);
        kept->required = true;
        target->second[field] = std::move(kept);
      } else {
        target->second[field] = rule;
      }
    }
  }
  return m;
}

Expected<std::string> FieldMapping::apply(const std::string& event_json,
                                          const std::function<bool(const std::string&)>& wanted) const {
  Poco::JSON::Object::Ptr event;
  try {
    event = Poco::JSON::Parser().parse(event_json).extract<Poco::JSON::Object::Ptr>();
  } catch (const Poco::Exception& e) {
    return Error{"the event is not a JSON object: " + e.message(), ErrorKind::kBadInput};
  }
  Poco::JSON::Object out;
  for (const auto& [record, fields] : records_) {
    if (wanted && !wanted(record)) continue;
    Poco::JSON::Object mapped;
    for (const auto& [field, rule] : fields) {
      Poco::Dynamic::Var v = evaluate(*rule, event);
      if (v.isString() && v.extract<std::string>().empty()) {
        if (rule->required)
          return Error{"mapping: " + record + "." + field +
                           " is required by the CRM and the mapping left it empty",
                       ErrorKind::kBadInput};
        continue;
      }
      mapped.set(field, v);
    }
    out.set(record, mapped);
  }
  std::ostringstream text;
  out.stringify(text);
  return text.str();
}

}  // namespace crmhost
