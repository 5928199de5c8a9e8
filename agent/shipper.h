// Sends batches from the outbox to the proxies and, once a proxy has acknowledged a
// batch, advances the checkpoints of the lines it carried. A batch is retried (with
// backoff and jitter, honouring Retry-After, failing over between proxies) until a
// proxy takes it; only a refusal that no retry can fix drops it, and that is counted.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "agent/checkpoints.h"
#include "agent/outbox.h"
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
  std::chrono::milliseconds flush_timeout{5000};  // on shutdown
};

struct ShipperCounters {
  std::atomic<uint64_t> batches{0}, sent{0}, retries{0}, rejected{0}, dropped{0};
};

class Shipper {
 public:
  Shipper(ShipperOptions options, Outbox& outbox, Checkpoints& checkpoints);
  // Ships until `stop`; then keeps shipping what is queued for at most flush_timeout.
  void Run(const std::atomic<bool>& stop);
  const ShipperCounters& counters() const { return counters_; }

 private:
  enum class Outcome { kDone, kRetry, kDrop };
  Outcome Send(const std::string& body, size_t events, std::chrono::milliseconds* retry_after);
  void Acknowledge(const std::vector<Item>& batch);

  ShipperOptions options_;
  Outbox& outbox_;
  Checkpoints& checkpoints_;
  std::vector<std::unique_ptr<http::Client>> clients_;
  size_t current_ = 0;
  std::mt19937_64 rng_{std::random_device{}()};
  ShipperCounters counters_;
};

}  // namespace argus::agent
