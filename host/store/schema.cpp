#include "store/schema.h"

#include <string>

#include "store/sqlite_statement.h"

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
};

constexpr int kLatest = sizeof(kMigrations) / sizeof(kMigrations[0]);

Expected<int> user_version(sqlite3* db) {
  SqliteStatement q(db, "PRAGMA user_version");
  if (!q.prepared() || q.step() != SQLITE_ROW) return Error{sqlite3_errmsg(db)};
  return static_cast<int>(q.integer(0));
}

}  // namespace

Status migrate_schema(sqlite3* db) {
  auto version = user_version(db);
  if (!version.ok()) return Error{"reading schema version: " + version.error()};
  if (*version > kLatest)
    return Error{"database schema version " + std::to_string(*version) +
                 " is newer than this crmhost knows (" + std::to_string(kLatest) + ")"};
  for (int v = *version; v < kLatest; ++v) {
    std::string sql = std::string("BEGIN IMMEDIATE;") + kMigrations[v] +
                      "PRAGMA user_version = " + std::to_string(v + 1) + ";COMMIT;";
    auto done = sqlite_exec(db, sql.c_str());
    if (!done.ok()) {
      sqlite_exec(db, "ROLLBACK");
      return Error{"schema migration " + std::to_string(v + 1) + ": " + done.error()};
    }
  }
  return ok_status();
}

}  // namespace crmhost
