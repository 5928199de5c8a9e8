#include "proxy/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace argus::proxy {

int64_t RateLimiter::Admit(const std::string& key, const RateLimit& limit, double n, Clock::time_point now) {
  if (limit.events_per_s <= 0) return 0;
  const double burst = std::max(limit.burst, limit.events_per_s);
  std::lock_guard lock(mu_);
  Bucket& b = buckets_[key];
  if (b.fresh) {
    b.tokens = burst;
    b.fresh = false;
  } else {
    double elapsed = std::chrono::duration<double>(now - b.last).count();
    b.tokens = std::min(burst, b.tokens + std::max(0.0, elapsed) * limit.events_per_s);
  }
  b.last = now;
  const double need = std::min(n, burst);
  if (b.tokens >= need) {
    b.tokens -= n;
    return 0;
  }
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil((need - b.tokens) / limit.events_per_s)));
}

}  // namespace argus::proxy
