#include "store/schema.h"

#include <stdexcept>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "store/database.h"

namespace argus::store {
namespace {

// A migration is SQL, or a step that needs code. Migrations are append only: a
// released step is never changed, except that the tables which aggregators now own
// (rollups_*, demo_counts, host_status, system_*, packet_*) were taken out of steps 2
// to 5. Their owners create them with IF NOT EXISTS, so a file made by an older build,
// which has them already, and a new file, which gets them from their owners, end the
// same.
struct Migration {
  const char* sql = nullptr;
  void (*run)(Database& db) = nullptr;
};

// 8: the demo aggregator is an example now (docs/examples/), not a product feature:
// its table goes where it is empty; one with rows is kept, and said so.
void DropEmptyDemoTable(Database& db) {
  if (!TableExists(db, "demo_counts")) return;
  Statement count(db, "SELECT count(*) FROM demo_counts");
  const int64_t rows = count.Step() ? count.Int(0) : 0;
  count.Reset();
  if (rows == 0) {
    db.Exec("DROP TABLE demo_counts");
  } else {
    spdlog::warn("store {}: demo_counts has {} rows and is kept; the demo aggregator is an example now "
                 "(docs/examples/demo_aggregator.cpp): DROP TABLE demo_counts when you are done with it",
                 db.path(), rows);
  }
}

const std::vector<Migration>& Migrations() {
  static const std::vector<Migration> kMigrations = {
      // 1: raw events with per-host and per-type registries.
      {R"sql(
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
      )sql"},
      // 2: (the generic aggregator's one-minute rollups; its own now)
      {"SELECT 1"},
      // 3: retention by receive time (and the generic aggregator's one-hour rollups,
      // its own now).
      {"CREATE INDEX events_recv_ts ON events(recv_ts)"},
      // 4: (the demo aggregator's table; an example now)
      {"SELECT 1"},
      // 5: (the hosts, system and packet aggregators' tables; their own now)
      {"SELECT 1"},
      // 6: events are unique per (host, id), not per id: a host can no longer take the
      // ids of another host's future events (a bound token only ever writes its own host).
      {R"sql(
        CREATE TABLE events_v6(
          seq      INTEGER PRIMARY KEY,
          id       TEXT NOT NULL,
          type     TEXT NOT NULL,
          host     TEXT NOT NULL,
          ts       INTEGER NOT NULL,
          recv_ts  INTEGER NOT NULL,
          priority TEXT NOT NULL,
          addr     TEXT NOT NULL,
          content  TEXT NOT NULL,
          UNIQUE(host, id));
        INSERT INTO events_v6(seq, id, type, host, ts, recv_ts, priority, addr, content)
          SELECT seq, id, type, host, ts, recv_ts, priority, addr, content FROM events;
        DROP TABLE events;
        ALTER TABLE events_v6 RENAME TO events;
        CREATE INDEX events_type_ts ON events(type, ts);
        CREATE INDEX events_host_ts ON events(host, ts);
        CREATE INDEX events_ts ON events(ts);
        CREATE INDEX events_recv_ts ON events(recv_ts);
      )sql"},
      // 7: events of one type on one host, newest first (the dash's type+host filter).
      {"CREATE INDEX events_type_host_ts ON events(type, host, ts)"},
      // 8: the demo table goes where it is empty.
      {nullptr, DropEmptyDemoTable},
      // 9: alert rules (issue #13): the JSON of each, where it came from (the API or the
      // alert evaluator's rules file) and a version that counts its changes.
      {R"sql(
        CREATE TABLE alert_rules(
          name       TEXT PRIMARY KEY,
          body       TEXT NOT NULL,
          source     TEXT NOT NULL,
          version    INTEGER NOT NULL,
          updated_ms INTEGER NOT NULL) WITHOUT ROWID;
      )sql"},
      // 10: the evaluator's state per (rule, host) (with the rule's severity and labels,
      // for the alarms view's filters), every transition, the silences, and the outbox of
      // notifications written in the same transaction as the state that caused them.
      // `version` counts every write of a state row: writes are compare-and-set on it,
      // so two evaluators that both think they own a pair cannot both move it.
      {R"sql(
        CREATE TABLE alert_states(
          rule         TEXT NOT NULL,
          host         TEXT NOT NULL,
          state        TEXT NOT NULL,
          since_ms     INTEGER NOT NULL,
          value        REAL,
          transitions  INTEGER NOT NULL,
          version      INTEGER NOT NULL,
          evaluated_ms INTEGER NOT NULL,
          memo         TEXT NOT NULL,
          severity     TEXT NOT NULL,
          labels       TEXT NOT NULL,
          PRIMARY KEY(rule, host)) WITHOUT ROWID;
        CREATE INDEX alert_states_state ON alert_states(state);
        CREATE TABLE alert_history(
          seq         INTEGER PRIMARY KEY,
          rule        TEXT NOT NULL,
          host        TEXT NOT NULL,
          from_state  TEXT NOT NULL,
          to_state    TEXT NOT NULL,
          at_ms       INTEGER NOT NULL,
          value       REAL,
          why         TEXT NOT NULL,
          transition  INTEGER NOT NULL);
        CREATE INDEX alert_history_at ON alert_history(at_ms);
        CREATE INDEX alert_history_pair ON alert_history(rule, host, seq);
        CREATE TABLE alert_silences(
          id         INTEGER PRIMARY KEY,
          matchers   TEXT NOT NULL,
          starts_ms  INTEGER NOT NULL,
          ends_ms    INTEGER NOT NULL,
          created_by TEXT NOT NULL,
          comment    TEXT NOT NULL,
          created_ms INTEGER NOT NULL);
        CREATE INDEX alert_silences_ends ON alert_silences(ends_ms);
        CREATE TABLE alert_outbox(
          key        TEXT PRIMARY KEY,
          body       TEXT NOT NULL,
          created_ms INTEGER NOT NULL) WITHOUT ROWID;
      )sql"},
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

int Migrate(Database& db) { return MigrateTo(db, LatestSchemaVersion()); }

int MigrateTo(Database& db, int version) {
  db.Exec("CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)");
  // Fast path without a write lock: readers (the dash) open while consumers write.
  if (ReadVersion(db) == version) return version;
  Transaction tx(db);
  // Read again under the lock: another process may have migrated meanwhile.
  int found = ReadVersion(db);
  bool has_row = found > 0;
  if (found > LatestSchemaVersion()) {
    throw std::runtime_error("database " + db.path() + " has schema version " + std::to_string(found) +
                             ", newer than this build supports (" +
                             std::to_string(LatestSchemaVersion()) + "); upgrade Argus");
  }
  for (int v = found; v < version; ++v) {
    spdlog::info("store {}: migrating schema {} -> {}", db.path(), v, v + 1);
    const Migration& m = Migrations()[static_cast<size_t>(v)];
    if (m.sql) db.Exec(m.sql);
    if (m.run) m.run(db);
  }
  if (found < version) {
    Statement set(db, has_row ? "UPDATE schema_version SET version = ?1"
                              : "INSERT INTO schema_version(version) VALUES (?1)");
    set.Bind(1, static_cast<int64_t>(version)).Run();
  }
  tx.Commit();
  return found;
}

bool TableExists(Database& db, const std::string& table) {
  Statement s(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", kReused);
  s.Bind(1, table);
  return s.Step();
}

void MigrateComponent(Database& db, const std::string& name, const std::vector<std::string>& migrations) {
  db.Exec("CREATE TABLE IF NOT EXISTS component_schema(name TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID");
  auto read = [&] {
    Statement get(db, "SELECT version FROM component_schema WHERE name = ?1");
    get.Bind(1, name);
    return get.Step() ? get.Int(0) : int64_t{0};
  };
  const auto latest = static_cast<int64_t>(migrations.size());
  if (read() == latest) return;  // the usual case, without a write lock
  Transaction tx(db);
  const int64_t found = read();  // again under the lock: another process may have done it
  if (found > latest) {
    throw std::runtime_error("database " + db.path() + " has " + name + " tables of version " + std::to_string(found) +
                             ", newer than this build knows (" + std::to_string(latest) + "); upgrade Argus");
  }
  for (int64_t v = found; v < latest; ++v) {
    spdlog::info("store {}: {} tables {} -> {}", db.path(), name, v, v + 1);
    db.Exec(migrations[static_cast<size_t>(v)]);
  }
  Statement set(db, "INSERT INTO component_schema(name, version) VALUES (?1, ?2) "
                    "ON CONFLICT(name) DO UPDATE SET version = excluded.version");
  set.Bind(1, name).Bind(2, latest).Run();
  tx.Commit();
}

}  // namespace argus::store
