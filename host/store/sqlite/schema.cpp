#include "store/sqlite/schema.h"

#include <string>

#include "store/sqlite/statement.h"

namespace crmhost {
namespace {

// Append only: a shipped migration is never edited; a change is a new entry.
const char* const kMigrations[] = {
    // 1: the outbox.
    R"sql(
CREATE TABLE events (
  id              TEXT PRIMARY KEY,
  tenant_id       TEXT NOT NULL,
  idempotency_key TEXT,
  event_type      TEXT NOT NULL,
  payload         TEXT NOT NULL,
  received_at     INTEGER NOT NULL,
  deliveries      INTEGER NOT NULL
);
CREATE UNIQUE INDEX events_idempotency ON events(tenant_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;

CREATE TABLE deliveries (
  id               TEXT PRIMARY KEY,
  event_id         TEXT NOT NULL REFERENCES events(id),
  tenant_id        TEXT NOT NULL,
  integration_id   TEXT NOT NULL,
  status           TEXT NOT NULL CHECK (status IN ('pending','leased','delivered','dead')),
  attempts         INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  INTEGER NOT NULL,
  lease_until      INTEGER,
  last_http_status INTEGER,
  last_error       TEXT,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL
);
CREATE INDEX deliveries_due ON deliveries(status, next_attempt_at);
CREATE INDEX deliveries_tenant ON deliveries(tenant_id, status, updated_at);
CREATE INDEX deliveries_event ON deliveries(event_id);

CREATE TABLE attempts (
  id           INTEGER PRIMARY KEY,
  delivery_id  TEXT NOT NULL REFERENCES deliveries(id),
  attempt      INTEGER NOT NULL,
  started_at   INTEGER NOT NULL,
  duration_ms  INTEGER NOT NULL,
  outcome      TEXT NOT NULL,
  http_status  INTEGER,
  error        TEXT
);
CREATE INDEX attempts_delivery ON attempts(delivery_id);

CREATE TABLE dead_letters (
  id             INTEGER PRIMARY KEY,
  delivery_id    TEXT NOT NULL REFERENCES deliveries(id),
  tenant_id      TEXT NOT NULL,
  integration_id TEXT NOT NULL,
  reason         TEXT NOT NULL,
  dead_at        INTEGER NOT NULL,
  replayed_at    INTEGER
);
CREATE INDEX dead_letters_delivery ON dead_letters(delivery_id);
)sql",

    // 2: deliveries rebuilt so that writing a row costs less (SQLite alters a constraint only by
    // rebuilding the table; columns and meaning are unchanged):
    // - the status CHECK is an OR chain: an IN list of four builds a temporary b-tree for every
    //   row inserted or updated;
    // - keyed by id (WITHOUT ROWID): one b-tree instead of a rowid table plus an index on id;
    // - the dispatcher's indexes are partial and hold only what it looks for (due pending rows,
    //   held leases), so a delivered row leaves both;
    // - the tenant index orders by updated_at alone: leasing, which changes only the status,
    //   leaves it alone, and the deliveries listing reads it in order instead of sorting.
    R"sql(
CREATE TABLE deliveries_v2 (
  id               TEXT PRIMARY KEY,
  event_id         TEXT NOT NULL REFERENCES events(id),
  tenant_id        TEXT NOT NULL,
  integration_id   TEXT NOT NULL,
  status           TEXT NOT NULL CHECK (status = 'pending' OR status = 'leased' OR
                                        status = 'delivered' OR status = 'dead'),
  attempts         INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  INTEGER NOT NULL,
  lease_until      INTEGER,
  last_http_status INTEGER,
  last_error       TEXT,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO deliveries_v2(id, event_id, tenant_id, integration_id, status, attempts,
                          next_attempt_at, lease_until, last_http_status, last_error, created_at,
                          updated_at)
  SELECT id, event_id, tenant_id, integration_id, status, attempts, next_attempt_at, lease_until,
         last_http_status, last_error, created_at, updated_at FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_v2 RENAME TO deliveries;
CREATE INDEX deliveries_due ON deliveries(next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_leased ON deliveries(lease_until) WHERE status = 'leased';
CREATE INDEX deliveries_tenant ON deliveries(tenant_id, updated_at);
CREATE INDEX deliveries_event ON deliveries(event_id);
)sql",

    // 3: configuration as data: tenants and integrations made through the admin API, their
    // secrets (sealed: the store never sees a value), and the audit log of every change.
    R"sql(
CREATE TABLE tenants (
  id          TEXT PRIMARY KEY,
  ingest_rate REAL NOT NULL,
  created_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE tenant_api_keys (
  key_id     TEXT PRIMARY KEY,
  tenant_id  TEXT NOT NULL REFERENCES tenants(id),
  key_hash   TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX tenant_api_keys_tenant ON tenant_api_keys(tenant_id);
CREATE TABLE integrations (
  tenant_id   TEXT NOT NULL,
  id          TEXT NOT NULL,
  adapter     TEXT NOT NULL,
  enabled     INTEGER NOT NULL,
  events      TEXT NOT NULL,
  config      TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE TABLE secrets (
  tenant_id      TEXT NOT NULL,
  integration_id TEXT NOT NULL,
  field          TEXT NOT NULL,
  key_id         TEXT NOT NULL,
  sealed         BLOB NOT NULL,
  updated_at     INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, integration_id, field)
) WITHOUT ROWID;
CREATE TABLE audit (
  id        INTEGER PRIMARY KEY,
  at        INTEGER NOT NULL,
  actor     TEXT NOT NULL,
  action    TEXT NOT NULL,
  tenant_id TEXT,
  target    TEXT NOT NULL,
  detail    TEXT NOT NULL,
  outcome   TEXT NOT NULL
);
CREATE INDEX audit_at ON audit(at);
)sql",
    // 4: an integration's field mapping overrides (JSON; '' = the adapter's defaults).
    R"sql(
ALTER TABLE integrations ADD COLUMN mapping TEXT NOT NULL DEFAULT '';
)sql",
    // 5: operations. Each integration's sync figures, kept up to date in the transactions that
    // change a delivery's state (so that GET /v1/status reads a row, not the outbox); the last
    // attempt's outcome; dead letters set aside by an operator (they stay `dead`, so that the
    // status CHECK need not be rebuilt); the CRM's answer to a failed attempt; and the indexes
    // the dead-letter view and the oldest-pending age seek.
    R"sql(
CREATE TABLE integration_stats (
  tenant_id              TEXT NOT NULL,
  integration_id         TEXT NOT NULL,
  pending                INTEGER NOT NULL DEFAULT 0,
  leased                 INTEGER NOT NULL DEFAULT 0,
  delivered              INTEGER NOT NULL DEFAULT 0,
  dead                   INTEGER NOT NULL DEFAULT 0,
  discarded              INTEGER NOT NULL DEFAULT 0,
  last_success_at        INTEGER,
  last_error_at          INTEGER,
  last_error_outcome     TEXT,
  last_error_http_status INTEGER,
  last_error             TEXT,
  PRIMARY KEY (tenant_id, integration_id)
) WITHOUT ROWID;
INSERT INTO integration_stats(tenant_id, integration_id, pending, leased, delivered, dead)
  SELECT tenant_id, integration_id, SUM(status = 'pending'), SUM(status = 'leased'),
         SUM(status = 'delivered'), SUM(status = 'dead')
  FROM deliveries GROUP BY tenant_id, integration_id;
ALTER TABLE deliveries ADD COLUMN last_outcome TEXT;
ALTER TABLE deliveries ADD COLUMN discarded_at INTEGER;
ALTER TABLE deliveries ADD COLUMN discard_reason TEXT;
ALTER TABLE attempts ADD COLUMN response TEXT;
CREATE INDEX deliveries_dead ON deliveries(tenant_id, updated_at, id)
  WHERE status = 'dead' AND discarded_at IS NULL;
CREATE INDEX deliveries_pending_age ON deliveries(tenant_id, integration_id, created_at)
  WHERE status = 'pending';
)sql",
};

constexpr int kLatest = sizeof(kMigrations) / sizeof(kMigrations[0]);

Expected<int> user_version(sqlite3* db) {
  SqliteStatement q(db, "PRAGMA user_version");
  if (!q.prepared() || q.step() != SQLITE_ROW) return Error{sqlite3_errmsg(db)};
  return static_cast<int>(q.integer(0));
}

// PRAGMA foreign_key_check answers one row per dangling reference.
Status foreign_keys_hold(sqlite3* db) {
  SqliteStatement q(db, "PRAGMA foreign_key_check");
  if (!q.prepared()) return Error{sqlite3_errmsg(db)};
  int rc = q.step();
  if (rc == SQLITE_ROW) return Error{"a foreign key of table " + q.text(0) + " dangles"};
  if (rc != SQLITE_DONE) return Error{sqlite3_errmsg(db)};
  return ok_status();
}

}  // namespace

Status migrate_schema(sqlite3* db) {
  auto version = user_version(db);
  if (!version.ok()) return Error{"reading schema version: " + version.error()};
  if (*version > kLatest)
    return Error{"database schema version " + std::to_string(*version) +
                 " is newer than this crmhost knows (" + std::to_string(kLatest) + ")"};
  if (*version == kLatest) return ok_status();
  // A migration may rebuild a table that others reference (SQLite's documented procedure: new
  // table, copy, drop, rename). Foreign keys are off meanwhile, since dropping the old table
  // would otherwise delete through them, and every reference is checked before each commit.
  // The pragma is a no-op inside a transaction, so it is set around them.
  if (auto off = sqlite_exec(db, "PRAGMA foreign_keys=OFF"); !off.ok()) return off;
  Status result = ok_status();
  for (int v = *version; v < kLatest && result.ok(); ++v) {
    std::string sql = std::string("BEGIN IMMEDIATE;") + kMigrations[v] +
                      "PRAGMA user_version = " + std::to_string(v + 1) + ";";
    auto done = sqlite_exec(db, sql.c_str());
    if (done.ok()) done = foreign_keys_hold(db);
    if (done.ok()) done = sqlite_exec(db, "COMMIT");
    if (!done.ok()) {
      sqlite_exec(db, "ROLLBACK");
      result = Error{"schema migration " + std::to_string(v + 1) + ": " + done.error()};
    }
  }
  if (auto on = sqlite_exec(db, "PRAGMA foreign_keys=ON"); !on.ok() && result.ok()) return on;
  return result;
}

}  // namespace crmhost
