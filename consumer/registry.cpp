#include "consumer/aggregator.h"

namespace argus::consumer {

std::unique_ptr<Aggregator> MakeGenericAggregator(store::Database& db);
std::unique_ptr<Aggregator> MakeDemoAggregator(store::Database& db);

namespace {

std::map<std::string, AggregatorFactory>& MutableRegistry() {
  static std::map<std::string, AggregatorFactory> registry = {
      {"generic", MakeGenericAggregator},
      {"demo", MakeDemoAggregator},
  };
  return registry;
}

}  // namespace

const std::map<std::string, AggregatorFactory>& Registry() { return MutableRegistry(); }

void RegisterAggregator(std::string name, AggregatorFactory factory) {
  MutableRegistry()[std::move(name)] = std::move(factory);
}

}  // namespace argus::consumer
