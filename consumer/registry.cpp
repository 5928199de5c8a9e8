#include "consumer/aggregator.h"

namespace argus::consumer {

std::unique_ptr<Aggregator> MakeGenericAggregator(store::Database& db);

const std::map<std::string, AggregatorFactory>& Registry() {
  static const std::map<std::string, AggregatorFactory> kRegistry = {
      {"generic", MakeGenericAggregator},
  };
  return kRegistry;
}

}  // namespace argus::consumer
