// A prepared SQLite statement with RAII finalization and typed binding/reading.
// Not thread-safe: use it under the lock that guards its connection.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/expected.h"

namespace crmhost {

class SqliteStatement {
 public:
  SqliteStatement(sqlite3* db, const char* sql);
  ~SqliteStatement() { sqlite3_finalize(stmt_); }
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  bool prepared() const { return stmt_ != nullptr; }
  SqliteStatement& bind(int index, std::string_view text);
  SqliteStatement& bind(int index, int64_t value);
  SqliteStatement& bind_null(int index);
  SqliteStatement& bind_blob(int index, std::string_view bytes);
  SqliteStatement& bind_real(int index, double value);

  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return sqlite3_step(stmt_); }
  // Runs to completion; resets for reuse either way.
  Status run();
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  std::string text(int column) const;
  int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }
  double real(int column) const { return sqlite3_column_double(stmt_, column); }
  std::string blob(int column) const;
  bool is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// Runs SQL with no parameters or results (may hold several statements).
Status sqlite_exec(sqlite3* db, const char* sql);

}  // namespace crmhost

#include <memory>
#include <unordered_map>

namespace crmhost {

// Prepared statements of one connection, prepared on first use and reused (keyed by the SQL
// text's address, so pass string literals). Guarded by the connection's lock.
class StatementCache {
 public:
  explicit StatementCache(sqlite3* db) : db_(db) {}
  SqliteStatement& operator()(const char* sql) {
    auto& slot = cache_[sql];
    if (!slot) slot = std::make_unique<SqliteStatement>(db_, sql);
    slot->reset();
    return *slot;
  }

 private:
  sqlite3* db_;
  std::unordered_map<const char*, std::unique_ptr<SqliteStatement>> cache_;
};

// Rolls back unless committed, so every write path has one BEGIN/COMMIT shape. BEGIN and
// COMMIT are prepared once per connection (sqlite3_exec would compile them on every commit).
class Transaction {
 public:
  explicit Transaction(StatementCache& sql) : sql_(sql) { begun_ = sql("BEGIN IMMEDIATE").run(); }
  ~Transaction() {
    if (begun_.ok() && !committed_) (void)sql_("ROLLBACK").run();
  }
  const Status& begun() const { return begun_; }
  Status commit() {
    auto s = sql_("COMMIT").run();
    committed_ = s.ok();
    return s;
  }

 private:
  StatementCache& sql_;
  Status begun_ = ok_status();
  bool committed_ = false;
};

}  // namespace crmhost
