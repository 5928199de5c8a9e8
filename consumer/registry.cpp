#include "consumer/aggregator.h"

namespace argus::consumer {

std::unique_ptr<Aggregator> MakeGenericAggregator(const AggregatorContext& context);
std::unique_ptr<Aggregator> MakeDemoAggregator(const AggregatorContext& context);
std::unique_ptr<Aggregator> MakeHostsAggregator(const AggregatorContext& context);
std::unique_ptr<Aggregator> MakeSystemAggregator(const AggregatorContext& context);
std::unique_ptr<Aggregator> MakePacketAggregator(const AggregatorContext& context);

namespace {

std::map<std::string, AggregatorFactory>& MutableRegistry() {
  static std::map<std::string, AggregatorFactory> registry = {
      {"generic", MakeGenericAggregator},
      {"demo", MakeDemoAggregator},
      {"hosts", MakeHostsAggregator},
      {"system", MakeSystemAggregator},
      {"packet", MakePacketAggregator},
  };
  return registry;
}

}  // namespace

const std::map<std::string, AggregatorFactory>& Registry() { return MutableRegistry(); }

void RegisterAggregator(std::string name, AggregatorFactory factory) {
  MutableRegistry()[std::move(name)] = std::move(factory);
}

}  // namespace argus::consumer
