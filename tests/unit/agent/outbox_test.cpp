#include <doctest/doctest.h>

#include <thread>

#include "agent/outbox.h"

using namespace argus;
using namespace std::chrono_literals;

namespace {

agent::Item Ev(const std::string& id) {
  agent::Item item;
  proto::Event e;
  e.id = id;
  e.type = "t";
  item.serialized = proto::Serialize(e);
  item.event = std::move(e);
  return item;
}

agent::Item Marker(uint64_t offset) {
  agent::Item item;
  item.progress = agent::Progress{agent::Checkpoint{{}, {}, "f", offset}};
  return item;
}

}  // namespace

TEST_SUITE("agent::outbox") {
  TEST_CASE("batches by count and keeps markers in order") {
    agent::Outbox box(100, 1 << 20);
    for (int i = 0; i < 5; ++i) REQUIRE(box.Push(Ev(std::to_string(i))));
    REQUIRE(box.Push(Marker(42)));
    auto b1 = box.PopBatch(3, 1 << 20, 10ms);
    REQUIRE(b1.size() == 3);
    CHECK(b1[0].event->id == "0");
    auto b2 = box.PopBatch(3, 1 << 20, 10ms);
    REQUIRE(b2.size() == 3);
    CHECK(b2[1].event->id == "4");
    CHECK(b2[2].progress->cp.offset == 42);
  }

  TEST_CASE("a batch of markers only returns at once") {
    agent::Outbox box(100, 1 << 20);
    box.Push(Marker(1));
    auto b = box.PopBatch(10, 1 << 20, 10s);
    REQUIRE(b.size() == 1);
    CHECK(b[0].progress);
  }

  TEST_CASE("an empty outbox returns an empty batch instead of waiting forever") {
    agent::Outbox box(10, 1 << 20);
    CHECK(box.PopBatch(10, 1 << 20, 10ms).empty());
  }

  TEST_CASE("a full outbox makes producers wait, Close releases them") {
    agent::Outbox box(2, 1 << 20);
    REQUIRE(box.Push(Ev("a")));
    REQUIRE(box.Push(Ev("b")));
    std::atomic<int> result{-1};
    std::thread producer([&] { result = box.Push(Ev("c")) ? 1 : 0; });
    std::this_thread::sleep_for(50ms);
    CHECK(result.load() == -1);  // still waiting for room
    auto b = box.PopBatch(1, 1 << 20, 10ms);
    CHECK(b.size() == 1);
    producer.join();
    CHECK(result.load() == 1);
    std::thread blocked([&] {
      box.Push(Ev("d"));
      result = box.Push(Ev("e")) ? 1 : 0;
    });
    std::this_thread::sleep_for(50ms);
    box.Close();
    blocked.join();
    CHECK(result.load() == 0);
  }
}
