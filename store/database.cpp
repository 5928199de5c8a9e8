#include "store/database.h"

#include <chrono>
#include <stdexcept>
#include <thread>

#include <sqlite3.h>

#include "store/schema.h"

namespace argus::store {

bool StoreError::transient() const {
  switch (code_ & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_NOMEM:
    case SQLITE_PROTOCOL:
      return true;
    default:
      return false;
  }
}

Statement::Statement(Database& db, std::string_view sql) : db_(&db) {
  if (sqlite3_prepare_v2(db.handle(), sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr) !=
      SQLITE_OK) {
    throw StoreError("cannot prepare statement: " + db.ErrorMessage(), sqlite3_errcode(db.handle()));
  }
}

Statement::Statement(Database& db, std::string_view sql, Reused) : db_(&db), reuse_sql_(sql) {
  stmt_ = db.TakeIdle(reuse_sql_);
  if (stmt_) return;
  if (sqlite3_prepare_v3(db.handle(), sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt_,
                         nullptr) != SQLITE_OK) {
    throw StoreError("cannot prepare statement: " + db.ErrorMessage(), sqlite3_errcode(db.handle()));
  }
}

Statement::~Statement() {
  if (!stmt_) return;
  if (reuse_sql_.empty()) {
    sqlite3_finalize(stmt_);
  } else {
    // Reset, so that it holds no read snapshot while idle.
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    db_->GiveBack(std::move(reuse_sql_), stmt_);
  }
}

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_), stmt_(other.stmt_), reuse_sql_(std::move(other.reuse_sql_)) {
  other.stmt_ = nullptr;
}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    this->~Statement();
    db_ = other.db_;
    stmt_ = other.stmt_;
    reuse_sql_ = std::move(other.reuse_sql_);
    other.stmt_ = nullptr;
  }
  return *this;
}

sqlite3_stmt* Database::TakeIdle(const std::string& sql) {
  auto it = idle_.find(sql);
  if (it == idle_.end()) return nullptr;
  sqlite3_stmt* stmt = it->second;
  idle_.erase(it);
  return stmt;
}

void Database::GiveBack(std::string sql, sqlite3_stmt* stmt) {
  if (idle_.size() >= kMaxIdle) {
    sqlite3_finalize(stmt);
    return;
  }
  idle_.emplace(std::move(sql), stmt);
}

Statement& Statement::Bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Statement& Statement::Bind(int index, double value) {
  sqlite3_bind_double(stmt_, index, value);
  return *this;
}

Statement& Statement::Bind(int index, std::string_view value) {
  sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::BindNull(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

bool Statement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  std::string msg = db_->ErrorMessage();
  sqlite3_reset(stmt_);
  throw StoreError("sqlite: " + msg, rc);
}

void Statement::Run() {
  while (Step()) {
  }
  Reset();
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int64_t Statement::Int(int col) const { return sqlite3_column_int64(stmt_, col); }

double Statement::Real(int col) const { return sqlite3_column_double(stmt_, col); }

std::string Statement::Text(int col) const {
  auto p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
}

bool Statement::IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

std::optional<int64_t> Statement::OptInt(int col) const {
  return IsNull(col) ? std::nullopt : std::optional<int64_t>(Int(col));
}

std::optional<double> Statement::OptReal(int col) const {
  return IsNull(col) ? std::nullopt : std::optional<double>(Real(col));
}

std::unique_ptr<Database> Database::Open(const std::string& path, bool create, int migrate_to) {
  sqlite3* raw = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = raw ? sqlite3_errmsg(raw) : "out of memory";
    sqlite3_close(raw);
    throw std::runtime_error("cannot open database " + path + ": " + msg);
  }
  std::unique_ptr<Database> db(new Database(raw, path));
  // Several processes (consumers, dash) share one file: readers must not block the
  // writer, and a writer waits its turn instead of failing.
  sqlite3_busy_timeout(raw, 10000);
  // Turning a new file to WAL, or two first migrations at once, can report "locked"
  // without consulting the busy handler (SQLite's deadlock avoidance): retry a while.
  for (int attempt = 0;; ++attempt) {
    try {
      db->Exec("PRAGMA journal_mode=WAL");
      // FULL: every commit is on disk before it returns. The consumer acknowledges
      // entries to Redis (which then trims them) right after its commit; with NORMAL
      // an OS crash could lose commits whose entries Redis no longer has.
      db->Exec("PRAGMA synchronous=FULL");
      // 64 MiB of pages (SQLite's default is 2 MiB): the events indexes of a busy store
      // outgrow 2 MiB at once; measured in docs/performance.md.
      db->Exec("PRAGMA cache_size=-65536");
      db->Exec("PRAGMA foreign_keys=ON");
      MigrateTo(*db, migrate_to > 0 ? migrate_to : LatestSchemaVersion());
      break;
    } catch (const std::runtime_error&) {
      int code = sqlite3_errcode(raw) & 0xff;
      if ((code != SQLITE_BUSY && code != SQLITE_LOCKED) || attempt >= 200) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  db->schema_version_ = migrate_to > 0 ? migrate_to : LatestSchemaVersion();
  return db;
}

std::unique_ptr<Database> Database::OpenReadOnly(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = raw ? sqlite3_errmsg(raw) : "out of memory";
    sqlite3_close(raw);
    throw StoreError("cannot open database " + path + " for reading: " + msg +
                         " (the consumers create it when they first start)",
                     rc);
  }
  std::unique_ptr<Database> db(new Database(raw, path));
  // A reader waits out a checkpoint or a writer's WAL reset instead of failing.
  sqlite3_busy_timeout(raw, 10000);
  db->Exec("PRAGMA cache_size=-65536");
  int version = 0;
  if (TableExists(*db, "schema_version")) {
    Statement get(*db, "SELECT version FROM schema_version");
    if (get.Step()) version = static_cast<int>(get.Int(0));
  }
  if (version != LatestSchemaVersion()) {
    throw StoreError("database " + path + " has schema version " + std::to_string(version) + ", this build reads " +
                         std::to_string(LatestSchemaVersion()) +
                         (version < LatestSchemaVersion() ? ": start this version's consumer once to migrate it"
                                                          : ": upgrade Argus"),
                     SQLITE_CANTOPEN);
  }
  db->schema_version_ = version;
  return db;
}

Database::~Database() {
  for (auto& [sql, stmt] : idle_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

void Database::SetDeadline(std::chrono::steady_clock::time_point deadline) {
  deadline_ = deadline;
  sqlite3_progress_handler(
      db_, 1000,
      [](void* self) -> int { return std::chrono::steady_clock::now() >= static_cast<Database*>(self)->deadline_; },
      this);
}

void Database::ClearDeadline() { sqlite3_progress_handler(db_, 0, nullptr, nullptr); }

void Database::Exec(std::string_view sql) {
  char* err = nullptr;
  std::string text(sql);
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : ErrorMessage();
    int code = sqlite3_errcode(db_);
    sqlite3_free(err);
    throw StoreError("sqlite (" + path_ + "): " + msg, code);
  }
}

int64_t Database::Changes() const { return sqlite3_changes(db_); }

std::string Database::ErrorMessage() const { return sqlite3_errmsg(db_); }

Transaction::Transaction(Database& db) : db_(db) { db_.Exec("BEGIN IMMEDIATE"); }

Transaction::~Transaction() {
  if (!done_) {
    try {
      db_.Exec("ROLLBACK");
    } catch (...) {
      // The transaction may already be gone (SQLite rolls back on some errors).
    }
  }
}

void Transaction::Commit() {
  db_.Exec("COMMIT");
  done_ = true;
}

}  // namespace argus::store
