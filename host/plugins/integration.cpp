#include "plugins/integration.h"

#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "plugins/host_services.h"

namespace crmhost {

Integration::Integration(IntegrationConfig config, std::shared_ptr<const AdapterLibrary> library,
                         const Clock& clock)
    : config_(std::move(config)),
      library_(std::move(library)),
      clock_(clock),
      log_name_(config_.key().log_name()),
      settings_(config_.settings()),
      threadsafe_(library_->descriptor().flags & CRMH_FLAG_INSTANCE_THREADSAFE) {}

const std::string& Integration::setting(const std::string& key) const {
  static const std::string kNone;
  auto it = settings_.find(key);
  return it == settings_.end() ? kNone : it->second;
}

Status Integration::prepare_secrets(const SecretResolver& secrets) {
  for (const auto& [name, ref] : config_.secret_refs) {
    auto value = secrets.resolve(ref);
    if (!value.ok())
      return Error{log_name_ + ": config." + name + ": " + value.error(), ErrorKind::kBadInput};
    auto& keys = hmac_keys_[name];
    for (uint32_t format = 0; format < kKeyFormats; ++format) {
      auto key = decode_secret_key(*value, format);
      if (!key.ok()) continue;
      auto prepared = PreparedHmacKey::prepare(*key);
      if (prepared.ok()) keys[format] = std::move(*prepared);
    }
  }
  return ok_status();
}

Status Integration::prepare_mapping() {
  const char* defaults = library_->descriptor().default_mapping;
  const std::string where = log_name_ + ": mapping";
  if (defaults == nullptr) {
    if (!config_.mapping_json.empty())
      return Error{where + ": adapter " + config_.adapter + " maps no records", ErrorKind::kBadInput};
    return ok_status();
  }
  auto base = FieldMapping::parse(defaults, "adapter " + config_.adapter + " default_mapping");
  if (!base.ok()) return base.failure();
  if (config_.mapping_json.empty()) {
    mapping_ = std::move(*base);
    return ok_status();
  }
  auto overrides = FieldMapping::parse(config_.mapping_json, where, /*overrides=*/true);
  if (!overrides.ok()) return overrides.failure();
  auto merged = base->merged(*overrides, where);
  if (!merged.ok()) return merged.failure();
  mapping_ = std::move(*merged);
  return ok_status();
}

Expected<PacingLimits> Integration::pacing_limits() const {
  const crmh_adapter& d = library_->descriptor();
  PacingLimits limits{d.pacing_requests, d.pacing_window_ms, d.pacing_concurrency};
  auto count = [&](const char* key, uint32_t* out) -> Status {
    const std::string& text = setting(key);
    if (text.empty()) return ok_status();
    char* end = nullptr;
    long long v = std::strtoll(text.c_str(), &end, 10);
    if (*end != '\0' || v < 0 || v > 1000000)
      return Error{log_name_ + ": config." + key + " must be a whole number from 0 to 1000000",
                   ErrorKind::kBadInput};
    *out = static_cast<uint32_t>(v);
    return ok_status();
  };
  if (auto s = count("pacing_requests", &limits.requests); !s.ok()) return s.failure();
  if (auto s = count("pacing_concurrency", &limits.concurrency); !s.ok()) return s.failure();
  if (const std::string& window = setting("pacing_window"); !window.empty()) {
    auto ms = parse_duration_ms(window);
    if (!ms.ok() || *ms < 1 || *ms > 86400000)
      return Error{log_name_ + ": config.pacing_window must be a duration from 1ms to 24h, like 10s",
                   ErrorKind::kBadInput};
    limits.window_ms = *ms;
  }
  if (limits.requests > 0 && limits.window_ms == 0)
    return Error{log_name_ + ": config.pacing_requests needs pacing_window", ErrorKind::kBadInput};
  return limits;
}

Expected<std::string> Integration::map_event(const std::string& event_type,
                                             const std::string& event_json) const {
  if (mapping_.empty()) return std::string();
  const bool visit_done = event_type == "visitor.checked_out";
  return mapping_.apply(event_json,
                        [&](const std::string& record) { return visit_done || record != "activity"; });
}

Expected<std::shared_ptr<Integration>> Integration::create(
    IntegrationConfig config, std::shared_ptr<const AdapterLibrary> library, const Clock& clock,
    const SecretResolver& secrets, CredentialSource* credentials, PacingBook* pacing) {
  std::shared_ptr<Integration> in(new Integration(std::move(config), std::move(library), clock));
  in->credentials_ = credentials;
  if (auto prepared = in->prepare_secrets(secrets); !prepared.ok()) return prepared.failure();
  if (auto mapped = in->prepare_mapping(); !mapped.ok()) return mapped.failure();
  auto limits = in->pacing_limits();
  if (!limits.ok()) return limits.failure();
  crmh_result result{};
  result.struct_size = sizeof result;
  const std::string& json = in->config_.config_json;
  void* instance = nullptr;
  crmh_status status = in->library_->descriptor().create(
      host_api(), in.get(), crmh_str{json.data(), json.size()}, &instance, &result);
  if (status != CRMH_OK || instance == nullptr) {
    result.message[sizeof result.message - 1] = '\0';
    return Error{"adapter " + in->config_.adapter + " refused the config of " + in->log_name_ +
                     ": " + (result.message[0] ? result.message : "create failed"),
                 ErrorKind::kBadInput};
  }
  in->instance_ = instance;
  // Only now: a refused config (or reload) leaves the serving generation's pacing as it was.
  in->pacer_ = pacing ? pacing->pacer(in->config_.key(), *limits) : std::make_shared<Pacer>(*limits);
  return in;
}

Integration::~Integration() {
  if (instance_) library_->descriptor().destroy(instance_);
}

crmh_status Integration::deliver(crmh_call* call, const crmh_delivery& delivery, crmh_result* out) {
  if (threadsafe_) return library_->descriptor().deliver(instance_, call, &delivery, out);
  std::lock_guard lock(call_mu_);
  return library_->descriptor().deliver(instance_, call, &delivery, out);
}

const crmh_oauth_provider* Integration::oauth_provider() const {
  const crmh_oauth_provider* p = library_->descriptor().oauth;
  if (p == nullptr ||
      p->struct_size < offsetof(crmh_oauth_provider, api_token_header) + sizeof p->api_token_header)
    return nullptr;  // a provider from a future header is larger, never smaller
  return p;
}

const char* Integration::default_api_base() const {
  const crmh_oauth_provider* p = oauth_provider();
  return p && CRMH_HAS_FIELD(crmh_oauth_provider, p, api_base) ? p->api_base : nullptr;
}

crmh_status Integration::lookup_contact(crmh_call* call, const crmh_lookup& lookup,
                                        crmh_json_sink sink, crmh_result* out) {
  auto find = library_->descriptor().lookup_contact;
  if (find == nullptr) return CRMH_UNSUPPORTED;
  if (threadsafe_) return find(instance_, call, &lookup, sink, out);
  std::lock_guard lock(call_mu_);
  return find(instance_, call, &lookup, sink, out);
}

crmh_status Integration::test_connection(crmh_call* call, crmh_result* out) {
  auto test = library_->descriptor().test_connection;
  if (test == nullptr) return CRMH_UNSUPPORTED;
  if (threadsafe_) return test(instance_, call, out);
  std::lock_guard lock(call_mu_);
  return test(instance_, call, out);
}

const PreparedHmacKey* Integration::hmac_key(std::string_view secret_key,
                                             uint32_t key_format) const {
  auto it = hmac_keys_.find(secret_key);
  if (it == hmac_keys_.end() || key_format >= kKeyFormats) return nullptr;
  return it->second[key_format].get();
}

}  // namespace crmhost
