// The agent's shipper against a stand-in proxy on a real socket that can be taken
// down: outages are bridged by the spool, replayed in order, nothing lost.
#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "agent/shipper.h"
#include "http/encoding.h"
#include "http/server.h"
#include "tests/support/support.h"

using namespace argus;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// Answers POST /api/v1/events: 503 while down, else records the events in order.
struct FakeProxy {
  std::atomic<bool> down{false};
  std::atomic<int> status{0};  // set: every batch gets this answer
  std::string poison;          // a batch holding this id is refused whole (400)
  std::atomic<int> gzipped{0};
  std::mutex mu;
  std::vector<std::string> ids;
  std::unique_ptr<http::Server> server;
  std::thread thread;

  FakeProxy() {
    server = std::make_unique<http::Server>(http::ServerOptions{}, [this](const http::Request& req, const http::Peer&) {
      if (down.load()) return http::Unavailable("down for the test", 0);
      auto body = http::DecodeBody(req, 64 << 20);
      if (req[boost::beast::http::field::content_encoding] == "gzip") ++gzipped;
      if (status.load()) return http::JsonError(static_cast<boost::beast::http::status>(status.load()), "as set");
      auto j = json::parse(body.View(req));
      for (const auto& e : j["events"]) {
        if (!poison.empty() && e["id"] == poison) {
          return http::JsonError(boost::beast::http::status::bad_request, "event " + poison + " is poison");
        }
      }
      std::lock_guard lock(mu);
      for (const auto& e : j["events"]) ids.push_back(e["id"]);
      return http::Json(boost::beast::http::status::ok, {{"accepted", j["events"].size()}});
    });
    server->Start();
    thread = std::thread([this] { server->Run(); });
  }
  ~FakeProxy() {
    server->Stop();
    thread.join();
  }
  std::vector<std::string> Ids() {
    std::lock_guard lock(mu);
    return ids;
  }
};

agent::ShipperOptions Options(uint16_t port) {
  agent::ShipperOptions o;
  o.proxies = {http::Endpoint{"127.0.0.1", port}};
  o.token = "t";
  o.max_events = 10;
  o.max_delay = 20ms;
  o.min_backoff = 20ms;
  o.max_backoff = 100ms;
  o.spool_after = 100ms;
  o.setup_retry = 100ms;
  o.gzip_min_bytes = 200;
  return o;
}

void PushEvents(agent::Outbox& box, int from, int to) {
  for (int i = from; i < to; ++i) {
    proto::Event e;
    e.type = "t";
    e.host = "h";
    e.id = "e" + std::to_string(i);
    e.content = "{\"n\":" + std::to_string(i) + "}";
    REQUIRE(box.Push(agent::EventItem(e)));
  }
}

// An outbox and a shipper running on its own thread until Stop (or destruction).
struct Running {
  agent::Outbox box{1000, 1 << 20};
  agent::Checkpoints checkpoints;
  agent::Shipper shipper;
  std::atomic<bool> stop{false};
  std::thread thread;
  Running(const testing::TempDir& dir, const agent::ShipperOptions& o)
      : checkpoints(dir.path()), shipper(o, box, checkpoints, dir / "spool") {}
  void Start() { thread = std::thread([this] { shipper.Run(stop); }); }
  void Stop() {
    stop = true;
    if (thread.joinable()) thread.join();
  }
  ~Running() { Stop(); }
};

std::vector<std::string> Expected(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back("e" + std::to_string(i));
  return out;
}

}  // namespace

TEST_SUITE("agent shipper") {
  TEST_CASE("a 404 or 413 keeps the batch until the proxy takes it, counted as refused") {
    testing::TempDir dir;
    FakeProxy proxy;
    proxy.status = 404;
    Running r(dir, Options(proxy.server->port()));
    r.Start();
    PushEvents(r.box, 0, 30);
    REQUIRE(testing::WaitFor([&] { return r.shipper.counters().refused >= 3; }, 20s));
    proxy.status = 413;
    REQUIRE(testing::WaitFor([&] { return r.shipper.counters().refused >= 6; }, 20s));
    CHECK(proxy.Ids().empty());
    proxy.status = 0;
    REQUIRE(testing::WaitFor([&] { return proxy.Ids().size() >= 30; }, 20s));
    r.Stop();
    CHECK(proxy.Ids() == Expected(30));
    CHECK(r.shipper.counters().dropped == 0);
  }

  TEST_CASE("a batch refused as malformed is sent event by event: only the bad event is dropped") {
    testing::TempDir dir;
    FakeProxy proxy;
    proxy.poison = "e7";
    Running r(dir, Options(proxy.server->port()));
    r.Start();
    PushEvents(r.box, 0, 30);
    REQUIRE(testing::WaitFor([&] { return proxy.Ids().size() >= 29; }, 20s));
    r.Stop();
    auto expected = Expected(30);
    expected.erase(expected.begin() + 7);
    CHECK(proxy.Ids() == expected);
    CHECK(r.shipper.counters().rejected == 1);
    CHECK(r.shipper.counters().dropped == 0);
  }

  TEST_CASE("an outage is bridged by the spool, once the proxy is back everything arrives once, in order") {
    testing::TempDir dir;
    FakeProxy proxy;
    Running r(dir, Options(proxy.server->port()));
    agent::Outbox& box = r.box;
    agent::Shipper& shipper = r.shipper;
    r.Start();

    PushEvents(box, 0, 50);
    REQUIRE(testing::WaitFor([&] { return proxy.Ids().size() == 50; }, 10s));
    proxy.down = true;
    PushEvents(box, 50, 300);
    // The outage outlasts spool_after: batches land on disk and the outbox drains.
    REQUIRE(testing::WaitFor([&] { return shipper.spool_counters().spooled >= 200 && box.size() == 0; }, 20s));
    proxy.down = false;
    REQUIRE(testing::WaitFor([&] { return proxy.Ids().size() >= 300; }, 20s));
    PushEvents(box, 300, 320);
    REQUIRE(testing::WaitFor([&] { return proxy.Ids().size() >= 320; }, 10s));
    r.Stop();
    CHECK(proxy.Ids() == Expected(320));
    CHECK(shipper.spool_counters().replayed == shipper.spool_counters().spooled);
    CHECK(shipper.spool_counters().batches == 0);
    CHECK(shipper.counters().retries > 0);
    CHECK(shipper.counters().dropped == 0);
    CHECK(proxy.gzipped > 0);
  }

  TEST_CASE("a stop while the proxies are away spools what is queued, the next run delivers it") {
    testing::TempDir dir;
    FakeProxy proxy;
    proxy.down = true;
    {
      Running first(dir, Options(proxy.server->port()));
      PushEvents(first.box, 0, 40);
      first.Start();
      REQUIRE(testing::WaitFor([&] { return first.shipper.counters().retries > 0; }, 10s));
      first.Stop();  // bounded: what is left goes to the spool
      CHECK(first.shipper.spool_counters().spooled == 40);
    }
    proxy.down = false;
    Running second(dir, Options(proxy.server->port()));
    second.Start();
    REQUIRE(testing::WaitFor([&] { return proxy.Ids().size() >= 40; }, 10s));
    second.Stop();
    CHECK(proxy.Ids() == Expected(40));
  }

  TEST_CASE("with the spool full, the oldest batches are dropped and counted, the newest delivered") {
    testing::TempDir dir;
    FakeProxy proxy;
    proxy.down = true;
    auto o = Options(proxy.server->port());
    o.spool_max_bytes = 600;  // a handful of gzipped batches
    Running r(dir, o);
    agent::Outbox& box = r.box;
    agent::Shipper& shipper = r.shipper;
    r.Start();
    PushEvents(box, 0, 200);
    REQUIRE(testing::WaitFor([&] { return box.size() == 0 && shipper.spool_counters().dropped > 0; }, 20s));
    proxy.down = false;
    REQUIRE(testing::WaitFor([&] { return shipper.spool_counters().batches == 0; }, 20s));
    r.Stop();
    auto ids = proxy.Ids();
    // Every event is either delivered or counted as dropped, and the last one arrived.
    CHECK(shipper.spool_counters().dropped > 0);
    CHECK(ids.size() + shipper.spool_counters().dropped == 200);
    REQUIRE(!ids.empty());
    CHECK(ids.back() == "e199");
  }
}
