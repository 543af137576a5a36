#include "store/sqlite/wal_write_batching.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>
#include <string>

#include "store/sqlite/statement.h"
#include "support/temp_dir.h"

namespace crmhost {
namespace {

class WalWriteBatchingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    writer_ = open(wal_write_batching_vfs());
    exec(writer_,
         "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
         "CREATE TABLE t(id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
    reader_ = open(nullptr);  // the default VFS, as another process would read the file
  }
  void TearDown() override {
    sqlite3_close(reader_);
    sqlite3_close(writer_);
  }
  sqlite3* open(const char* vfs) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2((dir_ / "t.db").c_str(), &db,
                              SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs),
              SQLITE_OK);
    return db;
  }
  static void exec(sqlite3* db, const std::string& sql) {
    auto s = sqlite_exec(db, sql.c_str());
    ASSERT_TRUE(s.ok()) << sql << ": " << s.error();
  }
  static int64_t number(sqlite3* db, const char* sql) {
    SqliteStatement q(db, sql);
    EXPECT_EQ(q.step(), SQLITE_ROW) << sql;
    return q.integer(0);
  }
  static std::string text(sqlite3* db, const char* sql) {
    SqliteStatement q(db, sql);
    EXPECT_EQ(q.step(), SQLITE_ROW) << sql;
    return q.text(0);
  }
  // Rows of about a page each, so `rows` rows are about `rows` pages of WAL.
  static std::string insert_rows(int from, int rows, char fill) {
    return "WITH RECURSIVE n(v) AS (SELECT " + std::to_string(from) +
           " UNION ALL SELECT v + 1 FROM n WHERE v < " + std::to_string(from + rows - 1) +
           ") INSERT INTO t(id, body) SELECT v, printf('%.3900c', '" + std::string(1, fill) +
           "') FROM n";
  }
  // write(2)-family calls this process has made (Linux /proc/self/io).
  static long write_calls() {
    std::ifstream io("/proc/self/io");
    std::string key;
    long value = 0;
    while (io >> key >> value)
      if (key == "syscw:") return value;
    return -1;
  }

  testing::TempDir dir_;
  sqlite3* writer_ = nullptr;
  sqlite3* reader_ = nullptr;
};

TEST_F(WalWriteBatchingTest, ACommitReachesTheWalAsOneWrite) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "the sanitizers' runtime writes to a pipe of its own, which syscw counts too;"
                  " the Release build runs this test";
#endif
  long before = write_calls();
  ASSERT_GE(before, 0) << "/proc/self/io has no syscw";
  exec(writer_, "BEGIN; " + insert_rows(1, 20, 'a') + "; COMMIT");
  long calls = write_calls() - before;
  // About 84 KiB of frames: two writes of at most 64 KiB. Over the default VFS it would be two
  // writes per frame (header, page), more than 40.
  EXPECT_LE(calls, 3) << "the commit's frames were not gathered";
}

TEST_F(WalWriteBatchingTest, CommitsAreSeenByAnotherConnectionAtOnce) {
  for (int i = 0; i < 20; ++i) {
    exec(writer_, insert_rows(i * 5 + 1, 5, static_cast<char>('a' + i)));
    EXPECT_EQ(number(reader_, "SELECT count(*) FROM t"), (i + 1) * 5);
    EXPECT_EQ(text(reader_, "SELECT substr(body, 3000, 1) FROM t ORDER BY id DESC LIMIT 1"),
              std::string(1, static_cast<char>('a' + i)));
  }
}

// A transaction larger than the page cache writes frames before COMMIT (a spill), may rewrite
// them in place, and is larger than what is gathered at once; a rolled-back one leaves nothing.
TEST_F(WalWriteBatchingTest, LargeAndRolledBackTransactionsLeaveAConsistentDatabase) {
  exec(writer_, "PRAGMA cache_size=16");
  exec(writer_, "BEGIN; " + insert_rows(1, 600, 'x') +
                    "; UPDATE t SET body = upper(body)"
                    " WHERE id % 7 = 0; " +
                    insert_rows(601, 10, 'y') + "; COMMIT");
  exec(writer_, "BEGIN; " + insert_rows(1000, 400, 'z') + "; ROLLBACK");
  EXPECT_EQ(number(reader_, "SELECT count(*) FROM t"), 610);
  EXPECT_EQ(number(reader_, "SELECT count(*) FROM t WHERE substr(body, 1, 1) = 'X'"), 600 / 7);
  EXPECT_EQ(number(reader_, "SELECT count(*) FROM t WHERE id >= 1000"), 0);
  EXPECT_EQ(text(reader_, "PRAGMA integrity_check"), "ok");
  EXPECT_EQ(number(writer_, "PRAGMA wal_checkpoint(TRUNCATE)"), 0);  // 0: not busy
  sqlite3_close(writer_);
  writer_ = nullptr;
  EXPECT_EQ(text(reader_, "PRAGMA integrity_check"), "ok");
  EXPECT_EQ(number(reader_, "SELECT count(*) FROM t"), 610);
}

}  // namespace
}  // namespace crmhost
