// Sends batches from the outbox to the proxies: keep-alive HTTP, gzip bodies, failover
// across the proxy list, exponential backoff with full jitter, Retry-After honoured.
// When no proxy has taken data for `spool_after`, batches go to the disk spool
// instead, and new batches follow them there so order is kept; the spool is replayed,
// oldest first, as soon as a proxy answers again. A batch counts as safe (and the
// checkpoints of the lines it carried may advance) once a proxy took it or it is in
// the spool. Only a refusal that no retry can fix drops a batch, and that is counted.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "agent/checkpoints.h"
#include "agent/outbox.h"
#include "agent/spool.h"
#include "base/clock.h"
#include "http/client.h"
#include "http/endpoint.h"

namespace argus::agent {

struct ShipperOptions {
  std::vector<http::Endpoint> proxies;
  std::string token;
  http::TlsClientOptions tls;  // for https:// proxies
  size_t max_events = 500;
  size_t max_bytes = 1024 * 1024;
  std::chrono::milliseconds max_delay{1000};
  std::chrono::milliseconds request_timeout{10000};
  std::chrono::milliseconds min_backoff{200}, max_backoff{30000};
  // The wait after a refusal that only an operator can fix (a wrong token, a proxy's
  // 404 or 413): the batch is kept, and tried again this much later.
  std::chrono::milliseconds setup_retry{30000};
  std::chrono::milliseconds spool_after{5000};   // how long an outage is bridged in memory
  std::chrono::milliseconds flush_timeout{5000};  // on shutdown, then the rest is spooled
  size_t gzip_min_bytes = 1024;                   // smaller bodies go uncompressed
  uint64_t spool_max_bytes = 256ull * 1024 * 1024;
};

struct ShipperCounters {
  std::atomic<uint64_t> batches{0}, sent{0}, retries{0}, rejected{0}, dropped{0};
  // Batches a proxy refused with a status no retry should need (404, 413, …): kept and
  // retried, since the fault is the proxy's setup, not the data.
  std::atomic<uint64_t> refused{0};
};

class Shipper {
 public:
  // The spool lives in `spool_dir`; backoff, the outage before spooling and checkpoint
  // saving are measured on `clock`.
  Shipper(ShipperOptions options, Outbox& outbox, Checkpoints& checkpoints, const std::string& spool_dir,
          const base::Clock& clock = base::SystemClock());
  // Ships until `stop`; then sends what is queued for at most flush_timeout and
  // spools whatever is left, so nothing queued is lost by a clean stop.
  void Run(const std::atomic<bool>& stop);
  const ShipperCounters& counters() const { return counters_; }
  const SpoolCounters& spool_counters() const { return spool_.counters(); }

 private:
  // kSplit: the proxy refused the batch as malformed (400); its events go one by one.
  enum class Outcome { kDone, kRetry, kDrop, kSplit };
  struct Batch {
    std::string body;  // gzip-compressed when `gzipped`
    bool gzipped = false;
    size_t events = 0;
    std::vector<uint64_t> seqs;  // outbox seqs, empty for a batch from the spool
  };
  Batch Build(std::vector<Item> items) const;
  Outcome Send(const Batch& batch, std::chrono::milliseconds* retry_after);
  // Send, and after a 400 for the whole batch its events one at a time: only an event
  // refused on its own (400) is dropped (counted as rejected). Never kSplit.
  Outcome SendAll(const Batch& batch, std::chrono::milliseconds* retry_after);
  // Sending failed: wait before the next try (failing over first).
  void Failed(std::chrono::milliseconds retry_after);
  void Succeeded();
  bool ToSpool(Batch& batch);
  void Settle(const Batch& batch);
  void SaveCheckpoints(bool now);

  ShipperOptions options_;
  Outbox& outbox_;
  Checkpoints& checkpoints_;
  Spool spool_;
  std::vector<std::unique_ptr<http::Client>> clients_;
  size_t current_ = 0;
  size_t failures_in_row_ = 0;
  const base::Clock& clock_;
  std::optional<base::Clock::SteadyTime> down_since_;
  base::Clock::SteadyTime next_attempt_{}, last_save_{};
  std::chrono::milliseconds backoff_;
  std::mt19937_64 rng_{std::random_device{}()};
  ShipperCounters counters_;
};

}  // namespace argus::agent
