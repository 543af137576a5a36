#include "plugins/contact_lookup.h"

#include <Poco/JSON/Parser.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <sstream>
#include <thread>

#include "common/outcome.h"
#include "plugins/credentialed_call.h"
#include "plugins/http_client.h"

namespace crmhost {
namespace {

struct Written {
  std::string json;
};

void write_json(void* ctx, crmh_str json) {
  static_cast<Written*>(ctx)->json.append(json.ptr ? json.ptr : "", json.len);
}

// One call of the adapter (with one refresh and a second call on AUTH_EXPIRED).
ContactLookup run(const std::shared_ptr<Integration>& in, const std::string& email,
                  const Clock& clock, int64_t deadline_ms) {
  ContactLookup answer;
  HttpClient http(clock);
  crmh_lookup lookup{};
  lookup.struct_size = sizeof lookup;
  lookup.email = {email.data(), email.size()};
  lookup.tenant_id = {in->config().tenant_id.data(), in->config().tenant_id.size()};
  lookup.integration_id = {in->config().id.data(), in->config().id.size()};
  lookup.deadline_ms = deadline_ms;
  crmh_result result{};
  Written written;
  auto called = call_with_credential(*in, http, deadline_ms, [&](crmh_call* call) {
    result = crmh_result{};
    result.struct_size = sizeof result;
    written.json.clear();
    return in->lookup_contact(call, lookup, {&written, write_json}, &result);
  });
  result.message[sizeof result.message - 1] = '\0';
  const crmh_status status = called.status;
  if (!called.reauthorization.empty()) {
    answer.skipped = "reauthorization required";
    return answer;
  }
  if (called.credential_unavailable) {
    answer.skipped = "credential unavailable";
    return answer;
  }
  if (status != CRMH_OK) {
    answer.skipped = std::string(outcome_name(outcome_of(status))) +
                     (result.http_status ? " (HTTP " + std::to_string(result.http_status) + ")" : "");
    if (status == CRMH_UNSUPPORTED) answer.skipped = "the adapter offers no look-up";
    return answer;
  }
  try {
    auto o = Poco::JSON::Parser().parse(written.json).extract<Poco::JSON::Object::Ptr>();
    answer.found = o->optValue<bool>("found", false);
    if (answer.found) {
      auto contact = o->getObject("contact");
      if (!contact) {
        answer.found = false;
        answer.skipped = "the adapter answered found without a contact";
        return answer;
      }
      std::ostringstream text;
      contact->stringify(text);
      answer.contact_json = text.str();
    }
  } catch (const Poco::Exception&) {
    answer.skipped = "the adapter's answer is not JSON";
  }
  return answer;
}

}  // namespace

namespace {
// The look-up threads still running: the shutdown waits for them (drain_contact_lookups).
std::mutex running_mu;
std::condition_variable running_done;
int running = 0;  // guarded by running_mu
}  // namespace

bool drain_contact_lookups(int64_t max_wait_ms) {
  std::unique_lock lock(running_mu);
  return running_done.wait_for(lock, std::chrono::milliseconds(max_wait_ms),
                               [] { return running == 0; });
}

ContactLookup lookup_contact(std::shared_ptr<Integration> integration, const std::string& email,
                             const Clock& clock, int64_t budget_ms) {
  const int64_t deadline = clock.monotonic_ms() + budget_ms;
  auto done = std::make_shared<std::promise<ContactLookup>>();
  auto answer = done->get_future();
  // The thread owns what it uses; it may outlive this call when the adapter overruns.
  {
    std::lock_guard lock(running_mu);
    ++running;
  }
  std::thread([done, integration = std::move(integration), email, &clock, deadline]() mutable {
    done->set_value(run(integration, email, clock, deadline));
    integration.reset();  // the adapter instance goes before the shutdown may go on
    done.reset();
    std::lock_guard lock(running_mu);
    if (--running == 0) running_done.notify_all();
  }).detach();
  if (answer.wait_for(std::chrono::milliseconds(budget_ms)) != std::future_status::ready) {
    ContactLookup late;
    late.skipped = "timeout";
    return late;
  }
  return answer.get();
}

}  // namespace crmhost
