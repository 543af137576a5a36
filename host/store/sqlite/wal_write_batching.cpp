#include "store/sqlite/wal_write_batching.h"

#include <sqlite3.h>

#include <algorithm>
#include <mutex>
#include <new>
#include <string>

namespace crmhost {
namespace {

constexpr char kVfsName[] = "crmhost-wal-batching";
// A commit larger than this is written in pieces of about this size.
constexpr size_t kMaxGathered = 1 << 20;
// The most the default unix VFS writes in one call: it cuts a larger write short (and SQLite
// reports the disk full), since SQLite itself never writes more than a page (64 KiB at most).
constexpr size_t kMaxWrite = 64 * 1024;

sqlite3_vfs* g_default = nullptr;  // set once by the registration, before any open

// What SQLite allocates for each open file (szOsFile): this header, then the default VFS's
// own file object, which does the real work.
struct GatheringFile {
  sqlite3_file base;  // must be first: SQLite sees a sqlite3_file*
  bool is_wal;
  std::string* gathered;      // writes not yet in the file, owned; null until the first
  sqlite3_int64 gathered_at;  // file offset of gathered's first byte
  sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
};

GatheringFile* as_gathering(sqlite3_file* f) { return reinterpret_cast<GatheringFile*>(f); }
// The default VFS's file under `f`, and its methods.
sqlite3_file* real(sqlite3_file* f) { return as_gathering(f)->real(); }
const sqlite3_io_methods& io(sqlite3_file* f) { return *real(f)->pMethods; }

int flush(GatheringFile* f) {
  if (!f->gathered || f->gathered->empty()) return SQLITE_OK;
  sqlite3_file* real = f->real();
  const std::string& g = *f->gathered;
  int rc = SQLITE_OK;
  for (size_t done = 0; done < g.size() && rc == SQLITE_OK; done += kMaxWrite) {
    size_t n = std::min(kMaxWrite, g.size() - done);
    rc = real->pMethods->xWrite(real, g.data() + done, static_cast<int>(n),
                                f->gathered_at + static_cast<sqlite3_int64>(done));
  }
  f->gathered->clear();  // on failure too: SQLite rolls the commit back and rewrites what it needs
  return rc;
}

int x_close(sqlite3_file* file) {
  GatheringFile* f = as_gathering(file);
  int rc = flush(f);
  delete f->gathered;
  f->gathered = nullptr;
  sqlite3_file* real = f->real();
  int closed = real->pMethods ? real->pMethods->xClose(real) : SQLITE_OK;
  return rc != SQLITE_OK ? rc : closed;
}

int x_read(sqlite3_file* file, void* out, int amount, sqlite3_int64 offset) {
  GatheringFile* f = as_gathering(file);
  if (f->gathered && !f->gathered->empty() &&
      offset < f->gathered_at + static_cast<sqlite3_int64>(f->gathered->size()) &&
      offset + amount > f->gathered_at) {
    if (int rc = flush(f); rc != SQLITE_OK) return rc;
  }
  return io(file).xRead(real(file), out, amount, offset);
}

int x_write(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
  GatheringFile* f = as_gathering(file);
  if (!f->is_wal) return io(file).xWrite(real(file), data, amount, offset);
  if (!f->gathered) f->gathered = new (std::nothrow) std::string();
  if (!f->gathered) return io(file).xWrite(real(file), data, amount, offset);
  std::string& g = *f->gathered;
  bool continues = !g.empty() && offset == f->gathered_at + static_cast<sqlite3_int64>(g.size());
  if (!continues || g.size() + static_cast<size_t>(amount) > kMaxGathered) {
    if (int rc = flush(f); rc != SQLITE_OK) return rc;
    f->gathered_at = offset;
  }
  try {
    g.append(static_cast<const char*>(data), static_cast<size_t>(amount));
  } catch (const std::bad_alloc&) {  // no exception may cross SQLite's C frames
    // Its range does not overlap what is gathered, so which reaches the file first is no matter.
    return io(file).xWrite(real(file), data, amount, offset);
  }
  return SQLITE_OK;
}

int x_truncate(sqlite3_file* file, sqlite3_int64 size) {
  if (int rc = flush(as_gathering(file)); rc != SQLITE_OK) return rc;
  return io(file).xTruncate(real(file), size);
}

int x_sync(sqlite3_file* file, int flags) {
  if (int rc = flush(as_gathering(file)); rc != SQLITE_OK) return rc;
  return io(file).xSync(real(file), flags);
}

int x_file_size(sqlite3_file* file, sqlite3_int64* size) {
  if (int rc = flush(as_gathering(file)); rc != SQLITE_OK) return rc;
  return io(file).xFileSize(real(file), size);
}

// The rest pass straight to the default VFS's file.
int x_lock(sqlite3_file* f, int level) { return io(f).xLock(real(f), level); }
int x_unlock(sqlite3_file* f, int level) { return io(f).xUnlock(real(f), level); }
int x_check_reserved_lock(sqlite3_file* f, int* out) {
  return io(f).xCheckReservedLock(real(f), out);
}
int x_file_control(sqlite3_file* f, int op, void* arg) {
  return io(f).xFileControl(real(f), op, arg);
}
int x_sector_size(sqlite3_file* f) { return io(f).xSectorSize(real(f)); }
int x_device_characteristics(sqlite3_file* f) { return io(f).xDeviceCharacteristics(real(f)); }
int x_shm_map(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  return io(f).xShmMap(real(f), region, size, extend, out);
}
int x_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  return io(f).xShmLock(real(f), offset, n, flags);
}
void x_shm_barrier(sqlite3_file* f) { io(f).xShmBarrier(real(f)); }
int x_shm_unmap(sqlite3_file* f, int delete_flag) { return io(f).xShmUnmap(real(f), delete_flag); }
int x_fetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
  return io(f).xFetch(real(f), offset, amount, out);
}
int x_unfetch(sqlite3_file* f, sqlite3_int64 offset, void* p) {
  return io(f).xUnfetch(real(f), offset, p);
}

const sqlite3_io_methods kMethods = {
    3,
    x_close,
    x_read,
    x_write,
    x_truncate,
    x_sync,
    x_file_size,
    x_lock,
    x_unlock,
    x_check_reserved_lock,
    x_file_control,
    x_sector_size,
    x_device_characteristics,
    x_shm_map,
    x_shm_lock,
    x_shm_barrier,
    x_shm_unmap,
    x_fetch,
    x_unfetch,
};

int x_open(sqlite3_vfs*, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  GatheringFile* f = as_gathering(file);
  f->base.pMethods = nullptr;  // SQLite calls no method of a file whose open failed
  f->is_wal = (flags & SQLITE_OPEN_WAL) != 0;
  f->gathered = nullptr;
  f->gathered_at = 0;
  int rc = g_default->xOpen(g_default, name, f->real(), flags, out_flags);
  if (rc != SQLITE_OK) return rc;
  // The default unix VFS serves every file with version 3 methods; anything older would lack
  // the shared-memory calls WAL needs, so refuse it rather than guess.
  if (!f->real()->pMethods || f->real()->pMethods->iVersion < 3) {
    if (f->real()->pMethods) f->real()->pMethods->xClose(f->real());
    return SQLITE_CANTOPEN;
  }
  f->base.pMethods = &kMethods;
  return SQLITE_OK;
}

int x_delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return g_default->xDelete(g_default, name, sync_dir);
}
int x_access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return g_default->xAccess(g_default, name, flags, out);
}
int x_full_pathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return g_default->xFullPathname(g_default, name, n, out);
}
void* x_dl_open(sqlite3_vfs*, const char* name) { return g_default->xDlOpen(g_default, name); }
void x_dl_error(sqlite3_vfs*, int n, char* out) { g_default->xDlError(g_default, n, out); }
void (*x_dl_sym(sqlite3_vfs*, void* h, const char* sym))(void) {
  return g_default->xDlSym(g_default, h, sym);
}
void x_dl_close(sqlite3_vfs*, void* h) { g_default->xDlClose(g_default, h); }
int x_randomness(sqlite3_vfs*, int n, char* out) {
  return g_default->xRandomness(g_default, n, out);
}
int x_sleep(sqlite3_vfs*, int us) { return g_default->xSleep(g_default, us); }
int x_current_time(sqlite3_vfs*, double* out) { return g_default->xCurrentTime(g_default, out); }
int x_get_last_error(sqlite3_vfs*, int n, char* out) {
  return g_default->xGetLastError(g_default, n, out);
}
int x_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) {
  return g_default->xCurrentTimeInt64(g_default, out);
}

sqlite3_vfs g_vfs;

}  // namespace

const char* wal_write_batching_vfs() {
  static std::once_flag once;
  std::call_once(once, [] {
    g_default = sqlite3_vfs_find(nullptr);
    g_vfs = sqlite3_vfs{};
    g_vfs.iVersion = 2;  // no xSetSystemCall: nothing here swaps system calls
    g_vfs.szOsFile = static_cast<int>(sizeof(GatheringFile)) + g_default->szOsFile;
    g_vfs.mxPathname = g_default->mxPathname;
    g_vfs.zName = kVfsName;
    g_vfs.xOpen = x_open;
    g_vfs.xDelete = x_delete;
    g_vfs.xAccess = x_access;
    g_vfs.xFullPathname = x_full_pathname;
    g_vfs.xDlOpen = x_dl_open;
    g_vfs.xDlError = x_dl_error;
    g_vfs.xDlSym = x_dl_sym;
    g_vfs.xDlClose = x_dl_close;
    g_vfs.xRandomness = x_randomness;
    g_vfs.xSleep = x_sleep;
    g_vfs.xCurrentTime = x_current_time;
    g_vfs.xGetLastError = x_get_last_error;
    g_vfs.xCurrentTimeInt64 = x_current_time_int64;
    sqlite3_vfs_register(&g_vfs, 0);
  });
  return kVfsName;
}

}  // namespace crmhost
