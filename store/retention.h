// Keeps the raw events bounded: each is kept for `raw_days` after the proxy received it
// (its clock, not the agents': a host with a wrong clock must not lose fresh data).
// Every step is a small transaction, so writers waiting on the database wait at most
// one of them. Aggregators expire their own tables (Aggregator::Expire), with
// `raw_days` for raw detail and `hourly_days` for summaries.
#pragma once

#include <cstdint>

#include "store/database.h"

namespace argus::store {

struct RetentionOptions {
  int64_t raw_days = 7;
  int64_t hourly_days = 90;
  int64_t rows_per_step = 2000;  // events deleted per transaction
  int64_t max_steps = 200;       // per Run(); the rest waits for the next run
};

struct RetentionResult {
  int64_t events_deleted = 0, steps = 0;
  bool done = true;  // false when max_steps cut the run short
};

// Runs one housekeeping pass as of `now_ms`. Safe to run from several processes on one
// file: each step's work is idempotent. Throws StoreError.
RetentionResult RunRetention(Database& db, const RetentionOptions& options, int64_t now_ms);

}  // namespace argus::store
