// Aggregators turn stored events into tables the dash can query fast. A consumer runs
// the aggregators configured for an event's type inside the batch's transaction, and
// hands each only the events stored for the first time, so a redelivered event changes
// nothing. To add one: implement Aggregator in its own file and add it to Registry()
// (docs/aggregators.md walks through it).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "proto/event.h"
#include "store/database.h"

namespace argus::consumer {

class Aggregator {
 public:
  virtual ~Aggregator() = default;
  // Called with the events of one batch stored for the first time, inside the batch's
  // open transaction. Throwing rolls the whole batch back; it will be delivered again.
  virtual void Apply(const std::vector<const proto::Event*>& fresh) = 0;
  // Called every few seconds while the consumer is caught up with its streams (so the
  // aggregator's view is current), inside a transaction of its own: for conclusions
  // drawn from time passing, such as a host gone silent.
  virtual void Tick(int64_t /*now_ms*/) {}
  // Called at housekeeping, inside a transaction of its own: drop rows of raw detail
  // older than `raw_cutoff_ms` and of per-minute summaries older than
  // `summary_cutoff_ms`. Returns the rows removed.
  virtual int64_t Expire(int64_t /*raw_cutoff_ms*/, int64_t /*summary_cutoff_ms*/) { return 0; }
};

// What an aggregator is built with.
struct AggregatorContext {
  store::Database& db;              // outlives the aggregator; prepare statements on it
  const nlohmann::json& settings;   // its object under "settings" in the consumer config, or {}
  // Stores an event the aggregator derived (e.g. `argus.host`) in the open transaction:
  // a raw row like any other, ignored if its id is already stored.
  std::function<void(const proto::Event&)> emit;
  // The consumer's clock: "now" for every decision by time (Tick gets it too).
  const base::Clock& clock;
};

// Builds an aggregator; throws std::invalid_argument naming the setting that is wrong.
using AggregatorFactory = std::function<std::unique_ptr<Aggregator>(const AggregatorContext& context)>;

// An aggregator and the tables it owns.
struct AggregatorSpec {
  AggregatorFactory make;
  // Its schema as forward migrations (SQL), applied once per database before it is
  // built (store::MigrateComponent, under the aggregator's name). Append only. Use
  // CREATE ... IF NOT EXISTS where a table may predate its owner.
  std::vector<std::string> migrations;
};

// Every known aggregator by name: the built-in ones and any registered.
const std::map<std::string, AggregatorSpec>& Registry();
// Adds an aggregator (a plugin compiled in, or a test's). Call before consumers start;
// not thread-safe.
void RegisterAggregator(std::string name, AggregatorSpec spec);

// Builds aggregator `name` over `context.db`, its tables migrated first. Throws
// std::runtime_error naming an unknown aggregator (and the known ones) or a wrong
// setting.
std::unique_ptr<Aggregator> BuildAggregator(const std::string& name, const AggregatorContext& context);

}  // namespace argus::consumer
