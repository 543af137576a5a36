#include "cli/operator_commands.h"

#include <unistd.h>

#include <chrono>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Stringifier.h>

#include "cli/api_client.h"
#include "cli/table.h"

namespace crmhost {
namespace {

const char kUsage[] =
    "usage (with --url URL --key KEY, or CRMHOST_URL and CRMHOST_KEY; --json for the API's JSON):\n"
    "  crmhost status [--tenant T]\n"
    "  crmhost dlq list [--tenant T] [--integration I] [--event-type E] [--outcome O]\n"
    "                   [--http-status N] [--since RFC3339] [--until RFC3339] [--limit N] [--cursor C]\n"
    "  crmhost dlq show ID [--tenant T]\n"
    "  crmhost dlq replay ID [--tenant T]\n"
    "  crmhost dlq replay --all [--tenant T] [filters as for list]\n"
    "  crmhost dlq discard ID --reason TEXT [--tenant T]\n"
    "  crmhost integrations list [--tenant T]\n"
    "  crmhost audit [--tenant T] [--action A] [--since RFC3339] [--until RFC3339] [--limit N]\n"
    "                [--cursor C]\n"
    "  crmhost integrations test ID [--tenant T]   (--tenant with the admin key)\n";

// --name value options and positional words, as given.
struct Words {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;
  bool all = false;
  std::string get(const std::string& name) const {
    auto it = options.find(name);
    return it == options.end() ? "" : it->second;
  }
};

Words parse(const std::vector<std::string>& args) {
  Words w;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--all")
      w.all = true;
    else if (args[i].rfind("--", 0) == 0 && i + 1 < args.size()) {
      std::string name = args[i].substr(2);
      w.options[name] = args[++i];
    }
    else
      w.positional.push_back(args[i]);
  }
  return w;
}

// Says why on stderr; returns `code`.
int fail(const std::string& why, int code) {
  std::cerr << "crmhost: " << why << "\n";
  return code;
}

std::string text(const Poco::JSON::Object::Ptr& o, const std::string& key) {
  if (!o || !o->has(key) || o->get(key).isEmpty()) return "-";
  return o->get(key).convert<std::string>();
}

std::string json_text(const Poco::Dynamic::Var& v) {
  std::ostringstream out;
  Poco::JSON::Stringifier::stringify(v, out, 2);
  return out.str();
}

// Prints an answer's JSON (--json) or runs `table`; returns the exit code.
int answer(const ApiClient& api, const Expected<ApiAnswer>& a, int want,
           const std::function<void(const Poco::JSON::Object::Ptr&)>& table) {
  if (!a.ok()) {
    std::cerr << "crmhost: " << a.error() << "\n";
    return 2;
  }
  if (a->status != want || !a->json) {
    std::cerr << "crmhost: " << describe_problem(*a) << "\n";
    return 1;
  }
  if (api.json_output())
    std::cout << json_text(a->json) << "\n";
  else
    table(a->json);
  return 0;
}

// "?tenant=…&integration=…" from the options named in `keys` (option name -> query name).
std::string query(const Words& w, const std::vector<std::pair<std::string, std::string>>& keys) {
  std::string q;
  for (const auto& [option, name] : keys) {
    std::string v = w.get(option);
    if (v.empty()) continue;
    q += (q.empty() ? "?" : "&") + name + "=" + query_value(v);
  }
  return q;
}

const std::vector<std::pair<std::string, std::string>> kFilters = {
    {"integration", "integration"}, {"event-type", "event_type"}, {"outcome", "outcome"},
    {"http-status", "http_status"}, {"since", "since"},           {"until", "until"}};

int status(const ApiClient& api, const Words& w, bool integrations_only) {
  return answer(api, api.call("GET", "/v1/status" + query(w, {{"tenant", "tenant"}})), 200,
                [&](const Poco::JSON::Object::Ptr& o) {
                  Table t(integrations_only
                              ? std::vector<std::string>{"TENANT", "INTEGRATION", "ADAPTER", "ENABLED", "STATE"}
                              : std::vector<std::string>{"TENANT", "INTEGRATION", "STATE", "PENDING", "IN FLIGHT",
                                                         "DELIVERED", "DEAD", "LAST SUCCESS", "LAST ERROR",
                                                         "CREDENTIAL"});
                  auto list = o->getArray("integrations");
                  for (size_t i = 0; i < list->size(); ++i) {
                    auto in = list->getObject(static_cast<unsigned>(i));
                    if (integrations_only) {
                      t.add({text(in, "tenant"), text(in, "integration"), text(in, "adapter"),
                             text(in, "enabled"), text(in, "state")});
                      continue;
                    }
                    auto counts = in->getObject("counts");
                    auto error = in->getObject("last_error");
                    std::string last_error =
                        error ? text(error, "at") + " " + text(error, "outcome") + " " +
                                    text(error, "http_status")
                              : "-";
                    t.add({text(in, "tenant"), text(in, "integration"), text(in, "state"),
                           text(counts, "pending"), text(counts, "in_flight"),
                           text(counts, "delivered"), text(counts, "dead"),
                           text(in, "last_success_at"), last_error,
                           text(in->getObject("credential"), "state")});
                  }
                  t.print(std::cout);
                });
}

void print_letters(const Poco::JSON::Object::Ptr& o) {
  Table t({"ID", "INTEGRATION", "EVENT", "ATTEMPTS", "HTTP", "OUTCOME", "DIED", "ERROR"});
  auto list = o->getArray("dead_letters");
  for (size_t i = 0; i < list->size(); ++i) {
    auto d = list->getObject(static_cast<unsigned>(i));
    std::string error = text(d, "last_error");
    if (error.size() > 60) error = error.substr(0, 57) + "...";
    t.add({text(d, "id"), text(d, "integration"), text(d, "event_type"), text(d, "attempts"),
           text(d, "last_http_status"), text(d, "last_outcome"), text(d, "updated_at"), error});
  }
  t.print(std::cout);
  if (!o->get("next_cursor").isEmpty())
    std::cout << "more: --cursor " << o->getValue<std::string>("next_cursor") << "\n";
}

void print_letter(const Poco::JSON::Object::Ptr& o) {
  auto d = o->getObject("delivery");
  auto e = o->getObject("event");
  std::cout << "delivery     " << text(d, "id") << " (" << text(d, "status") << ")\n"
            << "integration  " << text(d, "integration") << "\n"
            << "event        " << text(e, "id") << " " << text(e, "type") << ", received "
            << text(e, "received_at") << "\n"
            << "dead reason  " << text(d, "dead_reason") << "\n";
  if (d->has("discard_reason")) std::cout << "discarded    " << text(d, "discard_reason") << "\n";
  std::cout << "\n";
  Table t({"ATTEMPT", "STARTED", "MS", "OUTCOME", "HTTP", "ERROR"});
  auto attempts = o->getArray("attempts");
  for (size_t i = 0; i < attempts->size(); ++i) {
    auto a = attempts->getObject(static_cast<unsigned>(i));
    t.add({text(a, "attempt"), text(a, "started_at"), text(a, "duration_ms"), text(a, "outcome"),
           text(a, "http_status"), text(a, "error")});
  }
  t.print(std::cout);
  if (attempts->size() > 0) {
    auto last = attempts->getObject(static_cast<unsigned>(attempts->size() - 1));
    std::cout << "\nthe CRM's last answer:\n" << text(last, "response") << "\n";
  }
  std::cout << "\npayload:\n" << json_text(e->get("payload")) << "\n";
}

// Polls the job until it ends, drawing a progress bar on stderr when it is a terminal.
int follow_job(const ApiClient& api, std::string id) {
  const bool tty = ::isatty(STDERR_FILENO);
  for (;;) {
    auto a = api.call("GET", "/v1/jobs/" + id);
    if (!a.ok() || a->status != 200 || !a->json) {
      std::cerr << "crmhost: " << (a.ok() ? describe_problem(*a) : a.error()) << "\n";
      return a.ok() ? 1 : 2;
    }
    auto j = a->json->getObject("job");
    const std::string state = j->getValue<std::string>("state");
    const int64_t total = j->getValue<int64_t>("total"), done = j->getValue<int64_t>("done");
    const bool finished = state != "queued" && state != "running";
    if (tty) {
      const int width = 30;
      int filled = total ? static_cast<int>(width * done / total) : (finished ? width : 0);
      std::cerr << "\r[" << std::string(filled, '#') << std::string(width - filled, ' ') << "] "
                << done << "/" << total << " " << state << "   " << std::flush;
      if (finished) std::cerr << "\n";
    }
    if (finished) {
      if (api.json_output())
        std::cout << json_text(a->json) << "\n";
      else
        std::cout << "job " << id << " " << state << ": " << text(j, "replayed") << " replayed, "
                  << text(j, "skipped") << " skipped (no longer dead), " << text(j, "failed")
                  << " failed of " << total << "\n";
      return state == "done" && j->getValue<int64_t>("failed") == 0 ? 0 : 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

int dlq(const ApiClient& api, const Words& w) {
  const std::string verb = w.positional.empty() ? "" : w.positional[0];
  const std::string id = w.positional.size() > 1 ? w.positional[1] : "";
  const std::string tenant = query(w, {{"tenant", "tenant"}});
  if (verb == "list") {
    auto keys = kFilters;
    keys.insert(keys.end(), {{"tenant", "tenant"}, {"limit", "limit"}, {"cursor", "cursor"}});
    return answer(api, api.call("GET", "/v1/dead-letters" + query(w, keys)), 200, print_letters);
  }
  if (verb == "show" && !id.empty())
    return answer(api, api.call("GET", "/v1/dead-letters/" + id + tenant), 200, print_letter);
  if (verb == "replay" && w.all) {
    Poco::JSON::Object filter;
    for (const auto& [option, name] : kFilters)
      if (!w.get(option).empty()) filter.set(name, w.get(option));
    std::ostringstream body;
    filter.stringify(body);
    auto a = api.call("POST", "/v1/dead-letters/replay" + tenant, body.str());
    if (!a.ok()) return fail(a.error(), 2);
    if (a->status != 202 || !a->json) return fail(describe_problem(*a), 1);
    return follow_job(api, a->json->getObject("job")->getValue<std::string>("id"));
  }
  if (verb == "replay" && !id.empty())
    return answer(api, api.call("POST", "/v1/dead-letters/" + id + "/replay" + tenant), 202,
                  [&](const Poco::JSON::Object::Ptr&) { std::cout << id << " replayed: pending\n"; });
  if (verb == "discard" && !id.empty()) {
    if (w.get("reason").empty()) return fail("discard needs --reason TEXT", 2);
    Poco::JSON::Object body;
    body.set("reason", w.get("reason"));
    std::ostringstream text_body;
    body.stringify(text_body);
    return answer(api, api.call("POST", "/v1/dead-letters/" + id + "/discard" + tenant, text_body.str()),
                  200, [&](const Poco::JSON::Object::Ptr&) { std::cout << id << " discarded\n"; });
  }
  std::cerr << kUsage;
  return 2;
}

int integrations(const ApiClient& api, const Words& w) {
  const std::string verb = w.positional.empty() ? "" : w.positional[0];
  if (verb == "list") return status(api, w, /*integrations_only=*/true);
  if (verb == "test" && w.positional.size() > 1) {
    const std::string& id = w.positional[1];
    const std::string path = w.get("tenant").empty()
                                 ? "/v1/integrations/" + id + "/test"
                                 : "/v1/tenants/" + w.get("tenant") + "/integrations/" + id + "/test";
    auto a = api.call("POST", path);
    int code = answer(api, a, 200, [&](const Poco::JSON::Object::Ptr& o) {
      std::cout << id << ": " << (o->getValue<bool>("ok") ? "ok" : "failed") << ", "
                << text(o, "outcome") << ", HTTP " << text(o, "http_status") << ", "
                << text(o, "elapsed_ms") << " ms: " << text(o, "message") << "\n";
    });
    if (code == 0 && a->json && !a->json->getValue<bool>("ok")) return 1;
    return code;
  }
  std::cerr << kUsage;
  return 2;
}

int audit(const ApiClient& api, const Words& w) {
  return answer(api,
                api.call("GET", "/v1/audit" + query(w, {{"tenant", "tenant"}, {"action", "action"},
                                                        {"since", "since"}, {"until", "until"},
                                                        {"limit", "limit"}, {"cursor", "cursor"}})),
                200, [&](const Poco::JSON::Object::Ptr& o) {
                  Table t({"AT", "ACTOR", "ACTION", "TENANT", "TARGET", "OUTCOME", "DETAIL"});
                  auto list = o->getArray("entries");
                  for (size_t i = 0; i < list->size(); ++i) {
                    auto e = list->getObject(static_cast<unsigned>(i));
                    t.add({text(e, "at"), text(e, "actor"), text(e, "action"), text(e, "tenant"),
                           text(e, "target"), text(e, "outcome"), text(e, "detail")});
                  }
                  t.print(std::cout);
                  if (!o->get("next_cursor").isEmpty())
                    std::cout << "more: --cursor " << o->getValue<std::string>("next_cursor") << "\n";
                });
}

}  // namespace

int run_operator_command(const std::string& command, std::vector<std::string> args) {
  auto api = ApiClient::from_args(args);
  if (!api.ok()) {
    std::cerr << "crmhost: " << api.error() << "\n" << kUsage;
    return 2;
  }
  Words w = parse(args);
  if (command == "status") return status(*api, w, false);
  if (command == "dlq") return dlq(*api, w);
  if (command == "integrations") return integrations(*api, w);
  if (command == "audit") return audit(*api, w);
  std::cerr << kUsage;
  return 2;
}

}  // namespace crmhost
