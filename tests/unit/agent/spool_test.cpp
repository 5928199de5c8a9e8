#include <doctest/doctest.h>

#include <filesystem>

#include "agent/spool.h"
#include "tests/support/support.h"

using namespace argus;

TEST_SUITE("agent::spool") {
  TEST_CASE("batches come back oldest first, also after a restart") {
    testing::TempDir dir;
    {
      agent::Spool s(dir / "spool", 1 << 20);
      CHECK(s.empty());
      CHECK_OK(s.Append("one", 1));
      CHECK_OK(s.Append("two", 2));
      CHECK(s.counters().spooled == 3);
    }
    testing::WriteFile(dir / "spool/junk.tmp", "half written");
    agent::Spool s(dir / "spool", 1 << 20);
    CHECK(s.counters().batches == 2);
    auto a = s.Front();
    REQUIRE(a);
    CHECK(a->gzipped == "one");
    CHECK(a->events == 1);
    s.Pop(*a);
    CHECK_OK(s.Append("three", 3));
    auto b = s.Front();
    REQUIRE(b);
    CHECK(b->gzipped == "two");
    s.Pop(*b);
    CHECK(s.Front()->gzipped == "three");
    CHECK(!std::filesystem::exists(dir / "spool/junk.tmp"));
    CHECK(s.counters().replayed == 3);
  }

  TEST_CASE("when full, the oldest batches are dropped and their events counted") {
    testing::TempDir dir;
    agent::Spool s(dir / "spool", 25);
    CHECK_OK(s.Append(std::string(10, 'a'), 5));
    CHECK_OK(s.Append(std::string(10, 'b'), 6));
    CHECK_OK(s.Append(std::string(10, 'c'), 7));  // 30 > 25: "a" goes
    CHECK(s.counters().dropped == 5);
    CHECK(s.counters().bytes == 20);
    CHECK(s.Front()->gzipped == std::string(10, 'b'));
    // Larger than the whole spool: refused, counted.
    {
      base::Status big = s.Append(std::string(100, 'x'), 9);
      CHECK(big.code() == base::Status::Code::kTooLarge);
      CHECK(big.message().find("does not fit") != std::string::npos);
    }
    CHECK(s.counters().dropped == 14);
  }
}
