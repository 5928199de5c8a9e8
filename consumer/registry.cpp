#include "consumer/aggregator.h"

#include <stdexcept>

#include "store/schema.h"

namespace argus::consumer {

AggregatorSpec GenericAggregatorSpec();
AggregatorSpec HostsAggregatorSpec();
AggregatorSpec SystemAggregatorSpec();
AggregatorSpec PacketAggregatorSpec();

namespace {

std::map<std::string, AggregatorSpec>& MutableRegistry() {
  static std::map<std::string, AggregatorSpec> registry = {
      {"generic", GenericAggregatorSpec()},
      {"hosts", HostsAggregatorSpec()},
      {"system", SystemAggregatorSpec()},
      {"packet", PacketAggregatorSpec()},
  };
  return registry;
}

}  // namespace

const std::map<std::string, AggregatorSpec>& Registry() { return MutableRegistry(); }

void RegisterAggregator(std::string name, AggregatorSpec spec) { MutableRegistry()[std::move(name)] = std::move(spec); }

std::unique_ptr<Aggregator> BuildAggregator(const std::string& name, const AggregatorContext& context) {
  auto it = Registry().find(name);
  if (it == Registry().end()) {
    std::string known;
    for (const auto& [n, spec] : Registry()) known += (known.empty() ? "" : ", ") + n;
    throw std::runtime_error("unknown aggregator '" + name + "' (known: " + known + ")");
  }
  store::MigrateComponent(context.db, "aggregator." + name, it->second.migrations);
  try {
    return it->second.make(context);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error("aggregator '" + name + "': " + e.what());
  }
}

}  // namespace argus::consumer
