// The one source of time. Everything that decides by time (offline hosts, retention,
// cron slots, heartbeats, backoff, rate limits, polls) asks a Clock, so a test can
// hold time still and move it on with a ManualClock instead of sleeping.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>

namespace argus::base {

class Clock {
 public:
  using WallTime = std::chrono::system_clock::time_point;
  using SteadyTime = std::chrono::steady_clock::time_point;

  virtual ~Clock() = default;
  // Calendar time: what event times, ids and retention cut-offs are made of.
  virtual WallTime Wall() const = 0;
  // Monotonic time: what intervals, timeouts and backoffs are measured on.
  virtual SteadyTime Steady() const = 0;
  // Wall() in milliseconds since the Unix epoch.
  int64_t WallMs() const;
};

// The machine's clocks.
const Clock& SystemClock();

// Waits until `clock` has moved on by `d` or `stop()` turns true, napping in real time
// at most `nap` between looks: short enough to notice a stop (or a test moving a
// ManualClock), long enough that an idle loop costs nothing.
void SleepFor(const Clock& clock, std::chrono::steady_clock::duration d, const std::function<bool()>& stop,
              std::chrono::milliseconds nap);

// A clock that stands still until told to move; safe to read and move from any thread.
// Code waiting on it (e.g. "until Steady() passes a deadline") waits until a test
// advances it.
class ManualClock final : public Clock {
 public:
  // Starts at `wall_ms` (a fixed, recognisable date by default) and an arbitrary
  // steady origin.
  explicit ManualClock(int64_t wall_ms = 1'700'000'000'000);
  WallTime Wall() const override;
  SteadyTime Steady() const override;
  // Moves both clocks on by `d` (which must not be negative).
  void Advance(std::chrono::milliseconds d);
  // Sets the wall clock alone, as an NTP step would; the steady clock does not move.
  void SetWallMs(int64_t wall_ms);

 private:
  mutable std::mutex mu_;
  WallTime wall_;
  SteadyTime steady_;
};

}  // namespace argus::base
