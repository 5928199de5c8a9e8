#include "store/schema.h"

#include <stdexcept>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "store/database.h"

namespace argus::store {
namespace {

// Append only: a released migration is never edited, the next change is a new entry.
const std::vector<const char*>& Migrations() {
  static const std::vector<const char*> kMigrations = {
      // 1: raw events with per-host and per-type registries.
      R"sql(
        CREATE TABLE events(
          seq      INTEGER PRIMARY KEY,
          id       TEXT NOT NULL UNIQUE,
          type     TEXT NOT NULL,
          host     TEXT NOT NULL,
          ts       INTEGER NOT NULL,
          recv_ts  INTEGER NOT NULL,
          priority TEXT NOT NULL,
          addr     TEXT NOT NULL,
          content  TEXT NOT NULL);
        CREATE INDEX events_type_ts ON events(type, ts);
        CREATE INDEX events_host_ts ON events(host, ts);
        CREATE INDEX events_ts ON events(ts);
        CREATE TABLE hosts(
          host       TEXT PRIMARY KEY,
          first_seen INTEGER NOT NULL,
          last_seen  INTEGER NOT NULL,
          events     INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE types(
          type       TEXT PRIMARY KEY,
          first_seen INTEGER NOT NULL,
          last_seen  INTEGER NOT NULL,
          events     INTEGER NOT NULL) WITHOUT ROWID;
      )sql",
      // 2: one-minute rollups of every numeric content field (the generic aggregator).
      R"sql(
        CREATE TABLE rollups_1m(
          type    TEXT NOT NULL,
          field   TEXT NOT NULL,
          host    TEXT NOT NULL,
          minute  INTEGER NOT NULL,
          count   INTEGER NOT NULL,
          sum     REAL NOT NULL,
          min     REAL NOT NULL,
          max     REAL NOT NULL,
          last    REAL NOT NULL,
          last_ts INTEGER NOT NULL,
          PRIMARY KEY (type, field, host, minute)) WITHOUT ROWID;
      )sql",
      // 3: one-hour rollups, folded from one-minute ones as those age out.
      R"sql(
        CREATE TABLE rollups_1h(
          type    TEXT NOT NULL,
          field   TEXT NOT NULL,
          host    TEXT NOT NULL,
          hour    INTEGER NOT NULL,
          count   INTEGER NOT NULL,
          sum     REAL NOT NULL,
          min     REAL NOT NULL,
          max     REAL NOT NULL,
          last    REAL NOT NULL,
          last_ts INTEGER NOT NULL,
          PRIMARY KEY (type, field, host, hour)) WITHOUT ROWID;
        CREATE INDEX rollups_1m_minute ON rollups_1m(minute);
        CREATE INDEX events_recv_ts ON events(recv_ts);
        CREATE INDEX rollups_1h_hour ON rollups_1h(hour);
      )sql",
      // 4: the demo aggregator's table (docs/aggregators.md).
      R"sql(
        CREATE TABLE demo_counts(
          type   TEXT NOT NULL,
          minute INTEGER NOT NULL,
          events INTEGER NOT NULL,
          PRIMARY KEY (type, minute)) WITHOUT ROWID;
      )sql",
  };
  return kMigrations;
}

}  // namespace

int LatestSchemaVersion() { return static_cast<int>(Migrations().size()); }

namespace {

int ReadVersion(Database& db) {
  Statement get(db, "SELECT version FROM schema_version");
  return get.Step() ? static_cast<int>(get.Int(0)) : 0;
}

}  // namespace

int Migrate(Database& db) {
  db.Exec("CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)");
  // Fast path without a write lock: readers (the dash) open while consumers write.
  if (ReadVersion(db) == LatestSchemaVersion()) return LatestSchemaVersion();
  Transaction tx(db);
  // Read again under the lock: another process may have migrated meanwhile.
  int found = ReadVersion(db);
  bool has_row = found > 0;
  if (found > LatestSchemaVersion()) {
    throw std::runtime_error("database " + db.path() + " has schema version " + std::to_string(found) +
                             ", newer than this build supports (" +
                             std::to_string(LatestSchemaVersion()) + "); upgrade Argus");
  }
  for (int v = found; v < LatestSchemaVersion(); ++v) {
    spdlog::info("store {}: migrating schema {} -> {}", db.path(), v, v + 1);
    db.Exec(Migrations()[static_cast<size_t>(v)]);
  }
  if (found != LatestSchemaVersion()) {
    Statement set(db, has_row ? "UPDATE schema_version SET version = ?1"
                              : "INSERT INTO schema_version(version) VALUES (?1)");
    set.Bind(1, static_cast<int64_t>(LatestSchemaVersion())).Run();
  }
  tx.Commit();
  return found;
}

}  // namespace argus::store
