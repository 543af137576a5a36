#include "store/sqlite/statement.h"

namespace crmhost {

SqliteStatement::SqliteStatement(sqlite3* db, const char* sql) : db_(db) {
  sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
}

SqliteStatement& SqliteStatement::bind(int index, std::string_view text) {
  sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}

SqliteStatement& SqliteStatement::bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

SqliteStatement& SqliteStatement::bind_null(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

SqliteStatement& SqliteStatement::bind_blob(int index, std::string_view bytes) {
  sqlite3_bind_blob(stmt_, index, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
  return *this;
}

SqliteStatement& SqliteStatement::bind_real(int index, double value) {
  sqlite3_bind_double(stmt_, index, value);
  return *this;
}

std::string SqliteStatement::blob(int column) const {
  auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, column));
  return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, column))) : std::string();
}

Status SqliteStatement::run() {
  int rc;
  while ((rc = step()) == SQLITE_ROW) {
  }
  reset();
  if (rc != SQLITE_DONE) return Error{sqlite3_errmsg(db_), ErrorKind::kUnavailable};
  return ok_status();
}

std::string SqliteStatement::text(int column) const {
  auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, column))) : std::string();
}

Status sqlite_exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string message = err ? err : "sqlite error";
    sqlite3_free(err);
    return Error{message, ErrorKind::kUnavailable};
  }
  return ok_status();
}

}  // namespace crmhost
