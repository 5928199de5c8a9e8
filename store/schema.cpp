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
      // 5: the hosts, system and packet aggregators (docs/aggregators.md).
      R"sql(
        CREATE TABLE host_status(
          host           TEXT PRIMARY KEY,
          state          TEXT NOT NULL,
          state_since    INTEGER NOT NULL,
          last_seen      INTEGER NOT NULL,
          timeout_ms     INTEGER NOT NULL,
          agent_version  TEXT NOT NULL,
          last_heartbeat INTEGER,
          heartbeat      TEXT) WITHOUT ROWID;
        CREATE INDEX host_status_state ON host_status(state, last_seen);
        CREATE TABLE system_samples(
          host             TEXT NOT NULL,
          ts               INTEGER NOT NULL,
          cpu_pct          REAL,
          mem_total_bytes  INTEGER,
          mem_used_bytes   INTEGER,
          mem_pct          REAL,
          load1            REAL,
          load5            REAL,
          load15           REAL,
          net_rx_bytes_s   REAL,
          net_tx_bytes_s   REAL,
          net_rx_packets_s REAL,
          net_tx_packets_s REAL,
          disk_max_pct     REAL,
          PRIMARY KEY (host, ts)) WITHOUT ROWID;
        CREATE INDEX system_samples_ts ON system_samples(ts);
        CREATE TABLE system_disks(
          host        TEXT NOT NULL,
          mount       TEXT NOT NULL,
          ts          INTEGER NOT NULL,
          total_bytes INTEGER,
          used_bytes  INTEGER,
          pct         REAL,
          PRIMARY KEY (host, mount, ts)) WITHOUT ROWID;
        CREATE INDEX system_disks_ts ON system_disks(ts);
        CREATE TABLE packet_messages(
          msg           TEXT PRIMARY KEY,
          network       TEXT NOT NULL,
          sender        TEXT,
          sent_ts       INTEGER,
          expected      INTEGER NOT NULL,
          receivers     INTEGER NOT NULL,
          first_recv_ts INTEGER,
          last_recv_ts  INTEGER,
          recv_ts_sum   INTEGER NOT NULL,
          hops_sum      INTEGER NOT NULL,
          max_hops      INTEGER NOT NULL,
          seen          INTEGER NOT NULL) WITHOUT ROWID;
        CREATE INDEX packet_messages_seen ON packet_messages(seen);
        CREATE INDEX packet_messages_network ON packet_messages(network, sent_ts);
        CREATE TABLE packet_receipts(
          msg  TEXT NOT NULL,
          host TEXT NOT NULL,
          ts   INTEGER NOT NULL,
          hops INTEGER NOT NULL,
          PRIMARY KEY (msg, host)) WITHOUT ROWID;
        CREATE TABLE packet_networks_1m(
          network   TEXT NOT NULL,
          minute    INTEGER NOT NULL,
          sent      INTEGER NOT NULL,
          expected  INTEGER NOT NULL,
          received  INTEGER NOT NULL,
          hops_sum  INTEGER NOT NULL,
          delay_sum INTEGER NOT NULL,
          delay_max INTEGER NOT NULL,
          PRIMARY KEY (network, minute)) WITHOUT ROWID;
        CREATE INDEX packet_networks_1m_minute ON packet_networks_1m(minute);
      )sql",
      // 6: events are unique per (host, id), not per id: a host can no longer take the
      // ids of another host's future events (a bound token only ever writes its own host).
      R"sql(
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
      )sql",
      // 7: events of one type on one host, newest first (the dash's type+host filter).
      R"sql(
        CREATE INDEX events_type_host_ts ON events(type, host, ts);
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
    db.Exec(Migrations()[static_cast<size_t>(v)]);
  }
  if (found < version) {
    Statement set(db, has_row ? "UPDATE schema_version SET version = ?1"
                              : "INSERT INTO schema_version(version) VALUES (?1)");
    set.Bind(1, static_cast<int64_t>(version)).Run();
  }
  tx.Commit();
  return found;
}

}  // namespace argus::store
