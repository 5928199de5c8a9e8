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

#include "proto/event.h"
#include "store/database.h"

namespace argus::consumer {

class Aggregator {
 public:
  virtual ~Aggregator() = default;
  // Called with the events of one batch stored for the first time, inside the batch's
  // open transaction. Throwing rolls the whole batch back; it will be delivered again.
  virtual void Apply(const std::vector<const proto::Event*>& fresh) = 0;
};

// Builds an aggregator over `db` (which outlives it); may prepare statements.
using AggregatorFactory = std::function<std::unique_ptr<Aggregator>(store::Database& db)>;

// Every known aggregator by name: the built-in ones and any registered.
const std::map<std::string, AggregatorFactory>& Registry();
// Adds an aggregator (a plugin compiled in, or a test's). Call before consumers start;
// not thread-safe.
void RegisterAggregator(std::string name, AggregatorFactory factory);

}  // namespace argus::consumer
