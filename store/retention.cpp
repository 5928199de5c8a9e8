#include "store/retention.h"

namespace argus::store {
namespace {

constexpr int64_t kDayMs = 24 * 3600 * 1000;
constexpr int64_t kHourMs = 3600 * 1000;

}  // namespace

RetentionResult RunRetention(Database& db, const RetentionOptions& options, int64_t now_ms) {
  RetentionResult r;
  const int64_t raw_cutoff = now_ms - options.raw_days * kDayMs;
  // Only whole hours are folded, so an hour's cells move together.
  const int64_t fold_cutoff = raw_cutoff - ((raw_cutoff % kHourMs) + kHourMs) % kHourMs;
  const int64_t hourly_cutoff = now_ms - options.hourly_days * kDayMs;

  // 1. Raw events past their days, a slice per transaction.
  Statement del_events(db,
                       "DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE recv_ts < ?1 LIMIT ?2)");
  while (r.steps < options.max_steps) {
    Transaction tx(db);
    del_events.Bind(1, raw_cutoff).Bind(2, options.rows_per_step).Run();
    int64_t n = db.Changes();
    tx.Commit();
    ++r.steps;
    r.events_deleted += n;
    if (n < options.rows_per_step) break;
  }

  // 2. One-minute cells of whole hours past the cutoff move into one-hour cells: the
  // insert and the delete share a transaction, so a cell is counted once.
  Statement oldest(db, "SELECT min(minute) FROM rollups_1m WHERE minute < ?1");
  Statement fold(db,
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
                 "last_ts = max(last_ts, excluded.last_ts)");
  Statement drop_minutes(db, "DELETE FROM rollups_1m WHERE minute >= ?1 AND minute < ?2");
  while (r.steps < options.max_steps) {
    oldest.Bind(1, fold_cutoff);
    bool has = oldest.Step() && !oldest.IsNull(0);
    int64_t minute = has ? oldest.Int(0) : 0;
    oldest.Reset();
    if (!has) break;
    int64_t hour = minute - ((minute % kHourMs) + kHourMs) % kHourMs;
    Transaction tx(db);
    fold.Bind(1, hour).Bind(2, hour + kHourMs).Run();
    drop_minutes.Bind(1, hour).Bind(2, hour + kHourMs).Run();
    r.minutes_folded += db.Changes();
    tx.Commit();
    ++r.steps;
  }

  // 3. One-hour cells past their days.
  if (r.steps < options.max_steps) {
    Transaction tx(db);
    Statement(db, "DELETE FROM rollups_1h WHERE hour < ?1").Bind(1, hourly_cutoff).Run();
    r.hours_deleted = db.Changes();
    tx.Commit();
    ++r.steps;
  }
  r.done = r.steps < options.max_steps;
  return r;
}

}  // namespace argus::store
