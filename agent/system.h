// Samples the host (TOP-Argus' system_cron): cpu %, memory, load, network bytes and
// packets per second, and disk usage per mount, from /proc and statvfs. The content
// shape is the one the consumer's `system` aggregator reads (docs/aggregators.md).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/clock.h"

namespace argus::agent {

// Runs a disk read on a detached thread and waits for it a bounded time. While a read
// still hangs, no second one is started.
class DiskProbe {
 public:
  explicit DiskProbe(std::function<nlohmann::json()> read);
  // The read's result, or nullopt when it took longer than `timeout` (or still hangs).
  std::optional<nlohmann::json> Read(std::chrono::milliseconds timeout);

 private:
  struct State {
    std::mutex mu;
    std::condition_variable done;
    bool busy = false;
    std::optional<nlohmann::json> result;
  };
  std::function<nlohmann::json()> read_;
  std::shared_ptr<State> state_;  // shared with a read that may outlive us
};

class SystemSampler {
 public:
  // `proc` is where procfs is mounted; tests point it at a fake tree, and may replace
  // the disk read (statvfs of every real mount) with their own.
  // Rates are per second of `clock`.
  explicit SystemSampler(std::string proc = "/proc", std::function<nlohmann::json()> read_disks = nullptr,
                         std::chrono::milliseconds disk_timeout = std::chrono::seconds(5),
                         const base::Clock& clock = base::SystemClock());
  // Takes the counters now. Rates (cpu, network) are over the time since the previous
  // call, so the first call only sets the baseline and returns nullopt. Without "disk"
  // when the disks did not answer within the disk timeout.
  std::optional<nlohmann::json> Sample(int interval_s);
  uint64_t disk_timeouts() const { return disk_timeouts_; }

 private:
  struct Counters {
    uint64_t cpu_total = 0, cpu_idle = 0;
    uint64_t rx_bytes = 0, tx_bytes = 0, rx_packets = 0, tx_packets = 0;
    base::Clock::SteadyTime at;
  };
  Counters Read(int* cores) const;

  std::string proc_;
  const base::Clock& clock_;
  std::optional<Counters> last_;
  DiskProbe disks_;
  std::chrono::milliseconds disk_timeout_;
  uint64_t disk_timeouts_ = 0;
};

}  // namespace argus::agent
