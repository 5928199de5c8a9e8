// Reads of the system and packet aggregators' tables, shaped for the dash's host and
// packet pages. Each returns nothing (not an error) while its aggregator has not run.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "store/database.h"

namespace argus::store {

// The system metrics a host page charts, as the columns of system_samples.
const std::vector<std::string>& SystemMetrics();

struct SystemPoint {
  int64_t ts = 0;                                // bucket start
  std::vector<std::optional<double>> values;     // one per SystemMetrics(), null without samples
};

// The latest sample of a host, with its disks.
struct SystemSample {
  int64_t ts = 0;
  std::map<std::string, std::optional<double>> metrics;  // SystemMetrics() and the memory sizes
  struct Disk {
    std::string mount;
    std::optional<double> total_bytes, used_bytes, pct;
  };
  std::vector<Disk> disks;
};

enum class SystemAgg { kAvg, kMin, kMax };

struct PacketPoint {
  int64_t ts = 0;  // bucket start (minute of sending)
  int64_t sent = 0, expected = 0, received = 0, hops_sum = 0, delay_sum = 0, delay_max = 0;
};

struct PacketNetwork {
  std::string network;
  std::vector<PacketPoint> points;
};

struct PacketMessage {
  std::string msg, network, sender;
  std::optional<int64_t> sent_ts, first_recv_ts, last_recv_ts;
  int64_t expected = 0, receivers = 0, hops_sum = 0, max_hops = 0, seen = 0;
  struct Receipt {
    std::string host;
    int64_t ts = 0, hops = 0;
  };
  std::vector<Receipt> receipts;  // the first ones by arrival, at most the caller's cap
};

// Position after the last message of a page: messages first seen before (seen, msg).
struct MessageCursor {
  int64_t seen = 0;
  std::string msg;
};

class ViewReader {
 public:
  explicit ViewReader(Database& db) : db_(db) {}
  // Buckets of `step` over [since, until) for one host (or all hosts, combined by `agg`).
  std::vector<SystemPoint> System(const std::optional<std::string>& host, int64_t since, int64_t until,
                                  int64_t step, SystemAgg agg);
  std::optional<SystemSample> LatestSystem(const std::string& host);
  // Per network (one, or all in name order) and bucket of `step` (a multiple of a minute).
  std::vector<PacketNetwork> Packet(const std::optional<std::string>& network, int64_t since, int64_t until,
                                    int64_t step);
  // The most recently seen messages first, each with up to `max_receipts` receipts.
  std::vector<PacketMessage> Messages(const std::optional<std::string>& network,
                                      const std::optional<MessageCursor>& after, int64_t limit,
                                      int64_t max_receipts);

 private:
  Database& db_;
};

}  // namespace argus::store
