#include "base/clock.h"

#include <algorithm>
#include <stdexcept>
#include <thread>

namespace argus::base {

int64_t Clock::WallMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Wall().time_since_epoch()).count();
}

namespace {

class RealClock final : public Clock {
 public:
  WallTime Wall() const override { return std::chrono::system_clock::now(); }
  SteadyTime Steady() const override { return std::chrono::steady_clock::now(); }
};

}  // namespace

const Clock& SystemClock() {
  static const RealClock clock;
  return clock;
}

void SleepFor(const Clock& clock, std::chrono::steady_clock::duration d, const std::function<bool()>& stop,
              std::chrono::milliseconds nap) {
  const auto until = clock.Steady() + d;
  for (auto now = clock.Steady(); !stop() && now < until; now = clock.Steady()) {
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(until - now, nap));
  }
}

ManualClock::ManualClock(int64_t wall_ms)
    : wall_(std::chrono::milliseconds(wall_ms)), steady_(std::chrono::hours(1)) {}

Clock::WallTime ManualClock::Wall() const {
  std::lock_guard lock(mu_);
  return wall_;
}

Clock::SteadyTime ManualClock::Steady() const {
  std::lock_guard lock(mu_);
  return steady_;
}

void ManualClock::Advance(std::chrono::milliseconds d) {
  if (d.count() < 0) throw std::invalid_argument("ManualClock::Advance: time does not go back");
  std::lock_guard lock(mu_);
  wall_ += d;
  steady_ += d;
}

void ManualClock::SetWallMs(int64_t wall_ms) {
  std::lock_guard lock(mu_);
  wall_ = WallTime(std::chrono::milliseconds(wall_ms));
}

}  // namespace argus::base
