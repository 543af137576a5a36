// A configured integration bound to a live adapter instance: the host's side of one
// crmh_adapter.create. Destroying it calls the adapter's destroy; the shared_ptr to its library
// keeps the image mapped until then.
// Thread-safe: calls are serialized on call_mu_ unless the adapter declares
// CRMH_FLAG_INSTANCE_THREADSAFE.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <crmhost/adapter.h>

#include "common/clock.h"
#include "common/expected.h"
#include "config/config.h"
#include "mapping/field_mapping.h"
#include "plugins/adapter_library.h"
#include "plugins/credentials.h"
#include "plugins/pacer.h"
#include "secrets/hmac.h"
#include "secrets/secrets.h"

namespace crmhost {

class Integration {
 public:
  // Resolves the config's secret references through `secrets` (the values are kept only as
  // prepared HMAC keys), then calls the adapter's create. kBadInput naming the key when a
  // reference does not resolve or the adapter refuses the config.
  // `credentials` (may be null) serves requests that ask for the integration's credential.
  // The field mapping is the adapter's default with the config's `mapping` over it, and the pacing
  // the adapter's limits with the config's `pacing_*` over them; either one unusable is kBadInput
  // naming the key. `pacing` (may be null: a pacer of its own) keeps pacers across generations.
  static Expected<std::shared_ptr<Integration>> create(
      IntegrationConfig config, std::shared_ptr<const AdapterLibrary> library, const Clock& clock,
      const SecretResolver& secrets, CredentialSource* credentials = nullptr,
      PacingBook* pacing = nullptr);
  ~Integration();
  Integration(const Integration&) = delete;
  Integration& operator=(const Integration&) = delete;

  crmh_status deliver(crmh_call* call, const crmh_delivery& delivery, crmh_result* out);
  // The adapter's lookup_contact; CRMH_UNSUPPORTED when it has none.
  crmh_status lookup_contact(crmh_call* call, const crmh_lookup& lookup, crmh_json_sink sink,
                             crmh_result* out);
  // The adapter's test_connection; CRMH_UNSUPPORTED when it has none.
  crmh_status test_connection(crmh_call* call, crmh_result* out);

  const IntegrationConfig& config() const { return config_; }
  // config().setting(key), read once at create: the broker asks on every credentialed call.
  const std::string& setting(const std::string& key) const;
  const AdapterLibrary& library() const { return *library_; }
  const Clock& clock() const { return clock_; }
  // Null when the host attaches no credential for this integration.
  CredentialSource* credentials() const { return credentials_; }
  // The adapter's OAuth provider (ABI 1.1), or null.
  const crmh_oauth_provider* oauth_provider() const;
  // The provider's default API base template (ABI 1.2), or null.
  const char* default_api_base() const;
  // The HMAC key a secret stands for in a CRMH_KEY_* format, prepared once at create; nullptr
  // when there is no such secret or it is not in that format. Only host services call it.
  const PreparedHmacKey* hmac_key(std::string_view secret_key, uint32_t key_format) const;
  const std::string& log_name() const { return log_name_; }
  // The mapped records of one event for crmh_delivery.record_json ("" when the adapter maps
  // nothing); kBadInput naming a required field the mapping left empty. The "activity" record
  // (the visit logged on the contact) is mapped only for visitor.checked_out.
  Expected<std::string> map_event(const std::string& event_type, const std::string& event_json) const;
  // The client-side limiter of this integration's requests; never null after create.
  Pacer* pacer() const { return pacer_.get(); }

 private:
  Integration(IntegrationConfig config, std::shared_ptr<const AdapterLibrary> library,
              const Clock& clock);
  Status prepare_secrets(const SecretResolver& secrets);
  Status prepare_mapping();
  Expected<PacingLimits> pacing_limits() const;
  IntegrationConfig config_;
  std::shared_ptr<const AdapterLibrary> library_;
  const Clock& clock_;
  CredentialSource* credentials_ = nullptr;
  std::string log_name_;
  std::map<std::string, std::string, std::less<>> settings_;  // config_json's values as text
  // secret key -> its prepared HMAC key per CRMH_KEY_* format (index = format; null where the
  // secret does not decode in it). Immutable after construction, so read without a lock.
  static constexpr uint32_t kKeyFormats = CRMH_KEY_WHSEC_BASE64 + 1;
  std::map<std::string, std::array<std::unique_ptr<const PreparedHmacKey>, kKeyFormats>,
           std::less<>>
      hmac_keys_;
  FieldMapping mapping_;           // immutable after create
  std::shared_ptr<Pacer> pacer_;  // shared with the PacingBook, when there is one
  bool threadsafe_;
  std::mutex call_mu_;         // serializes calls into instance_ when !threadsafe_
  void* instance_ = nullptr;   // adapter-owned; non-null once create succeeded
};

}  // namespace crmhost
