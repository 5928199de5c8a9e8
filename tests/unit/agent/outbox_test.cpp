#include <doctest/doctest.h>

#include <thread>

#include <nlohmann/json.hpp>

#include "agent/outbox.h"
#include "tests/support/support.h"

using namespace argus;
using namespace std::chrono_literals;

namespace {

agent::Item Ev(const std::string& id, bool high = false) {
  proto::Event e;
  e.id = id;
  e.type = "t";
  if (high) e.priority = proto::Priority::kHigh;
  return agent::EventItem(e);
}

std::string IdOf(const agent::Item& item) { return nlohmann::json::parse(item.serialized)["id"]; }

std::vector<uint64_t> Seqs(const std::vector<agent::Item>& items) {
  std::vector<uint64_t> out;
  for (const auto& i : items) out.push_back(i.seq);
  return out;
}

agent::Item Marker(uint64_t offset) {
  agent::Item item;
  item.progress = agent::Progress{agent::Checkpoint{{}, {}, "f", offset}};
  return item;
}

}  // namespace

TEST_SUITE("agent::outbox") {
  TEST_CASE("batches by count, high priority first") {
    agent::Outbox box(100, 1 << 20);
    for (int i = 0; i < 4; ++i) REQUIRE(box.Push(Ev(std::to_string(i))));
    REQUIRE(box.Push(Ev("urgent", /*high=*/true)));
    auto b1 = box.PopBatch(3, 1 << 20, 10ms);
    REQUIRE(b1.size() == 3);
    CHECK(IdOf(b1[0]) == "urgent");
    CHECK(IdOf(b1[1]) == "0");
    auto b2 = box.PopBatch(3, 1 << 20, 10ms);
    REQUIRE(b2.size() == 2);
    CHECK(IdOf(b2[1]) == "3");
    CHECK(box.counters().queued == 5);
  }

  TEST_CASE("a marker is released only once every event pushed before it is safe, in any order") {
    agent::Outbox box(100, 1 << 20);
    REQUIRE(box.Push(Ev("a")));
    REQUIRE(box.Push(Ev("b")));
    REQUIRE(box.Push(Marker(42)));
    REQUIRE(box.Push(Ev("c", /*high=*/true)));  // after the marker, but popped first
    REQUIRE(box.Push(Marker(43)));
    CHECK(box.Done({}).empty());
    auto first = box.PopBatch(2, 1 << 20, 10ms);  // c, a
    REQUIRE(first.size() == 2);
    CHECK(IdOf(first[0]) == "c");
    CHECK(box.Done(Seqs(first)).empty());  // b still queued
    auto second = box.PopBatch(2, 1 << 20, 10ms);
    REQUIRE(second.size() == 1);
    auto safe = box.Done(Seqs(second));
    REQUIRE(safe.size() == 2);
    CHECK(safe[0].cp.offset == 42);
    CHECK(safe[1].cp.offset == 43);
  }

  TEST_CASE("a marker right after the same file's marker replaces it, events between keep both") {
    agent::Outbox box(100, 1 << 20);
    for (uint64_t off = 1; off <= 1000; ++off) box.Push(Marker(off));
    REQUIRE(box.Push(Ev("a")));
    box.Push(Marker(2000));
    auto batch = box.PopBatch(10, 1 << 20, 10ms);
    auto safe = box.Done(Seqs(batch));
    REQUIRE(safe.size() == 2);
    CHECK(safe[0].cp.offset == 1000);
    CHECK(safe[1].cp.offset == 2000);
  }

  TEST_CASE("markers with no events before them are safe at once") {
    agent::Outbox box(100, 1 << 20);
    box.Push(Marker(1));
    CHECK(box.PopBatch(10, 1 << 20, 10ms).empty());  // markers are not sent
    CHECK(box.Done({}).size() == 1);
  }

  TEST_CASE("batches by bytes: one oversized event still goes alone") {
    agent::Outbox box(100, 1 << 20);
    REQUIRE(box.Push(Ev(std::string(500, 'x'))));
    REQUIRE(box.Push(Ev("small")));
    CHECK(box.PopBatch(10, 100, 10ms).size() == 1);
    CHECK(box.PopBatch(10, 100, 10ms).size() == 1);
  }

  TEST_CASE("an empty outbox returns an empty batch instead of waiting forever") {
    agent::Outbox box(10, 1 << 20);
    CHECK(box.PopBatch(10, 1 << 20, 10ms).empty());
  }

  TEST_CASE("a full outbox makes producers wait (counted), Close releases them") {
    agent::Outbox box(2, 1 << 20);
    REQUIRE(box.Push(Ev("a")));
    REQUIRE(box.Push(Ev("b")));
    std::atomic<int> result{-1};
    std::thread producer([&] { result = box.Push(Ev("c")) ? 1 : 0; });
    // The producer counts itself as paused (under the lock) before it waits for room.
    REQUIRE(testing::WaitFor([&] { return box.counters().paused == 1; }, 20s));
    CHECK(result.load() == -1);  // still waiting for room
    auto b = box.PopBatch(1, 1 << 20, 10ms);
    CHECK(b.size() == 1);
    producer.join();
    CHECK(result.load() == 1);
    CHECK(box.counters().paused == 1);
    std::thread blocked([&] {
      box.Push(Ev("d"));
      result = box.Push(Ev("e")) ? 1 : 0;
    });
    REQUIRE(testing::WaitFor([&] { return box.counters().paused == 2; }, 20s));  // "e" waits
    box.Close();
    blocked.join();
    CHECK(result.load() == 0);
  }
}
