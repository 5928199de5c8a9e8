#include "store/retention.h"

namespace argus::store {
namespace {

constexpr int64_t kDayMs = 24 * 3600 * 1000;

}  // namespace

RetentionResult RunRetention(Database& db, const RetentionOptions& options, int64_t now_ms) {
  RetentionResult r;
  const int64_t raw_cutoff = now_ms - options.raw_days * kDayMs;
  // Raw events past their days, a slice per transaction.
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

  r.done = r.steps < options.max_steps;
  return r;
}

}  // namespace argus::store
