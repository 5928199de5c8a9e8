// `generic`: one-minute rollups (count, sum, min, max, last) of every numeric field of
// every event's content, per (type, field, host), so a new script's numbers are
// chartable with no code change. As they age past the raw days, the minutes of whole
// hours fold into one-hour rollups, which are kept for the summary days. `rollup_fields`
// lists each (type, field) with its first and last sample, for the dash's field lists.
#include "consumer/aggregator.h"
#include "consumer/settings.h"
#include "store/series.h"

#include <algorithm>
#include <map>
#include <tuple>

namespace argus::consumer {
namespace {

constexpr int64_t kHourMs = 3600 * 1000;


class GenericAggregator : public Aggregator {
 public:
  explicit GenericAggregator(store::Database& db)
      : db_(db),
        oldest_minute_(db, "SELECT min(minute) FROM rollups_1m WHERE minute < ?1"),
        fold_(db,
              "INSERT INTO rollups_1h(type, field, host, hour, count, sum, min, max, last, last_ts) "
              "SELECT type, field, host, ?1, sum(count), sum(sum), min(min), max(max), "
              "  (SELECT m2.last FROM rollups_1m m2 WHERE m2.type = m.type AND m2.field = m.field "
              "     AND m2.host = m.host AND m2.minute >= ?1 AND m2.minute < ?2 "
              "     ORDER BY m2.last_ts DESC LIMIT 1), "
              "  max(last_ts) "
              "FROM rollups_1m m WHERE minute >= ?1 AND minute < ?2 GROUP BY type, field, host "
              "ON CONFLICT(type, field, host, hour) DO UPDATE SET count = count + excluded.count, "
              "sum = sum + excluded.sum, min = min(min, excluded.min), max = max(max, excluded.max), "
              "last = CASE WHEN excluded.last_ts >= last_ts THEN excluded.last ELSE last END, "
              "last_ts = max(last_ts, excluded.last_ts)"),
        drop_minutes_(db, "DELETE FROM rollups_1m WHERE minute >= ?1 AND minute < ?2"),
        drop_hours_(db, "DELETE FROM rollups_1h WHERE hour < ?1"),
        drop_fields_(db, "DELETE FROM rollup_fields WHERE last_seen < ?1"),
        field_(db,
               "INSERT INTO rollup_fields(type, field, first_seen, last_seen) VALUES (?1, ?2, ?3, ?4) "
               "ON CONFLICT(type, field) DO UPDATE SET first_seen = min(first_seen, ?3), "
               "last_seen = max(last_seen, ?4)"),
        upsert_(db,
                "INSERT INTO rollups_1m(type, field, host, minute, count, sum, min, max, last, last_ts) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
                "ON CONFLICT(type, field, host, minute) DO UPDATE SET count = count + ?5, sum = sum + ?6, "
                "min = min(min, ?7), max = max(max, ?8), "
                "last = CASE WHEN ?10 >= last_ts THEN ?9 ELSE last END, last_ts = max(last_ts, ?10)") {}

  void Apply(const std::vector<const proto::Event*>& fresh) override {
    // Summed per cell in memory first: a batch touches each cell once, not per event.
    std::map<std::tuple<std::string_view, std::string, std::string_view, int64_t>, store::Rollup> cells;
    for (const proto::Event* e : fresh) {
      const int64_t ts = e->ts.value_or(e->recv_ts.value_or(0));
      const int64_t minute = ts - ts % 60000;
      proto::ForEachNumber(e->content, proto::kMaxNumberFields, [&](const std::string& field, double value) {
        cells[{e->type, field, e->host, minute}].Add(value, ts);
      });
    }
    std::map<std::pair<std::string_view, std::string_view>, std::pair<int64_t, int64_t>> fields;
    for (const auto& [key, c] : cells) {
      const auto& [type, field, host, minute] = key;
      upsert_.Bind(1, type).Bind(2, field).Bind(3, host).Bind(4, minute).Bind(5, c.count);
      upsert_.Bind(6, c.sum).Bind(7, c.min).Bind(8, c.max).Bind(9, c.last).Bind(10, c.last_ts);
      upsert_.Run();
      auto it = fields.try_emplace({type, field}, minute, c.last_ts).first;
      it->second = {std::min(it->second.first, minute), std::max(it->second.second, c.last_ts)};
    }
    for (const auto& [key, seen] : fields) {
      field_.Bind(1, key.first).Bind(2, key.second).Bind(3, seen.first).Bind(4, seen.second).Run();
    }
  }

  // One step per call (the consumer calls again while a step changed rows, each in a
  // transaction of its own): the oldest whole hour of minutes past the raw days folds
  // into its hour cell, the insert and the delete together, so a minute is counted
  // once; with none left, hour cells past the summary days go.
  int64_t Expire(int64_t raw_cutoff_ms, int64_t summary_cutoff_ms) override {
    const int64_t fold_cutoff = raw_cutoff_ms - ((raw_cutoff_ms % kHourMs) + kHourMs) % kHourMs;
    oldest_minute_.Bind(1, fold_cutoff);
    const bool has = oldest_minute_.Step() && !oldest_minute_.IsNull(0);
    const int64_t minute = has ? oldest_minute_.Int(0) : 0;
    oldest_minute_.Reset();
    if (has) {
      const int64_t hour = minute - ((minute % kHourMs) + kHourMs) % kHourMs;
      fold_.Bind(1, hour).Bind(2, hour + kHourMs).Run();
      drop_minutes_.Bind(1, hour).Bind(2, hour + kHourMs).Run();
      return db_.Changes();
    }
    drop_hours_.Bind(1, summary_cutoff_ms).Run();
    const int64_t dropped = db_.Changes();
    drop_fields_.Bind(1, summary_cutoff_ms).Run();
    return dropped + db_.Changes();
  }

 private:
  store::Database& db_;
  store::Statement oldest_minute_, fold_, drop_minutes_, drop_hours_, drop_fields_, field_, upsert_;
};

}  // namespace

AggregatorSpec GenericAggregatorSpec() {
  AggregatorSpec spec;
  spec.make = [](const AggregatorContext& context) -> std::unique_ptr<Aggregator> {
    Settings("generic", context.settings, {});  // takes none; refuses any
    return std::make_unique<GenericAggregator>(context.db);
  };
  spec.migrations = {
      // 1: the tables a store of schema 2 and 3 made (IF NOT EXISTS: such files have them).
      R"sql(
        CREATE TABLE IF NOT EXISTS rollups_1m(
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
        CREATE INDEX IF NOT EXISTS rollups_1m_minute ON rollups_1m(minute);
        CREATE TABLE IF NOT EXISTS rollups_1h(
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
        CREATE INDEX IF NOT EXISTS rollups_1h_hour ON rollups_1h(hour);
      )sql",
      // 2: the fields of each type, with the first minute and the last sample seen,
      // filled from the rollups a store already has.
      R"sql(
        CREATE TABLE rollup_fields(
          type       TEXT NOT NULL,
          field      TEXT NOT NULL,
          first_seen INTEGER NOT NULL,
          last_seen  INTEGER NOT NULL,
          PRIMARY KEY (type, field)) WITHOUT ROWID;
        INSERT INTO rollup_fields(type, field, first_seen, last_seen)
          SELECT type, field, min(first_seen), max(last_seen) FROM (
            SELECT type, field, min(minute) AS first_seen, max(last_ts) AS last_seen FROM rollups_1m GROUP BY type, field
            UNION ALL
            SELECT type, field, min(hour), max(last_ts) FROM rollups_1h GROUP BY type, field)
          GROUP BY type, field;
      )sql",
  };
  return spec;
}

}  // namespace argus::consumer
