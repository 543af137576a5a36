#include "ingress/event_validation.h"

#include <Poco/DateTime.h>
#include <Poco/JSON/Handler.h>
#include <Poco/JSON/Parser.h>

#include <string_view>
#include <vector>

namespace crmhost {
namespace {

// The body is read with Poco's streaming parser into a flat list of the fields the event can
// have, instead of a document tree: on the ingest path the tree (a Dynamic::Var and a map per
// object) cost more than everything else crmhost does with an event.
enum class Kind { kNull, kString, kNumber, kBool, kObject, kArray };

struct Field {
  std::string path;  // "event", "visitor.email", "visit.documents_signed[1]"
  Kind kind;
  std::string text;  // with kString
};

// Collects every value down to the elements of arrays inside the root's objects (depth 3);
// deeper values are parsed but not kept. A repeated key replaces the earlier value and
// everything under it, as it would in a parsed document.
class FieldCollector final : public Poco::JSON::Handler {
 public:
  static constexpr size_t kKeptDepth = 3;

  FieldCollector() {  // room for a usual event's fields without growing
    fields_.reserve(24);
    frames_.reserve(kKeptDepth + 1);
  }

  const std::vector<Field>& fields() const { return fields_; }
  bool root_is_object() const { return root_kind_ == Kind::kObject; }

  void reset() override {
    fields_.clear();
    frames_.clear();
    key_.clear();
  }
  void startObject() override { open(Kind::kObject); }
  void endObject() override { frames_.pop_back(); }
  void startArray() override { open(Kind::kArray); }
  void endArray() override { frames_.pop_back(); }
  void key(const std::string& k) override { key_ = k; }
  void null() override { add(Kind::kNull, {}); }
  void value(int) override { add(Kind::kNumber, {}); }
  void value(unsigned) override { add(Kind::kNumber, {}); }
  void value(Poco::Int64) override { add(Kind::kNumber, {}); }
  void value(Poco::UInt64) override { add(Kind::kNumber, {}); }
  void value(double) override { add(Kind::kNumber, {}); }
  void value(bool) override { add(Kind::kBool, {}); }
  void value(const std::string& v) override { add(Kind::kString, v); }

 private:
  struct Frame {
    std::string path;
    bool array = false;
    size_t next_index = 0;
  };

  // The path of the value now arriving inside the innermost open container.
  std::string next_path() {
    Frame& top = frames_.back();
    if (top.array) return top.path + "[" + std::to_string(top.next_index++) + "]";
    return top.path.empty() ? key_ : top.path + "." + key_;
  }

  void open(Kind kind) {
    if (frames_.empty()) {
      root_kind_ = kind;
      frames_.push_back({"", kind == Kind::kArray});
      return;
    }
    if (frames_.size() > kKeptDepth) {  // not kept: no path built (Poco bounds the depth at 128)
      frames_.push_back({"", kind == Kind::kArray});
      return;
    }
    std::string path = next_path();
    keep({path, kind, {}});
    frames_.push_back({std::move(path), kind == Kind::kArray});
  }

  void add(Kind kind, const std::string& text) {
    if (frames_.empty()) {
      root_kind_ = kind;
      return;
    }
    if (frames_.size() > kKeptDepth) return;
    keep({next_path(), kind, text});
  }

  void keep(Field field) {
    bool repeated = false;
    for (const auto& f : fields_) repeated = repeated || f.path == field.path;
    if (repeated) {
      std::erase_if(fields_, [&](const Field& f) {
        return f.path.starts_with(field.path) &&
               (f.path.size() == field.path.size() || f.path[field.path.size()] == '.' ||
                f.path[field.path.size()] == '[');
      });
    }
    fields_.push_back(std::move(field));
  }

  std::vector<Field> fields_;
  std::vector<Frame> frames_;
  std::string key_;
  Kind root_kind_ = Kind::kNull;
};

struct Invalid {
  Problem problem;
};

[[noreturn]] void missing(const std::string& field) {
  throw Invalid{{400, "missing_field", field + " is required", field}};
}
[[noreturn]] void bad(const std::string& field, const std::string& why) {
  throw Invalid{{400, "bad_field", field + " " + why, field}};
}

bool is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Reads `n` digits at s[*at], advancing; -1 if they are not all digits.
int digits(std::string_view s, size_t* at, size_t n) {
  if (*at + n > s.size()) return -1;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[*at + i];
    if (!is_digit(c)) return -1;
    v = v * 10 + (c - '0');
  }
  *at += n;
  return v;
}

bool expect(std::string_view s, size_t* at, char c) {
  if (*at >= s.size() || s[*at] != c) return false;
  ++*at;
  return true;
}

// RFC 3339 date-time: 2026-04-15T09:30:00Z, with optional fraction and a numeric offset.
bool rfc3339(std::string_view s) {
  size_t at = 0;
  int year = digits(s, &at, 4);
  if (year < 0 || !expect(s, &at, '-')) return false;
  int month = digits(s, &at, 2);
  if (month < 0 || !expect(s, &at, '-')) return false;
  int day = digits(s, &at, 2);
  if (day < 0 || !expect(s, &at, 'T')) return false;
  int hour = digits(s, &at, 2);
  if (hour < 0 || !expect(s, &at, ':')) return false;
  int minute = digits(s, &at, 2);
  if (minute < 0 || !expect(s, &at, ':')) return false;
  int second = digits(s, &at, 2);
  if (second < 0) return false;
  if (expect(s, &at, '.')) {
    size_t start = at;
    while (at < s.size() && is_digit(s[at])) ++at;
    if (at == start) return false;
  }
  if (!expect(s, &at, 'Z')) {
    if (at >= s.size() || (s[at] != '+' && s[at] != '-')) return false;
    ++at;
    int offset_hours = digits(s, &at, 2);
    if (offset_hours < 0 || offset_hours > 23 || !expect(s, &at, ':')) return false;
    int offset_minutes = digits(s, &at, 2);
    if (offset_minutes < 0 || offset_minutes > 59) return false;
  }
  return at == s.size() && year >= 1 && Poco::DateTime::isValid(year, month, day, hour, minute, second);
}


bool is_event_type(const std::string& type) {
  return type == "visitor.pre_registered" || type == "visitor.checked_in" ||
         type == "visitor.checked_out";
}

class EventFields {
 public:
  explicit EventFields(const std::vector<Field>& fields) : fields_(fields) {}

  const Field* find(const std::string& path) const {
    for (const auto& f : fields_)
      if (f.path == path) return &f;
    return nullptr;
  }
  bool present(const std::string& path) const {
    const Field* f = find(path);
    return f != nullptr && f->kind != Kind::kNull;
  }

  std::string string(const std::string& path, bool required, size_t max_len = 1024) const {
    const Field* f = find(path);
    if (f == nullptr || f->kind == Kind::kNull) {
      if (required) missing(path);
      return "";
    }
    if (f->kind != Kind::kString) bad(path, "must be a string");
    if (required && f->text.empty()) bad(path, "must not be empty");
    if (f->text.size() > max_len) bad(path, "is longer than " + std::to_string(max_len) + " characters");
    return f->text;
  }

  void timestamp(const std::string& path, bool required) const {
    std::string s = string(path, required, 64);
    if (s.empty() && !required) return;
    if (!rfc3339(s)) bad(path, "must be an RFC 3339 timestamp like 2026-04-15T09:30:00Z");
  }

  void object(const std::string& path) const {
    if (!present(path)) missing(path);
    if (find(path)->kind != Kind::kObject) bad(path, "must be an object");
  }

  void string_array(const std::string& path) const {
    if (!present(path)) return;
    if (find(path)->kind != Kind::kArray) bad(path, "must be an array of strings");
    const std::string prefix = path + "[";
    for (const auto& f : fields_)
      if (f.path.starts_with(prefix) && f.kind != Kind::kString) bad(f.path, "must be a string");
  }

 private:
  const std::vector<Field>& fields_;
};

VisitorEvent validate(const std::string& body) {
  Poco::SharedPtr<FieldCollector> collector = new FieldCollector;
  try {
    Poco::JSON::Parser parser(collector);
    parser.parse(body);
  } catch (const Poco::Exception& e) {
    throw Invalid{{400, "bad_json", "body is not valid JSON: " + e.message(), ""}};
  }
  if (!collector->root_is_object()) throw Invalid{{400, "bad_json", "body must be a JSON object", ""}};
  EventFields in(collector->fields());

  VisitorEvent event;
  event.type = in.string("event", true, 64);
  if (!is_event_type(event.type))
    bad("event", "must be one of visitor.pre_registered, visitor.checked_in, visitor.checked_out");
  in.timestamp("timestamp", true);
  event.id = in.string("id", false, 255);
  if (in.find("id") != nullptr && event.id.empty()) bad("id", "must not be empty");

  in.object("visitor");
  std::string email = in.string("visitor.email", true, 254);
  if (!plausible_email(email)) bad("visitor.email", "is not an email address");
  in.string("visitor.first_name", true);
  in.string("visitor.last_name", true);
  in.string("visitor.company", false);  // many visitors come on their own
  in.string("visitor.phone", false, 64);

  in.object("visit");
  in.string("visit.host", true);
  in.string("visit.site", true);
  in.string("visit.purpose", false, 4096);
  in.timestamp("visit.expected_arrival", false);
  in.timestamp("visit.checked_in_at", false);
  in.timestamp("visit.checked_out_at", false);
  in.string_array("visit.documents_signed");
  return event;
}

}  // namespace

// One '@', no whitespace, and a dot inside the domain (not at its ends).
bool plausible_email(std::string_view s) {
  if (s.empty() || s.size() > 254) return false;
  size_t at = s.find('@');
  if (at == 0 || at == std::string_view::npos || s.find('@', at + 1) != std::string_view::npos)
    return false;
  for (char c : s)
    if (is_space(c)) return false;
  std::string_view domain = s.substr(at + 1);
  if (domain.size() < 3) return false;
  return domain.substr(1, domain.size() - 2).find('.') != std::string_view::npos;
}

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
