// Samples the host (TOP-Argus' system_cron): cpu %, memory, load, network bytes and
// packets per second, and disk usage per mount, from /proc and statvfs. The content
// shape is the one the consumer's `system` aggregator reads (docs/aggregators.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace argus::agent {

class SystemSampler {
 public:
  // `proc` is where procfs is mounted; tests point it at a fake tree.
  explicit SystemSampler(std::string proc = "/proc");
  // Takes the counters now. Rates (cpu, network) are over the time since the previous
  // call, so the first call only sets the baseline and returns nullopt.
  std::optional<nlohmann::json> Sample(int interval_s);

 private:
  struct Counters {
    uint64_t cpu_total = 0, cpu_idle = 0;
    uint64_t rx_bytes = 0, tx_bytes = 0, rx_packets = 0, tx_packets = 0;
    std::chrono::steady_clock::time_point at;
  };
  Counters Read(int* cores) const;

  std::string proc_;
  std::optional<Counters> last_;
};

}  // namespace argus::agent
