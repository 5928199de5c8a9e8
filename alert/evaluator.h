// The evaluate role of argus-alert: on each rule's interval, judges every (rule, host)
// pair this evaluator owns on the ring, writes state changes with their history and
// notifications in one store transaction (the outbox), and moves the outbox to the
// Redis notification stream exactly once per key.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "alert/notice.h"
#include "alert/ring.h"
#include "alert/route.h"
#include "alert/rules.h"
#include "alert/state.h"
#include "base/clock.h"
#include "base/status.h"
#include "http/metrics.h"
#include "queue/redis.h"
#include "store/alerts.h"
#include "store/database.h"

namespace argus::alert {

// The key that makes appending a notification to the stream idempotent.
std::string SentKey(std::string_view notification_key);

struct EvaluatorOptions {
  std::string db_path;
  queue::RedisOptions redis;
  std::string name;        // this evaluator on the ring; stable across restarts
  std::string rules_path;  // optional rules file, loaded at start and on Reload()
  int shards = 4;          // streams per type, as the proxy writes them
  int64_t tick_ms = 1000;  // how often rounds look for due rules
  int64_t heartbeat_ttl_ms = 5000;  // a member silent this long is off the ring
  // A type whose consumer has stored less than this far (arrival time) is judged
  // insufficient_data: no rule of it fires or resolves on what is not stored yet.
  int64_t max_lag_ms = 30000;
  // Event rules look back this far at start for events that arrived while no
  // evaluator ran.
  int64_t event_lookback_ms = 10 * 60 * 1000;
  int64_t sent_key_ttl_s = 7 * 24 * 3600;  // how long a notification key is remembered in Redis
};

struct EvaluatorStats {
  uint64_t rounds = 0, evaluations = 0, transitions = 0, notifications = 0, published = 0;
  uint64_t flaps = 0;      // times a pair started flapping
  uint64_t conflicts = 0;  // writes skipped: another evaluator had moved the pair
  uint64_t errors = 0;
};

class Evaluator {
 public:
  Evaluator(EvaluatorOptions options, const base::Clock& clock = base::SystemClock());
  ~Evaluator();
  // Reads the rules file (when there is one) into the store as read-only rules and
  // drops the file rules it no longer has. A bad file changes nothing.
  base::Status Reload();
  // One round: heartbeat, evaluate the due rules' owned pairs, publish the outbox.
  // Errors are logged and counted; the next round tries again.
  void RunOnce();
  // Rounds until `stop`; when `reloads` changes (SIGHUP), the next round reloads first.
  void Run(const std::atomic<bool>& stop, const std::atomic<int>& reloads);
  // Leaves the ring (a clean stop) so the others take the pairs at once.
  void Leave();

  http::Metrics& metrics() { return metrics_; }
  bool healthy() const { return consecutive_errors_.load() == 0; }
  const EvaluatorStats& stats() const { return stats_; }
  const Ring& ring() const { return ring_; }

 private:
  struct Compiled {
    Rule rule;
    int64_t version = 0;
  };
  void LoadRules();
  // Evaluates one rule's owned pairs at `now`; appends the writes.
  void Evaluate(const Rule& rule, int64_t now, std::vector<store::StateWrite>* writes);
  // Up to which arrival time `type` is stored, or why it is not judged (lagging).
  std::optional<int64_t> StoredUntil(const std::string& type, int64_t now, std::string* why);
  void Publish();
  void UpdateMetrics();

  EvaluatorOptions options_;
  const base::Clock& clock_;
  queue::Redis redis_;
  std::unique_ptr<store::Database> db_;
  AlertConfig file_;  // the rules file's receivers and route (rules go to the store)
  std::map<std::string, Compiled> rules_;   // by name
  std::vector<std::string> rule_names_;     // as of the last load, for dropping deleted rules' states
  std::map<std::string, int64_t> next_due_;  // rule -> wall ms
  std::map<std::string, int64_t> event_cursor_;  // event rule -> events seen up to this seq
  std::map<std::string, std::pair<int64_t, std::optional<int64_t>>> watermarks_;  // type -> (read at, until), per round
  std::map<std::string, std::map<std::string, int64_t>> states_count_;  // rule -> state -> pairs
  Ring ring_;
  int64_t next_beat_ = 0;
  std::string script_sha_;
  http::Metrics metrics_;
  EvaluatorStats stats_;
  std::atomic<int> consecutive_errors_{0};
};

// The notification a step owes: labels, the rendered message, the stable key.
Notification MakeNotification(const Rule& rule, const std::string& host, const StepResult& step, Notice notice,
                              int64_t now);

}  // namespace argus::alert
