// Per-token token buckets counted in events: an agent may send `rate` events per
// second on average and `burst` at once. Over that, the proxy answers 429 with the
// seconds until the batch would fit, and the agent holds back.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace argus::proxy {

struct RateLimit {
  double events_per_s = 0;  // 0: unlimited
  double burst = 0;         // bucket size; at least events_per_s
};

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // Takes `n` events from `key`'s bucket. A batch larger than the bucket is let through
  // when the bucket is full and leaves it in debt, so no batch is refused forever.
  // Returns 0 when admitted, else the whole seconds to wait (at least 1).
  int64_t Admit(const std::string& key, const RateLimit& limit, double n, Clock::time_point now);

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point last{};
    bool fresh = true;
  };
  std::mutex mu_;  // guards buckets_
  std::map<std::string, Bucket> buckets_;
};

}  // namespace argus::proxy
