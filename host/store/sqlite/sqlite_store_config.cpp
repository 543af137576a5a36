// SqliteStore: configuration as data (tenants, API keys, integrations, sealed secrets, audit).
// Rare writes: each runs in a transaction of its own on the write connection, under write_mu_,
// together with its audit entry, so a change and its record commit or fail as one.
#include <sqlite3.h>

#include <algorithm>
#include <sstream>

#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/statement.h"

namespace crmhost {
namespace {

Error unavailable(sqlite3* db) { return Error{sqlite3_errmsg(db), ErrorKind::kUnavailable}; }

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
  return out;
}

// Inserts or replaces one sealed secret row, in the caller's transaction.
Status write_secret(StatementCache& sql, const IntegrationKey& key, const SealedSecret& secret,
                    int64_t now_ms) {
  auto& put = sql(
      "INSERT INTO secrets(tenant_id, integration_id, field, key_id, sealed, updated_at)"
      " VALUES(?1,?2,?3,?4,?5,?6) ON CONFLICT(tenant_id, integration_id, field) DO UPDATE"
      " SET key_id=?4, sealed=?5, updated_at=?6");
  put.bind(1, key.tenant_id).bind(2, key.integration_id).bind(3, secret.field);
  put.bind(4, secret.key_id).bind_blob(5, secret.sealed).bind(6, now_ms);
  return put.run();
}

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

}  // namespace

Status SqliteStore::write_audit(const AuditEntry& a) {
  auto& q = (*write_sql_)(
      "INSERT INTO audit(at, actor, action, tenant_id, target, detail, outcome)"
      " VALUES(?,?,?,?,?,?,?)");
  q.bind(1, a.at_ms).bind(2, a.actor).bind(3, a.action).bind(5, a.target).bind(6, a.detail);
  q.bind(7, a.outcome);
  if (a.tenant_id.empty())
    q.bind_null(4);
  else
    q.bind(4, a.tenant_id);
  return q.run();
}

Status SqliteStore::change(const AuditEntry& audit,
                           const std::function<Status(StatementCache&)>& body) {
  std::lock_guard lock(write_mu_);
  Status failed = ok_status();
  {
    Transaction txn(*write_sql_);
    if (!txn.begun().ok()) return txn.begun().failure();
    if (auto s = body(*write_sql_); !s.ok()) {
      failed = s;  // rolled back as `txn` goes; its audit entry follows on its own
    } else {
      if (auto w = write_audit(audit); !w.ok()) return w;
      return txn.commit();
    }
  }
  AuditEntry refused = audit;
  refused.outcome = "refused: " + failed.error();
  Transaction txn(*write_sql_);
  if (txn.begun().ok() && write_audit(refused).ok()) (void)txn.commit();
  return failed;
}

Status SqliteStore::record(const AuditEntry& audit) {
  return change(audit, [](StatementCache&) { return ok_status(); });
}

Expected<AuditPage> SqliteStore::audit_entries(const AuditQuery& query) {
  std::lock_guard lock(read_mu_);
  auto& q = (*read_sql_)(
      "SELECT id, at, actor, action, COALESCE(tenant_id, ''), target, detail, outcome FROM audit"
      " WHERE (?1 = '' OR tenant_id = ?1)"
      " AND (?2 = '' OR action = ?2 OR (substr(?2, -1) = '.' AND substr(action, 1, length(?2)) = ?2))"
      " AND (?3 = 0 OR at >= ?3) AND (?4 = 0 OR at < ?4) AND (?5 = 0 OR id < ?5)"
      " ORDER BY id DESC LIMIT ?6");
  q.bind(1, query.tenant_id).bind(2, query.action).bind(3, query.from_ms).bind(4, query.to_ms);
  q.bind(5, query.before_id).bind(6, static_cast<int64_t>(query.limit) + 1);
  AuditPage page;
  int rc;
  while ((rc = q.step()) == SQLITE_ROW)
    page.entries.push_back({q.integer(0), {q.integer(1), q.text(2), q.text(3), q.text(4), q.text(5),
                                           q.text(6), q.text(7)}});
  q.reset();
  if (rc != SQLITE_DONE) return unavailable(read_db_);
  if (page.entries.size() > static_cast<size_t>(query.limit)) {
    page.entries.pop_back();
    page.next_before_id = page.entries.back().id;
  }
  return page;
}

Expected<std::vector<StoredTenant>> SqliteStore::load_tenants() {
  std::lock_guard lock(read_mu_);
  std::vector<StoredTenant> out;
  auto& q = (*read_sql_)("SELECT id, ingest_rate, created_at FROM tenants ORDER BY id");
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) out.push_back({q.text(0), q.real(1), {}, q.integer(2)});
  q.reset();
  if (rc != SQLITE_DONE) return unavailable(read_db_);
  for (auto& t : out) {
    auto& k =
        (*read_sql_)("SELECT key_hash FROM tenant_api_keys WHERE tenant_id=? ORDER BY key_id");
    k.bind(1, t.id);
    while ((rc = k.step()) == SQLITE_ROW) t.api_key_hashes.push_back(k.text(0));
    k.reset();
    if (rc != SQLITE_DONE) return unavailable(read_db_);
  }
  return out;
}

Status SqliteStore::create_tenant(const StoredTenant& t, const AuditEntry& audit) {
  return change(audit, [&](StatementCache& sql) -> Status {
    auto& seen = sql("SELECT 1 FROM tenants WHERE id=?");
    seen.bind(1, t.id);
    int rc = seen.step();
    seen.reset();
    if (rc == SQLITE_ROW) return Error{"tenant " + t.id + " exists", ErrorKind::kConflict};
    if (rc != SQLITE_DONE) return unavailable(write_db_);
    auto& ins = sql("INSERT INTO tenants(id, ingest_rate, created_at) VALUES(?,?,?)");
    ins.bind(1, t.id).bind_real(2, t.ingest_rate).bind(3, t.created_at_ms);
    return ins.run();
  });
}

Status SqliteStore::delete_tenant(const std::string& tenant_id, const AuditEntry& audit) {
  return change(audit, [&](StatementCache& sql) -> Status {
    auto& busy = sql("SELECT COUNT(*) FROM integrations WHERE tenant_id=?");
    busy.bind(1, tenant_id);
    int64_t integrations = busy.step() == SQLITE_ROW ? busy.integer(0) : -1;
    busy.reset();
    if (integrations < 0) return unavailable(write_db_);
    if (integrations > 0)
      return Error{"tenant " + tenant_id + " still has " + std::to_string(integrations) +
                       " integration(s); delete them first",
                   ErrorKind::kConflict};
    auto& keys = sql("DELETE FROM tenant_api_keys WHERE tenant_id=?");
    keys.bind(1, tenant_id);
    if (auto s = keys.run(); !s.ok()) return s;
    auto& del = sql("DELETE FROM tenants WHERE id=?");
    del.bind(1, tenant_id);
    if (auto s = del.run(); !s.ok()) return s;
    if (sqlite3_changes(write_db_) == 0)
      return Error{"no tenant " + tenant_id + " was made through the API", ErrorKind::kNotFound};
    return ok_status();
  });
}

Expected<std::vector<ApiKeyRecord>> SqliteStore::api_keys(const std::string& tenant_id) {
  std::lock_guard lock(read_mu_);
  auto& q = (*read_sql_)(
      "SELECT key_id, key_hash, created_at FROM tenant_api_keys WHERE tenant_id=? ORDER BY key_id");
  q.bind(1, tenant_id);
  std::vector<ApiKeyRecord> out;
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) out.push_back({q.text(0), q.text(1), q.integer(2)});
  q.reset();
  if (rc != SQLITE_DONE) return unavailable(read_db_);
  return out;
}

Status SqliteStore::add_api_key(const std::string& tenant_id, const ApiKeyRecord& key,
                                const AuditEntry& audit) {
  return change(audit, [&](StatementCache& sql) -> Status {
    auto& ins =
        sql("INSERT INTO tenant_api_keys(key_id, tenant_id, key_hash, created_at)"
            " SELECT ?, id, ?, ? FROM tenants WHERE id=?");
    ins.bind(1, key.key_id).bind(2, key.key_hash).bind(3, key.created_at_ms).bind(4, tenant_id);
    if (auto s = ins.run(); !s.ok()) return s;
    if (sqlite3_changes(write_db_) == 0)
      return Error{"no tenant " + tenant_id + " was made through the API", ErrorKind::kNotFound};
    return ok_status();
  });
}

Status SqliteStore::remove_api_key(const std::string& tenant_id, const std::string& key_id,
                                   const AuditEntry& audit) {
  return change(audit, [&](StatementCache& sql) -> Status {
    auto& count = sql("SELECT COUNT(*), SUM(key_id = ?2) FROM tenant_api_keys WHERE tenant_id=?1");
    count.bind(1, tenant_id).bind(2, key_id);
    if (count.step() != SQLITE_ROW) return unavailable(write_db_);
    int64_t keys = count.integer(0), named = count.integer(1);
    count.reset();
    if (named == 0)
      return Error{"tenant " + tenant_id + " has no key " + key_id, ErrorKind::kNotFound};
    if (keys == 1)
      return Error{"key " + key_id + " is the tenant's last; add another first",
                   ErrorKind::kConflict};
    auto& del = sql("DELETE FROM tenant_api_keys WHERE tenant_id=? AND key_id=?");
    del.bind(1, tenant_id).bind(2, key_id);
    return del.run();
  });
}

Expected<std::vector<StoredIntegration>> SqliteStore::load_integrations() {
  std::lock_guard lock(read_mu_);
  auto& q = (*read_sql_)(
      "SELECT tenant_id, id, adapter, enabled, events, config, created_at, updated_at,"
      " (SELECT group_concat(field) FROM secrets s WHERE s.tenant_id = i.tenant_id AND"
      "  s.integration_id = i.id AND s.field NOT LIKE 'oauth:%'), mapping"
      " FROM integrations i ORDER BY tenant_id, id");
  std::vector<StoredIntegration> out;
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) {
    StoredIntegration in;
    in.key = {q.text(0), q.text(1)};
    in.adapter = q.text(2);
    in.enabled = q.integer(3) != 0;
    in.events = split(q.text(4));
    in.config_json = q.text(5);
    in.created_at_ms = q.integer(6);
    in.updated_at_ms = q.integer(7);
    in.secret_fields = split(q.text(8));
    in.mapping_json = q.text(9);
    out.push_back(std::move(in));
  }
  q.reset();
  if (rc != SQLITE_DONE) return unavailable(read_db_);
  return out;
}

Status SqliteStore::put_integration(const StoredIntegration& in,
                                    const std::vector<SealedSecret>& secrets, bool create,
                                    const AuditEntry& audit) {
  return change(audit, [&](StatementCache& sql) -> Status {
    auto& seen = sql("SELECT 1 FROM integrations WHERE tenant_id=? AND id=?");
    seen.bind(1, in.key.tenant_id).bind(2, in.key.integration_id);
    int rc = seen.step();
    seen.reset();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return unavailable(write_db_);
    const std::string name = in.key.log_name();
    if (create && rc == SQLITE_ROW)
      return Error{"integration " + name + " exists", ErrorKind::kConflict};
    if (!create && rc == SQLITE_DONE) return Error{"no integration " + name, ErrorKind::kNotFound};
    if (create) {  // nothing of an earlier integration of the same key survives: no tokens either
      auto& old = sql("DELETE FROM secrets WHERE tenant_id=? AND integration_id=?");
      old.bind(1, in.key.tenant_id).bind(2, in.key.integration_id);
      if (auto s = old.run(); !s.ok()) return s;
    }
    auto& up =
        sql("INSERT INTO integrations(tenant_id, id, adapter, enabled, events, config, created_at,"
            " updated_at, mapping) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9) ON CONFLICT(tenant_id, id)"
            " DO UPDATE SET adapter=?3, enabled=?4, events=?5, config=?6, updated_at=?8, mapping=?9");
    up.bind(1, in.key.tenant_id).bind(2, in.key.integration_id).bind(3, in.adapter);
    up.bind(4, static_cast<int64_t>(in.enabled)).bind(5, joined(in.events)).bind(6, in.config_json);
    up.bind(7, in.created_at_ms).bind(8, in.updated_at_ms).bind(9, in.mapping_json);
    if (auto s = up.run(); !s.ok()) return s;
    // Fields no longer secret (or gone) lose their sealed value.
    auto& fields = sql("SELECT field FROM secrets WHERE tenant_id=? AND integration_id=?");
    fields.bind(1, in.key.tenant_id).bind(2, in.key.integration_id);
    std::vector<std::string> stale;
    while ((rc = fields.step()) == SQLITE_ROW) {
      std::string f = fields.text(0);
      if (f.rfind("oauth:", 0) == 0) continue;  // the connection's tokens, not a config field
      if (std::find(in.secret_fields.begin(), in.secret_fields.end(), f) == in.secret_fields.end())
        stale.push_back(f);
    }
    fields.reset();
    if (rc != SQLITE_DONE) return unavailable(write_db_);
    for (const auto& f : stale) {
      auto& del = sql("DELETE FROM secrets WHERE tenant_id=? AND integration_id=? AND field=?");
      del.bind(1, in.key.tenant_id).bind(2, in.key.integration_id).bind(3, f);
      if (auto s = del.run(); !s.ok()) return s;
    }
    for (const auto& secret : secrets)
      if (auto s = write_secret(sql, in.key, secret, in.updated_at_ms); !s.ok()) return s;
    return ok_status();
  });
}

Status SqliteStore::put_secret(const IntegrationKey& key, const SealedSecret& secret,
                               int64_t now_ms, const AuditEntry* audit) {
  auto body = [&](StatementCache& sql) { return write_secret(sql, key, secret, now_ms); };
  if (audit) return change(*audit, body);
  std::lock_guard lock(write_mu_);
  Transaction txn(*write_sql_);
  if (!txn.begun().ok()) return txn.begun().failure();
  if (auto s = body(*write_sql_); !s.ok()) return s;
  return txn.commit();
}

Status SqliteStore::delete_integration(const IntegrationKey& key, const AuditEntry& audit) {
  return change(audit, [&](StatementCache& sql) -> Status {
    auto& secrets = sql("DELETE FROM secrets WHERE tenant_id=? AND integration_id=?");
    secrets.bind(1, key.tenant_id).bind(2, key.integration_id);
    if (auto s = secrets.run(); !s.ok()) return s;
    auto& del = sql("DELETE FROM integrations WHERE tenant_id=? AND id=?");
    del.bind(1, key.tenant_id).bind(2, key.integration_id);
    if (auto s = del.run(); !s.ok()) return s;
    if (sqlite3_changes(write_db_) == 0)
      return Error{"no integration " + key.log_name(), ErrorKind::kNotFound};
    return ok_status();
  });
}

Expected<std::vector<SealedSecret>> SqliteStore::secrets_of(const IntegrationKey& key) {
  std::lock_guard lock(read_mu_);
  auto& q = (*read_sql_)(
      "SELECT field, key_id, sealed FROM secrets WHERE tenant_id=? AND integration_id=?"
      " ORDER BY field");
  q.bind(1, key.tenant_id).bind(2, key.integration_id);
  std::vector<SealedSecret> out;
  int rc;
  while ((rc = q.step()) == SQLITE_ROW) out.push_back({q.text(0), q.text(1), q.blob(2)});
  q.reset();
  if (rc != SQLITE_DONE) return unavailable(read_db_);
  return out;
}

Expected<std::vector<std::pair<IntegrationKey, SealedSecret>>> SqliteStore::all_secrets() {
  std::lock_guard lock(read_mu_);
  auto& q = (*read_sql_)(
      "SELECT tenant_id, integration_id, field, key_id, sealed FROM secrets"
      " ORDER BY tenant_id, integration_id, field");
  std::vector<std::pair<IntegrationKey, SealedSecret>> out;
  int rc;
  while ((rc = q.step()) == SQLITE_ROW)
    out.push_back({{q.text(0), q.text(1)}, {q.text(2), q.text(3), q.blob(4)}});
  q.reset();
  if (rc != SQLITE_DONE) return unavailable(read_db_);
  return out;
}

Status SqliteStore::reseal_secrets(const std::vector<Reseal>& reseals, const AuditEntry& audit) {
  return change(audit, [&](StatementCache& sql) -> Status {
    for (const auto& r : reseals) {
      auto& u =
          sql("UPDATE secrets SET key_id=?4, sealed=?5 WHERE tenant_id=?1 AND integration_id=?2"
              " AND field=?3 AND sealed=?6");
      u.bind(1, r.integration.tenant_id)
          .bind(2, r.integration.integration_id)
          .bind(3, r.secret.field);
      u.bind(4, r.secret.key_id).bind_blob(5, r.secret.sealed).bind_blob(6, r.old_sealed);
      if (auto s = u.run(); !s.ok()) return s;
      if (sqlite3_changes(write_db_) != 1)
        return Error{"secret " + r.integration.log_name() + " " + r.secret.field +
                         " changed while it was re-sealed",
                     ErrorKind::kConflict};
    }
    return ok_status();
  });
}

}  // namespace crmhost
