// An SQLite connection set up for Argus (WAL, busy timeout, foreign keys) with the
// schema migrated to this build's version, and a prepared-statement wrapper. SQL
// reaches SQLite only through prepared statements with bound parameters.
#pragma once

#include <cstdint>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <stdexcept>
#include <string_view>
#include <unordered_map>

struct sqlite3;
struct sqlite3_stmt;

namespace argus::store {

class Database;

// Asks a Statement to come from its connection's idle statements when one with the same
// SQL is there, and to go back there (reset) when it ends: for readers that build the
// same statement on every request, so SQLite compiles it once per connection.
struct Reused {};
inline constexpr Reused kReused{};

// An SQLite failure, with its result code. Transient ones (busy, locked, I/O, disk
// full, read-only) are about the database, not the data: retrying later can succeed.
class StoreError : public std::runtime_error {
 public:
  StoreError(const std::string& message, int code) : std::runtime_error(message), code_(code) {}
  int code() const { return code_; }
  bool transient() const;

 private:
  int code_;
};

// A prepared statement bound to one Database. Not thread-safe (neither is the
// connection): one Database per thread.
class Statement {
 public:
  Statement() = default;
  Statement(Database& db, std::string_view sql);  // throws std::runtime_error on bad SQL
  Statement(Database& db, std::string_view sql, Reused);
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;

  // Parameters are 1-based, as in SQLite.
  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, double value);
  Statement& Bind(int index, std::string_view value);
  Statement& BindNull(int index);

  // Steps once: true when a row is ready, false when done. Throws on error.
  bool Step();
  // Steps to completion; for statements that return no rows.
  void Run();
  void Reset();

  int64_t Int(int col) const;
  double Real(int col) const;
  std::string Text(int col) const;
  bool IsNull(int col) const;
  // The column's value, or nullopt when it is NULL.
  std::optional<int64_t> OptInt(int col) const;
  std::optional<double> OptReal(int col) const;

 private:
  Database* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  std::string reuse_sql_;  // set: goes back to db_'s idle statements under this SQL
};

class Database {
 public:
  // Opens (creating when `create`) and migrates. Throws std::runtime_error with the
  // path and SQLite's message; refuses a database newer than this build.
  // `migrate_to` (tests only) stops migrating at that version, as an older build would.
  static std::unique_ptr<Database> Open(const std::string& path, bool create = true, int migrate_to = 0);
  // Opens an existing file for reading only (SQLITE_OPEN_READONLY: no statement on it
  // can write): the dash's connections. Throws when the file is missing or its schema
  // is not this build's, since a reader cannot migrate; the message says what to do.
  static std::unique_ptr<Database> OpenReadOnly(const std::string& path);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  void Exec(std::string_view sql);  // for fixed DDL and transaction control only
  int64_t Changes() const;
  std::string ErrorMessage() const;
  sqlite3* handle() { return db_; }
  // Statements on this connection stop with StoreError(SQLITE_INTERRUPT) once
  // `deadline` has passed (checked every thousand VM steps); ClearDeadline lifts it.
  // For readers that must answer in bounded time.
  void SetDeadline(std::chrono::steady_clock::time_point deadline);
  void ClearDeadline();
  const std::string& path() const { return path_; }
  int schema_version() const { return schema_version_; }

 private:
  friend class Statement;
  // Idle statements kept for reuse (Reused), by SQL; at most kMaxIdle.
  static constexpr size_t kMaxIdle = 128;
  sqlite3_stmt* TakeIdle(const std::string& sql);
  void GiveBack(std::string sql, sqlite3_stmt* stmt);
  std::unordered_multimap<std::string, sqlite3_stmt*> idle_;

  Database(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  std::string path_;
  int schema_version_ = 0;
  std::chrono::steady_clock::time_point deadline_{};
};

// BEGIN IMMEDIATE on construction, ROLLBACK on destruction unless Commit() ran.
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  void Commit();

 private:
  Database& db_;
  bool done_ = false;
};

}  // namespace argus::store
