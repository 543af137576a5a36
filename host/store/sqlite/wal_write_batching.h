// A SQLite VFS that gathers a commit's writes to the WAL into one write.
//
// SQLite appends each WAL frame as two writes (a 24-byte frame header, then the page), so a
// commit of six pages costs twelve pwrite calls, each with its own page-cache work. Over this
// VFS the writes that continue one another are kept in memory and reach the file as one write
// when SQLite syncs the WAL, reads back a range it wrote, asks for the file's size, truncates or
// closes it, or writes somewhere else. Everything else goes to the default VFS unchanged.
//
// Safe only when every commit syncs the WAL (`synchronous=FULL`): SQLite publishes a commit's
// frames to other connections after that sync, so no other connection can look for frames still
// held here. Under `synchronous=NORMAL` a commit does not sync, so the store does not use it.
//
// Thread-safety: register once (call_once inside); each open file belongs to the connection
// that opened it, which SQLite serializes.
#pragma once

namespace crmhost {

// Registers the VFS (not as the default) and returns its name, for sqlite3_open_v2.
const char* wal_write_batching_vfs();

}  // namespace crmhost
