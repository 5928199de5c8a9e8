#include <doctest/doctest.h>

#include "proxy/rate_limiter.h"

using argus::proxy::RateLimit;
using argus::proxy::RateLimiter;
using namespace std::chrono_literals;

TEST_SUITE("proxy::rate_limiter") {
  TEST_CASE("a bucket admits its burst, then refills at its rate") {
    RateLimiter rl;
    RateLimit lim{100, 200};
    auto t0 = RateLimiter::Clock::time_point{} + 1000s;
    CHECK(rl.Admit("a", lim, 150, t0) == 0);
    CHECK(rl.Admit("a", lim, 50, t0) == 0);
    CHECK(rl.Admit("a", lim, 100, t0) == 1);        // empty: 1 s for 100 at 100/s
    CHECK(rl.Admit("a", lim, 100, t0 + 500ms) == 1); // half refilled: still short
    CHECK(rl.Admit("a", lim, 100, t0 + 1s) == 0);
    CHECK(rl.Admit("b", lim, 200, t0) == 0);         // buckets are per key
  }

  TEST_CASE("retry-after says how long until the batch fits") {
    RateLimiter rl;
    RateLimit lim{10, 10};
    auto t0 = RateLimiter::Clock::time_point{} + 5s;
    CHECK(rl.Admit("a", lim, 10, t0) == 0);
    CHECK(rl.Admit("a", lim, 10, t0) == 1);
    RateLimit slow{1, 30};
    CHECK(rl.Admit("s", slow, 30, t0) == 0);
    CHECK(rl.Admit("s", slow, 25, t0) == 25);
  }

  TEST_CASE("a batch larger than the bucket passes when the bucket is full, then waits off its debt") {
    RateLimiter rl;
    RateLimit lim{100, 100};
    auto t0 = RateLimiter::Clock::time_point{} + 5s;
    CHECK(rl.Admit("a", lim, 500, t0) == 0);
    CHECK(rl.Admit("a", lim, 1, t0 + 1s) > 0);  // 400 in debt, refilled 100
    CHECK(rl.Admit("a", lim, 500, t0 + 6s) == 0);
  }

  TEST_CASE("no limit admits everything") {
    RateLimiter rl;
    CHECK(rl.Admit("a", RateLimit{}, 1e9, RateLimiter::Clock::now()) == 0);
  }
}
