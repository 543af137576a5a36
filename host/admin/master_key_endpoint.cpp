// POST /v1/master-key/rotate (admin key): `crmhost rotate-key` against a running daemon. The
// daemon re-seals every stored secret under the new key, which seals from then on.
#include "admin/admin_routes.h"

namespace crmhost {
namespace {

void rotate_master_key(Exchange& ex, AdminServices& s) {
  Problem problem;
  auto body = ex.json_body(4096, &problem);
  if (!body.ok()) return ex.send_problem(problem);
  auto doc = parse_object(*body);
  if (!doc) return ex.send_problem({400, "bad_json", "body must be {\"new_key\": \"file:/path\"}", ""});
  const std::string ref = doc->optValue<std::string>("new_key", "");
  if (ref.empty()) return ex.send_problem({400, "missing_field", "new_key is required", "new_key"});
  auto key = load_master_key(ref);
  if (!key.ok()) return ex.send_problem({400, "bad_field", key.error(), "new_key"});
  const std::string old_id = s.vault.current_key_id(), new_id = key->id;
  AuditEntry audit{s.clock.wall_ms(), actor_of(ex), "master_key.rotate", "", "master_key",
                   old_id + " -> " + new_id, "ok"};
  if (auto rotated = s.vault.rotate(std::move(*key), audit); !rotated.ok())
    return ex.send_problem(problem_for(rotated.failure()));
  Poco::JSON::Object answer;
  answer.set("key_id", new_id);
  answer.set("previous_key_id", old_id);
  ex.send_json(200, answer);
}

}  // namespace

void add_master_key_routes(Router& r, AdminServices& s) {
  r.add("POST", "/v1/master-key/rotate", Access::kAdmin,
        [&s](Exchange& ex) { rotate_master_key(ex, s); });
}

}  // namespace crmhost
