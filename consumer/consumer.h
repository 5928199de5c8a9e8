// Moves events from a type's Redis streams into the SQLite store: read through the
// consumer group, write one transaction per round, XACK only after COMMIT. A crash
// anywhere leaves entries pending, and they are read again first on restart; the
// store ignores ids it already has, so nothing is stored twice.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/status.h"
#include "consumer/aggregator.h"
#include "http/metrics.h"
#include "queue/redis.h"
#include "queue/streams.h"
#include "store/database.h"
#include "store/retention.h"
#include "store/writer.h"

namespace argus::consumer {

struct ConsumerOptions {
  std::string type = "all";  // a type, or "all" to follow every type in argus:types
  queue::RedisOptions redis;
  std::string db_path;
  std::string name;          // consumer name in the group; stable across restarts
  int shards = 4;
  size_t batch = 500;        // entries read per shard per round
  std::chrono::milliseconds idle_poll{100};
  std::chrono::milliseconds types_refresh{2000};
  std::vector<std::string> aggregators = {"generic"};  // for types without their own list
  // type -> names; the built-in types have their aggregators, which a config can replace.
  std::map<std::string, std::vector<std::string>> aggregators_by_type = {
      {"argus.agent", {"generic", "hosts"}}, {"system", {"generic", "system"}}, {"packet", {"generic", "packet"}}};
  nlohmann::json settings = nlohmann::json::object();  // aggregator name -> its settings object
  // Aggregators' Tick() runs this often, in rounds that found the streams drained.
  std::chrono::milliseconds tick_every{5000};
  // Entries pending longer than this in another consumer are taken over.
  std::chrono::milliseconds claim_idle{60000};
  std::chrono::milliseconds claim_every{5000};
  // An entry that fails this many times on its own goes to the dead-letter stream.
  int max_attempts = 5;
  // Counters go to the hash argus:consumer:<name> this often (expiring after 6 periods).
  std::chrono::milliseconds publish_every{5000};
  // Retention and downsampling of the store, between rounds.
  store::RetentionOptions retention;
  std::chrono::milliseconds housekeeping_every{60000};
};

struct ConsumerStats {
  uint64_t read = 0, stored = 0, duplicates = 0, invalid = 0, rounds = 0, errors = 0;
  uint64_t claimed = 0, dead_lettered = 0, trimmed = 0;
  uint64_t derived = 0;  // events the aggregators derived (argus.host changes)
  uint64_t events_expired = 0, aggregate_rows_expired = 0;  // aggregate: rows folded or removed
  double last_batch_seconds = 0;  // time to store the last batch
  int64_t lag = 0;                // events of its types not yet stored, at the last publish
};

// Reads the consumer's JSON config file into `options`; an error names the key.
base::Status LoadConsumerConfig(const std::string& path, ConsumerOptions* options);

class Consumer {
 public:
  // Every decision by time (ticks, housekeeping, retention, publishing) uses `clock`.
  explicit Consumer(ConsumerOptions options, const base::Clock& clock = base::SystemClock());
  // One round: refresh types if due, read every shard, store, acknowledge. Returns the
  // number of entries handled; throws nothing (errors are logged and counted, and
  // entries stay pending to be read again).
  size_t RunOnce();
  // Rounds until `stop` turns true, sleeping when idle and backing off on errors.
  void Run(const std::atomic<bool>& stop);
  const ConsumerStats& stats() const { return stats_; }
  // Prometheus view of the stats, refreshed at every publish; safe to render from
  // another thread.
  http::Metrics& metrics() { return metrics_; }
  // False while rounds fail (Redis or the database away). Safe from any thread.
  bool healthy() const { return consecutive_errors_.load() == 0; }

 private:
  using Source = std::pair<std::string, const queue::Entry*>;  // type, entry
  struct Dead {
    std::string type;
    const queue::Entry* entry;
    std::string error;
  };
  void Isolate(const std::vector<proto::Event>& events, const std::vector<Source>& sources,
               std::vector<bool>* stored, std::vector<Dead>* dead);
  void Failed(const Source& source, const std::string& error, std::vector<bool>* stored, size_t i,
              std::vector<Dead>* dead);
  void RefreshTypes();
  // Every publish_every: counters to Redis and to metrics().
  void Publish();
  // Every housekeeping_every: retention and downsampling; never fails a round.
  void Housekeeping();
  // Every tick_every, when `drained`: the aggregators' Tick(); never fails a round.
  void Tick(bool drained);
  // Every claim_every: takes over idle entries of gone consumers, trims acknowledged ones.
  void ClaimIdle();
  // Stores events and runs the aggregators in one transaction; throws on failure.
  void Store(const std::vector<proto::Event>& events);

  ConsumerOptions options_;
  const base::Clock& clock_;
  queue::Redis redis_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<store::EventWriter> writer_;
  // The aggregators for a type's events: its own list, else the default one.
  const std::vector<std::string>& AggregatorsFor(const std::string& type) const;
  std::map<std::string, std::unique_ptr<Aggregator>> aggregators_;  // by name, one instance each
  std::map<std::string, queue::GroupReader> readers_;
  base::Clock::SteadyTime next_refresh_{}, next_claim_{}, next_publish_{}, next_housekeeping_{}, next_tick_{};
  http::Metrics metrics_;
  std::map<std::string, int> failures_;  // "<stream> <id>" -> times it failed on its own
  ConsumerStats stats_;
  std::atomic<int> consecutive_errors_{0};
};

}  // namespace argus::consumer
