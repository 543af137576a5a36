#include "config/config.h"

#include <yaml-cpp/yaml.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <set>
#include <sstream>

#include "common/ids.h"
#include "mapping/field_mapping.h"

namespace crmhost {
namespace {

const std::set<std::string> kEventTypes = {"visitor.pre_registered", "visitor.checked_in",
                                           "visitor.checked_out"};

// Thrown only inside this file and turned into an Error by load_config.
struct ConfigFault {
  std::string message;
  std::string key;  // the key's path, e.g. tenants[0].id or config.url
};

class Loader {
 public:
  Loader(std::string file, const SecretResolver& secrets)
      : file_(std::move(file)), secrets_(secrets) {}
  // For admin API documents: a secret field's value is the secret itself, never a reference
  // (a caller of the API does not get to read the daemon's environment or files).
  void take_secrets_literally() { literal_secrets_ = true; }

  [[noreturn]] void fail(const YAML::Node& node, const std::string& key,
                         const std::string& message) const {
    std::ostringstream s;
    s << file_;
    if (node.IsDefined() && node.Mark().line >= 0) s << ":" << node.Mark().line + 1;
    s << ": " << key << ": " << message;
    throw ConfigFault{s.str(), key};
  }

  std::string scalar(const YAML::Node& node, const std::string& key) const {
    if (!node.IsScalar()) fail(node, key, "expected a single value");
    return node.as<std::string>();
  }

  template <class T>
  T number(const YAML::Node& node, const std::string& key, T min, T max) const {
    T value{};
    try {
      value = node.as<T>();
    } catch (const YAML::Exception&) {
      fail(node, key, "expected a number");
    }
    if (value < min || value > max) fail(node, key, "out of range");
    return value;
  }

  int64_t duration(const YAML::Node& node, const std::string& key) const {
    auto ms = parse_duration_ms(scalar(node, key));
    if (!ms.ok()) fail(node, key, ms.error());
    return *ms;
  }

  bool boolean(const YAML::Node& node, const std::string& key) const {
    try {
      return node.as<bool>();
    } catch (const YAML::Exception&) {
      fail(node, key, "expected true or false");
    }
  }

  std::string secret(const YAML::Node& node, const std::string& key) const {
    auto value = secrets_.resolve(scalar(node, key));
    if (!value.ok()) fail(node, key, value.error());
    return *value;
  }

  // A secret reference that resolves, kept as the reference.
  std::string secret_ref(const YAML::Node& node, const std::string& key) const {
    std::string ref = scalar(node, key);
    if (literal_secrets_) {
      if (ref.empty()) fail(node, key, "must not be empty");
      return ref;
    }
    if (auto value = secrets_.resolve(ref); !value.ok()) fail(node, key, value.error());
    return ref;
  }

  std::string id(const YAML::Node& node, const std::string& key) const {
    std::string value = scalar(node, key);
    if (!is_valid_id(value)) fail(node, key, "\"" + value + "\" " + kIdRule);
    return value;
  }

  void only_keys(const YAML::Node& map, const std::string& where,
                 const std::set<std::string>& allowed) const {
    if (!map.IsMap()) fail(map, where, "expected a mapping");
    for (const auto& kv : map) {
      auto k = kv.first.as<std::string>();
      if (!allowed.count(k)) fail(kv.first, where.empty() ? k : where + "." + k, "unknown key");
    }
  }

  Config load(const YAML::Node& root) {
    Config c;
    c.file = file_;
    only_keys(root, "", {"listen", "admin_listen", "data_dir", "durability", "plugin_dir", "max_body",
                         "workers", "lease", "deliver_timeout", "overrun_margin",
                         "suspend_after_overruns", "park_delay", "retry", "admin_key",
                         "master_key", "public_url", "oauth_idle_refresh", "stall_after",
                         "log_failure_summary", "log_format", "tenants"});
    if (auto n = root["log_failure_summary"]) {
      c.log_failure_summary_ms = duration(n, "log_failure_summary");
      if (c.log_failure_summary_ms < 100 || c.log_failure_summary_ms > 86400000)
        fail(n, "log_failure_summary", "must be from 100ms to 1d");
    }
    if (auto n = root["stall_after"]) {
      c.stall_after_ms = duration(n, "stall_after");
      if (c.stall_after_ms < 1000) fail(n, "stall_after", "must be at least 1s");
    }
    if (auto n = root["oauth_idle_refresh"]) {
      c.oauth_idle_refresh_ms = duration(n, "oauth_idle_refresh");
      if (c.oauth_idle_refresh_ms < 1000) fail(n, "oauth_idle_refresh", "must be at least 1s");
    }
    if (auto n = root["public_url"]) {
      c.public_url = scalar(n, "public_url");
      if (c.public_url.rfind("http://", 0) != 0 && c.public_url.rfind("https://", 0) != 0)
        fail(n, "public_url", "must start with http:// or https://");
    }
    if (auto n = root["master_key"]) {
      c.master_key_ref = scalar(n, "master_key");
      if (c.master_key_ref.rfind("file:", 0) != 0 && c.master_key_ref.rfind("env:", 0) != 0)
        fail(n, "master_key", "must be file:/path or env:NAME (never the key itself)");
    }
    if (root["listen"]) parse_listen(root["listen"], c);
    if (auto n = root["admin_listen"]) {
      auto address = parse_listen_address(scalar(n, "admin_listen"));
      if (!address.ok()) fail(n, "admin_listen", address.error());
      c.admin_listen_host = address->host;
      c.admin_listen_port = address->port;
      c.has_admin_listen = true;
    }
    if (root["data_dir"]) c.data_dir = scalar(root["data_dir"], "data_dir");
    if (auto n = root["log_format"]) {
      c.log_format = scalar(n, "log_format");
      if (c.log_format != "text" && c.log_format != "json")
        fail(n, "log_format", "must be text or json");
    }
    if (auto n = root["durability"]) {
      c.durability = scalar(n, "durability");
      if (c.durability != "full" && c.durability != "normal") fail(n, "durability", "must be full or normal");
    }
    if (root["plugin_dir"]) c.plugin_dir = scalar(root["plugin_dir"], "plugin_dir");
    if (auto n = root["max_body"]) {
      auto size = parse_size(scalar(n, "max_body"));
      if (!size.ok() || *size == 0) fail(n, "max_body", size.ok() ? "must be > 0" : size.error());
      c.max_body = *size;
    }
    if (root["workers"]) c.workers = number<int>(root["workers"], "workers", 1, 1024);
    if (root["lease"]) c.lease_ms = duration(root["lease"], "lease");
    if (root["deliver_timeout"])
      c.deliver_timeout_ms = duration(root["deliver_timeout"], "deliver_timeout");
    if (root["overrun_margin"]) c.overrun_margin_ms = duration(root["overrun_margin"], "overrun_margin");
    if (auto n = root["park_delay"]) {
      c.park_delay_ms = duration(n, "park_delay");
      // Each look at a parked delivery is a commit: a floor keeps an idle host idle.
      if (c.park_delay_ms < 100 || c.park_delay_ms > 3600000)
        fail(n, "park_delay", "must be from 100ms to 1h");
    }
    if (root["suspend_after_overruns"])
      c.suspend_after_overruns = number<int>(root["suspend_after_overruns"], "suspend_after_overruns", 1, 1000);
    if (auto r = root["retry"]) parse_retry(r, c.retry);
    if (root["admin_key"]) {
      c.admin_key_ref = scalar(root["admin_key"], "admin_key");
      c.admin_key_hash = sha256_hex(secret(root["admin_key"], "admin_key"));
    }
    if (auto t = root["tenants"]) {
      if (!t.IsSequence()) fail(t, "tenants", "expected a list");
      std::set<std::string> ids;
      for (size_t i = 0; i < t.size(); ++i) {
        auto tenant = parse_tenant(t[i], "tenants[" + std::to_string(i) + "]");
        if (!ids.insert(tenant.id).second) fail(t[i]["id"], "tenants[].id", "duplicate " + tenant.id);
        tenant.declared_in = file_;
        for (auto& in : tenant.integrations) in.declared_in = file_;
        c.tenants.push_back(std::move(tenant));
      }
    }
    return c;
  }

  void parse_listen(const YAML::Node& n, Config& c) const {
    auto address = parse_listen_address(scalar(n, "listen"));
    if (!address.ok()) fail(n, "listen", address.error());
    c.listen_host = address->host;
    c.listen_port = address->port;
  }

  void parse_retry(const YAML::Node& r, RetrySettings& s) const {
    only_keys(r, "retry", {"base", "cap", "attempts", "jitter"});
    if (r["base"]) s.base_ms = duration(r["base"], "retry.base");
    if (r["cap"]) s.cap_ms = duration(r["cap"], "retry.cap");
    if (r["attempts"]) s.attempts = number<int>(r["attempts"], "retry.attempts", 1, 1000);
    if (r["jitter"]) s.jitter = number<double>(r["jitter"], "retry.jitter", 0.0, 0.9);
    if (s.base_ms <= 0) fail(r["base"], "retry.base", "must be > 0");
    if (s.cap_ms < s.base_ms) fail(r["cap"], "retry.cap", "must be >= retry.base");
  }

  TenantConfig parse_tenant(const YAML::Node& n, const std::string& where) const {
    only_keys(n, where, {"id", "api_keys", "ingest_rate", "integrations"});
    TenantConfig t;
    if (!n["id"]) fail(n, where + ".id", "missing");
    t.id = id(n["id"], where + ".id");
    auto keys = n["api_keys"];
    if (!keys || !keys.IsSequence() || keys.size() == 0)
      fail(keys ? keys : n, where + ".api_keys", "expected a non-empty list");
    for (const auto& k : keys) t.api_key_hashes.push_back(sha256_hex(secret(k, where + ".api_keys")));
    if (n["ingest_rate"])
      t.ingest_rate = number<double>(n["ingest_rate"], where + ".ingest_rate", 0.001, 1e9);
    if (auto list = n["integrations"]) {
      if (!list.IsSequence()) fail(list, where + ".integrations", "expected a list");
      std::set<std::string> ids;
      for (size_t i = 0; i < list.size(); ++i) {
        auto in = parse_integration(list[i], where + ".integrations[" + std::to_string(i) + "]");
        in.tenant_id = t.id;
        if (!ids.insert(in.id).second) fail(list[i]["id"], where + ".integrations[].id", "duplicate " + in.id);
        t.integrations.push_back(std::move(in));
      }
    }
    return t;
  }

  // "where.key", or "key" at the top of a document.
  static std::string sub(const std::string& where, const std::string& key) {
    return where.empty() ? key : where + "." + key;
  }

  IntegrationConfig parse_integration(const YAML::Node& n, const std::string& where) const {
    only_keys(n, where, {"id", "adapter", "enabled", "events", "config", "mapping"});
    IntegrationConfig in;
    if (!n["id"]) fail(n, sub(where, "id"), "missing");
    in.id = id(n["id"], sub(where, "id"));
    if (!n["adapter"]) fail(n, sub(where, "adapter"), "missing");
    in.adapter = scalar(n["adapter"], sub(where, "adapter"));
    if (n["enabled"]) in.enabled = boolean(n["enabled"], sub(where, "enabled"));
    if (auto ev = n["events"]) {
      if (!ev.IsSequence()) fail(ev, sub(where, "events"), "expected a list");
      for (const auto& e : ev) {
        auto type = scalar(e, sub(where, "events"));
        if (!kEventTypes.count(type)) fail(e, sub(where, "events"), "unknown event type " + type);
        in.events.push_back(type);
      }
    }
    Poco::JSON::Object adapter_config;
    if (auto cfg = n["config"]) {
      if (!cfg.IsMap()) fail(cfg, sub(where, "config"), "expected a mapping");
      for (const auto& kv : cfg) {
        auto key = kv.first.as<std::string>();
        auto path = sub(where, "config." + key);
        if (kv.second.IsNull()) {
          adapter_config.set(key, Poco::Dynamic::Var());  // a secret that is unset reads null
        } else if (is_secret_key(key)) {
          in.secret_refs[key] = secret_ref(kv.second, path);
          adapter_config.set(key, "(held by host)");
        } else if (kv.second.IsScalar()) {
          adapter_config.set(key, scalar_to_json(kv.second));
        } else {
          fail(kv.second, path, "nested values are not supported yet");
        }
      }
    }
    std::ostringstream json;
    adapter_config.stringify(json);
    in.config_json = json.str();
    if (auto m = n["mapping"]; m && !m.IsNull()) in.mapping_json = parse_mapping(m, sub(where, "mapping"));
    return in;
  }

  // `mapping`: checked for form here, field by field so that an error names its line; whether
  // the adapter maps such records is checked when the integration is created.
  std::string parse_mapping(const YAML::Node& m, const std::string& where) const {
    if (!m.IsMap()) fail(m, where, "expected a mapping of records (contact, activity, ...)");
    Poco::JSON::Object all;
    for (const auto& record : m) {
      auto name = record.first.as<std::string>();
      if (!record.second.IsMap()) fail(record.second, where + "." + name, "expected a mapping of CRM fields");
      Poco::JSON::Object fields;
      for (const auto& field : record.second) {
        Poco::JSON::Object one, wrapper;
        one.set(field.first.as<std::string>(), to_json(field.second));
        wrapper.set(name, one);
        std::ostringstream text;
        wrapper.stringify(text);
        auto checked = FieldMapping::parse(text.str(), where, /*overrides=*/true);
        if (!checked.ok()) {
          const std::string& e = checked.error();
          size_t colon = e.find(": ");
          fail(field.second, e.substr(0, colon), colon == std::string::npos ? e : e.substr(colon + 2));
        }
        fields.set(field.first.as<std::string>(), to_json(field.second));
      }
      all.set(name, fields);
    }
    std::ostringstream text;
    all.stringify(text);
    return text.str();
  }

  // A YAML value as JSON, nested maps and lists included.
  static Poco::Dynamic::Var to_json(const YAML::Node& n) {
    if (!n || n.IsNull()) return Poco::Dynamic::Var();
    if (n.IsScalar()) return scalar_to_json(n);
    if (n.IsSequence()) {
      Poco::JSON::Array::Ptr a = new Poco::JSON::Array;
      for (const auto& item : n) a->add(to_json(item));
      return a;
    }
    Poco::JSON::Object::Ptr o = new Poco::JSON::Object;
    for (const auto& kv : n) o->set(kv.first.as<std::string>(), to_json(kv.second));
    return o;
  }

  // YAML scalars keep their type in the adapter's JSON: numbers and booleans stay unquoted.
  static Poco::Dynamic::Var scalar_to_json(const YAML::Node& n) {
    const std::string& text = n.Scalar();
    if (n.Tag() != "!") {  // a quoted string has tag "!"; plain scalars may be typed
      if (text == "true" || text == "false") return text == "true";
      try {
        size_t used = 0;
        long long i = std::stoll(text, &used);
        if (used == text.size()) return static_cast<Poco::Int64>(i);
        double d = std::stod(text, &used);
        if (used == text.size()) return d;
      } catch (const std::exception&) {
      }
    }
    return text;
  }

  std::string file_;
  const SecretResolver& secrets_;
  bool literal_secrets_ = false;
};

int64_t unit_ms(const std::string& unit) {
  if (unit == "ms") return 1;
  if (unit == "s" || unit.empty()) return 1000;
  if (unit == "m") return 60000;
  if (unit == "h") return 3600000;
  return -1;
}

}  // namespace

std::map<std::string, std::string, std::less<>> IntegrationConfig::settings() const {
  std::map<std::string, std::string, std::less<>> out;
  try {
    Poco::JSON::Parser parser;
    auto o = parser.parse(config_json).extract<Poco::JSON::Object::Ptr>();
    for (const auto& [key, value] : *o)
      if (!value.isEmpty()) out[key] = value.toString();
  } catch (const Poco::Exception&) {
  }
  return out;
}

std::string IntegrationConfig::setting(const std::string& key) const {
  auto all = settings();
  auto it = all.find(key);
  return it == all.end() ? "" : it->second;
}

bool IntegrationConfig::subscribes_to(const std::string& event_type) const {
  return events.empty() || std::find(events.begin(), events.end(), event_type) != events.end();
}

Expected<ListenAddress> parse_listen_address(const std::string& text) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return Error{"expected HOST:PORT"};
  std::string digits = text.substr(colon + 1);
  bool numeric = !digits.empty() && digits.size() <= 5 &&
                 digits.find_first_not_of("0123456789") == std::string::npos;
  if (!numeric || std::stoi(digits) > 65535) return Error{"bad port in " + text};
  return ListenAddress{text.substr(0, colon), static_cast<uint16_t>(std::stoi(digits))};
}

bool is_secret_key(const std::string& key) {
  auto ends_with = [&](const std::string& suffix) {
    return key.size() >= suffix.size() && key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return key == "secret" || key == "password" || key == "token" || key == "api_key" ||
         ends_with("_secret") || ends_with("_token") || ends_with("_password");
}

Expected<int64_t> parse_duration_ms(const std::string& text) {
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    return Error{"expected a duration like 250ms, 5s, 5m"};
  }
  int64_t unit = unit_ms(text.substr(used));
  if (unit < 0 || value < 0) return Error{"expected a duration like 250ms, 5s, 5m"};
  return static_cast<int64_t>(value * static_cast<double>(unit));
}

Expected<size_t> parse_size(const std::string& text) {
  size_t used = 0;
  unsigned long long value = 0;
  try {
    value = std::stoull(text, &used);
  } catch (const std::exception&) {
    return Error{"expected a size like 262144, 256KiB, 1MiB"};
  }
  std::string unit = text.substr(used);
  if (unit == "" || unit == "B") return static_cast<size_t>(value);
  if (unit == "KiB") return static_cast<size_t>(value * 1024);
  if (unit == "MiB") return static_cast<size_t>(value * 1024 * 1024);
  return Error{"expected a size like 262144, 256KiB, 1MiB"};
}

std::string sealed_secret_ref(const IntegrationKey& integration, const std::string& field) {
  return "sealed:" + integration.tenant_id + "/" + integration.integration_id + "/" + field;
}

Expected<IntegrationDocument> parse_integration_document(const std::string& json,
                                                         const std::string& tenant_id,
                                                         std::string* field) {
  YAML::Node root;
  try {
    root = YAML::Load(json);  // JSON is YAML
  } catch (const YAML::Exception& e) {
    *field = "";
    return Error{"body is not valid JSON: " + e.msg, ErrorKind::kBadInput};
  }
  try {
    Loader loader("body", reference_secrets());
    loader.take_secrets_literally();
    IntegrationDocument doc;
    doc.integration = loader.parse_integration(root, "");
    doc.integration.tenant_id = tenant_id;
    for (auto& [key, value] : doc.integration.secret_refs) {
      doc.secret_values[key] = value;
      value = sealed_secret_ref(doc.integration.key(), key);
    }
    return doc;
  } catch (const ConfigFault& f) {
    *field = f.key;
    return Error{f.message, ErrorKind::kBadInput};
  } catch (const YAML::Exception& e) {
    *field = "";
    return Error{"body: " + e.msg, ErrorKind::kBadInput};
  }
}

Expected<Config> load_config(const std::string& path, const SecretResolver& secrets) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return Error{path + ": cannot read the file"};
  } catch (const YAML::Exception& e) {
    return Error{path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg};
  }
  try {
    return Loader(path, secrets).load(root);
  } catch (const ConfigFault& f) {
    return Error{f.message};
  } catch (const YAML::Exception& e) {
    return Error{path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg};
  }
}

}  // namespace crmhost
