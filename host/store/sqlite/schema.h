// Versioned schema migrations for the outbox database. The version lives in PRAGMA user_version;
// each migration runs once, in its own transaction, in order.
#pragma once

#include <sqlite3.h>

#include "common/expected.h"

namespace crmhost {

// Brings the database to the newest schema. Refuses a database newer than this binary knows.
Status migrate_schema(sqlite3* db);

}  // namespace crmhost
