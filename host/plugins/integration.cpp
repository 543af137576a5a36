#include "plugins/integration.h"

#include <cstddef>
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

Expected<std::shared_ptr<Integration>> Integration::create(
    IntegrationConfig config, std::shared_ptr<const AdapterLibrary> library, const Clock& clock,
    const SecretResolver& secrets, CredentialSource* credentials) {
  std::shared_ptr<Integration> in(new Integration(std::move(config), std::move(library), clock));
  in->credentials_ = credentials;
  if (auto prepared = in->prepare_secrets(secrets); !prepared.ok()) return prepared.failure();
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
