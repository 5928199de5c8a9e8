// The proxy over real sockets against a real redis-server.
#include <doctest/doctest.h>

#include <boost/asio.hpp>
#include <mutex>
#include <set>
#include <thread>

#include "base/clock.h"
#include "http/client.h"
#include "http/encoding.h"
#include "http/server.h"
#include "proxy/service.h"
#include "queue/redis.h"
#include "queue/inspect.h"
#include "queue/streams.h"
#include "tests/support/support.h"

using namespace argus;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// A proxy served from this process on a free port.
struct ProxyFixture {
  std::unique_ptr<testing::RedisServer> own_redis;
  testing::RedisServer& redis;
  std::unique_ptr<proxy::ProxyService> service;
  std::unique_ptr<http::Server> server;
  std::thread thread;

  // With `shared`, this proxy uses another fixture's Redis (several proxies, one Redis).
  explicit ProxyFixture(std::function<void(proxy::ProxyOptions&, http::ServerOptions&)> tweak = nullptr,
                        testing::RedisServer* shared = nullptr, bool persistent_redis = false,
                        const base::Clock& clock = base::SystemClock())
      : own_redis(shared ? nullptr : std::make_unique<testing::RedisServer>(persistent_redis)),
        redis(shared ? *shared : *own_redis) {
    proxy::ProxyOptions po;
    po.redis = {"127.0.0.1", redis.port()};
    po.tokens = {{"agent-token", ""}, {"bound-token", "bound-host"}};
    http::ServerOptions so;
    so.threads = 2;
    so.body_limit = po.limits.max_batch_bytes;
    if (tweak) tweak(po, so);
    service = std::make_unique<proxy::ProxyService>(po, 4, clock);
    server = std::make_unique<http::Server>(so, [this](const http::Request& r, const http::Peer& p) {
      return service->Handle(r, p);
    });
    server->Start();
    thread = std::thread([this] { server->Run(); });
  }
  ~ProxyFixture() {
    server->Stop();
    thread.join();
  }
  http::Endpoint endpoint() const { return {"127.0.0.1", server->port()}; }
  http::ClientResponse Post(const std::string& body, const std::string& token = "agent-token") {
    http::Client c(endpoint());
    return c.Request("POST", "/api/v1/events", body, {{"Authorization", "Bearer " + token}});
  }
  long long StreamLen(const std::string& type, const std::string& host) {
    queue::Redis r({"127.0.0.1", redis.port()});
    return r.Run({"XLEN", queue::StreamKey(type, queue::ShardOf(host, 4))}).integer();
  }
};

std::string ErrorOf(const http::ClientResponse& r) {
  auto j = json::parse(r.body, nullptr, false);
  return j.is_object() && j.contains("error") ? j["error"].get<std::string>() : "<no JSON error: " + r.body + ">";
}

}  // namespace

TEST_SUITE("proxy") {
  TEST_CASE("the proxy publishes its counters to Redis for the dash, under its name, with a ttl") {
    ProxyFixture f([](proxy::ProxyOptions& po, http::ServerOptions&) {
      po.name = "p-test";
      po.publish_every = 100ms;
    });
    REQUIRE(f.Post(R"({"events":[{"type":"app","id":"a1","host":"h","content":{"v":1}},)"
                   R"({"type":"app","id":"a2","host":"h","content":"not an object"}]})")
                .status == 200);
    queue::Redis r({"127.0.0.1", f.redis.port()});
    std::map<std::string, std::map<std::string, std::string>> published;
    REQUIRE(testing::WaitFor(
        [&] {
          published.clear();
          return queue::ReadPublished(r, "proxy", &published).ok() && published.count("p-test") &&
                 published["p-test"]["accepted"] == "1";
        },
        10s));
    auto& p = published["p-test"];
    CHECK(p["rejected"] == "1");
    CHECK(p["rejected_invalid_event"] == "1");
    CHECK(p["answered_429"] == "0");
    CHECK(p["listen"].find("127.0.0.1:") == 0);
    CHECK(std::stoll(p["updated_ms"]) > 0);
    const int64_t ttl = r.Run({"TTL", queue::StatsKey("proxy", "p-test")}).integer();
    CHECK(ttl > 0);
    CHECK(ttl <= 1);  // six periods of 100 ms, at least a second
  }

  TEST_CASE("accepted events reach their type's shard stream, with proxy fields stamped") {
    ProxyFixture f;
    auto r = f.Post(R"({"events":[{"type":"disk","host":"h1","id":"e1","content":{"used":1}},
                                  {"type":"Nope","content":{}}]})");
    REQUIRE(r.status == 200);
    auto j = json::parse(r.body);
    CHECK(j["accepted"] == 1);
    REQUIRE(j["rejected"].size() == 1);
    CHECK(j["rejected"][0]["index"] == 1);
    CHECK(f.StreamLen("disk", "h1") == 1);

    queue::Redis redis({"127.0.0.1", f.redis.port()});
    CHECK(redis.Run({"SISMEMBER", "argus:types", "disk"}).integer() == 1);
    auto range = redis.Run({"XRANGE", queue::StreamKey("disk", queue::ShardOf("h1", 4)), "-", "+"});
    REQUIRE(range.ok());
    std::vector<queue::Entry> entries;
    queue::GroupReader reader("disk", 4, "test");
    REQUIRE_OK(reader.EnsureGroups(redis));
    REQUIRE_OK(reader.Read(redis, 10, &entries));  // own pending: none
    REQUIRE_OK(reader.Read(redis, 10, &entries));  // new
    REQUIRE(entries.size() == 1);
    proto::Event e;
    REQUIRE_OK(proto::Deserialize(entries[0].payload, &e));
    CHECK(e.id == "e1");
    CHECK(e.addr == "127.0.0.1");
    CHECK(e.recv_ts.has_value());
    CHECK(e.ts.has_value());
  }

  TEST_CASE("a time far in the future becomes the receive time, and is counted") {
    ProxyFixture f;
    const int64_t day_ahead = base::SystemClock().WallMs() + 24 * 3600 * 1000;
    const int64_t minute_ahead = base::SystemClock().WallMs() + 60 * 1000;
    auto r = f.Post(R"({"events":[{"type":"skew","host":"h","id":"s1","ts":)" + std::to_string(day_ahead) +
                    R"(,"content":{}},{"type":"skew","host":"h","id":"s2","ts":)" + std::to_string(minute_ahead) +
                    R"(,"content":{}}]})");
    REQUIRE(r.status == 200);
    queue::Redis redis({"127.0.0.1", f.redis.port()});
    queue::GroupReader reader("skew", 4, "test");
    REQUIRE_OK(reader.EnsureGroups(redis));
    std::vector<queue::Entry> entries;
    REQUIRE_OK(reader.Read(redis, 10, &entries));
    REQUIRE_OK(reader.Read(redis, 10, &entries));
    REQUIRE(entries.size() == 2);
    for (const auto& entry : entries) {
      proto::Event e;
      REQUIRE_OK(proto::Deserialize(entry.payload, &e));
      if (e.id == "s1") CHECK(*e.ts == *e.recv_ts);   // clamped
      if (e.id == "s2") CHECK(*e.ts == minute_ahead);  // within the allowed skew: kept
    }
    http::Client c(f.endpoint());
    CHECK(c.Get("/metrics").body.find("argus_proxy_future_ts_clamped_total 1") != std::string::npos);
  }

  TEST_CASE("a token bound to a host stamps that host, a missing host becomes the peer address") {
    ProxyFixture f;
    REQUIRE(f.Post(R"({"events":[{"type":"t","host":"liar","id":"b1","content":{}}]})", "bound-token").status == 200);
    CHECK(f.StreamLen("t", "bound-host") == 1);
    REQUIRE(f.Post(R"({"events":[{"type":"u","id":"b2","content":{}}]})").status == 200);
    CHECK(f.StreamLen("u", "127.0.0.1") == 1);
  }

  TEST_CASE("ids: kept when sent, derived from content when ts is sent, unique otherwise") {
    ProxyFixture f;
    std::string with_ts = R"({"events":[{"type":"t","host":"h","ts":5,"content":{"a":1}}]})";
    REQUIRE(f.Post(with_ts).status == 200);
    REQUIRE(f.Post(with_ts).status == 200);
    std::string no_ts = R"({"events":[{"type":"t","host":"h","content":{"a":1}}]})";
    REQUIRE(f.Post(no_ts).status == 200);
    REQUIRE(f.Post(no_ts).status == 200);
    queue::Redis redis({"127.0.0.1", f.redis.port()});
    auto range = redis.Run({"XRANGE", queue::StreamKey("t", queue::ShardOf("h", 4)), "-", "+"});
    std::vector<std::string> ids;
    queue::GroupReader reader("t", 4, "x");
    REQUIRE_OK(reader.EnsureGroups(redis));
    std::vector<queue::Entry> entries;
    REQUIRE_OK(reader.Read(redis, 10, &entries));
    REQUIRE_OK(reader.Read(redis, 10, &entries));
    REQUIRE(entries.size() == 4);
    for (auto& en : entries) {
      proto::Event e;
      REQUIRE_OK(proto::Deserialize(en.payload, &e));
      ids.push_back(e.id);
    }
    CHECK(ids[0] == ids[1]);
    CHECK(ids[2] != ids[3]);
  }

  TEST_CASE("bad requests get their status and a JSON error, and the proxy keeps serving") {
    ProxyFixture f;
    auto missing = http::Client(f.endpoint()).Request("POST", "/api/v1/events", R"({"events":[]})");
    CHECK(missing.status == 401);
    CHECK(ErrorOf(missing) == "missing 'Authorization: Bearer <token>' header");
    auto bad_token = f.Post(R"({"events":[]})", "nope");
    CHECK(bad_token.status == 401);
    CHECK(ErrorOf(bad_token) == "invalid token");

    auto malformed = f.Post(R"({"events":[{"type":)");
    CHECK(malformed.status == 400);
    CHECK(ErrorOf(malformed).find("malformed JSON at byte") == 0);

    auto deep = f.Post(std::string(10000, '[') + std::string(10000, ']'));
    CHECK(deep.status == 400);
    CHECK(ErrorOf(deep).find("nesting") != std::string::npos);

    auto huge = f.Post(std::string(10 * 1024 * 1024, 'x'));
    CHECK(huge.status == 413);
    CHECK(ErrorOf(huge).find("larger than the limit") != std::string::npos);

    auto not_found = http::Client(f.endpoint()).Get("/nope");
    CHECK(not_found.status == 404);
    auto wrong_method = http::Client(f.endpoint()).Request("DELETE", "/api/v1/events");
    CHECK(wrong_method.status == 405);

    auto good = f.Post(R"({"events":[{"type":"ok","host":"h","id":"after","content":{}}]})");
    CHECK(good.status == 200);
  }

  TEST_CASE("gzip bodies are inflated, a gzip bomb gets 413 and the proxy keeps serving") {
    ProxyFixture f;
    http::Client c(f.endpoint());
    std::string body = R"({"events":[{"type":"gz","host":"h","id":"g1","content":{"pad":")" + std::string(5000, 'p') + R"("}}]})";
    auto ok = c.Request("POST", "/api/v1/events", testing::Gzipped(body),
                        {{"Authorization", "Bearer agent-token"}, {"Content-Encoding", "gzip"}});
    CHECK(ok.status == 200);
    CHECK(f.StreamLen("gz", "h") == 1);
    auto bomb = c.Request("POST", "/api/v1/events", testing::Gzipped(std::string(64 * 1024 * 1024, ' '), 9),
                          {{"Authorization", "Bearer agent-token"}, {"Content-Encoding", "gzip"}});
    CHECK(bomb.status == 413);
    CHECK(ErrorOf(bomb).find("inflates to more than") != std::string::npos);
    CHECK(f.Post(R"({"events":[{"type":"gz","host":"h","id":"g2","content":{}}]})").status == 200);
  }

  TEST_CASE("crafted 4 KB gzip bodies build nothing: the proxy's memory stays where it was") {
    // A separate process, so its memory is its own; ASan's quarantine off so that what is
    // freed is given back and the RSS says what is still held.
    testing::TempDir dir;
    testing::RedisServer redis;
    uint16_t port = testing::FreePort();
    testing::Process proxy({"/usr/bin/env", "ASAN_OPTIONS=quarantine_size_mb=0:detect_leaks=0", testing::BinDir() + "/argus-proxy",
                            "--listen", "127.0.0.1:" + std::to_string(port), "--redis", redis.address(), "--token",
                            "agent-token", "--threads", "2"},
                           dir / "proxy.log");
    http::Client c({"127.0.0.1", port});
    REQUIRE_MESSAGE(testing::WaitFor([&] { return c.Get("/healthz").status == 200; }, 20s), proxy.Log());
    auto rss_kib = [&] {
      std::string status = testing::ReadFile("/proc/" + std::to_string(proxy.pid()) + "/status");
      auto at = status.find("VmRSS:");
      return at == std::string::npos ? -1L : std::stol(status.substr(at + 6));
    };
    // Unclosed nesting: simdjson refuses it at once, and a tree-building parser would make
    // one array per byte before finding the end. Just under the 4 MiB body limit.
    const std::string nested = testing::Gzipped(std::string(4 * 1024 * 1024 - 64, '['), 9);
    const std::string alarm = testing::Gzipped("{\"data\":" + std::string(4 * 1024 * 1024 - 64, '[') + "]", 9);
    CHECK(nested.size() < 8 * 1024);
    CHECK(alarm.size() < 8 * 1024);
    const std::map<std::string, std::string> events_headers = {{"Authorization", "Bearer agent-token"},
                                                               {"Content-Encoding", "gzip"}};
    const std::map<std::string, std::string> alarm_headers = {{"Content-Encoding", "gzip"}};
    // Warm up (connections, thread-local buffers), then measure.
    for (int i = 0; i < 2; ++i) {
      CHECK(c.Request("POST", "/api/v1/events", nested, events_headers).status == 400);
      c.Request("POST", "/api/alarm", alarm, alarm_headers);
    }
    const long before = rss_kib();
    for (int i = 0; i < 50; ++i) {  // 100 bodies: 50 on each route
      auto r = c.Request("POST", "/api/v1/events", nested, events_headers);
      REQUIRE(r.status == 400);
      CHECK(ErrorOf(r).find("malformed JSON") != std::string::npos);
      auto a = c.Request("POST", "/api/alarm", alarm, alarm_headers);
      // No token: nothing but the scan for it, and the syntax check that says why.
      CHECK(json::parse(a.body)["status"] == -2);
    }
    const long after = rss_kib();
    MESSAGE("proxy RSS " << before / 1024 << " MiB before, " << after / 1024 << " MiB after 100 crafted bodies");
    CHECK(before > 0);
    CHECK(after - before < 8 * 1024);
    CHECK(c.Get("/healthz").status == 200);
  }

  TEST_CASE("Argus' own types: the agent's on its path, the rest only with the admin token") {
    ProxyFixture f([](proxy::ProxyOptions& po, http::ServerOptions&) { po.admin_token = "admin-token"; });
    const std::string batch = R"({"events":[
        {"type":"argus.agent","host":"h","id":"r1","content":{}},
        {"type":"argus.host","host":"h","id":"r2","content":{"state":"offline"}},
        {"type":"argus.cron_error","host":"h","id":"r3","content":{}},
        {"type":"app","host":"h","id":"r4","content":{}}]})";
    auto r = f.Post(batch);
    REQUIRE(r.status == 200);
    auto j = json::parse(r.body);
    CHECK(j["accepted"] == 3);
    REQUIRE(j["rejected"].size() == 1);
    CHECK(j["rejected"][0]["index"] == 1);
    CHECK(j["rejected"][0]["error"] == "type 'argus.host' is reserved for Argus itself");
    CHECK(f.StreamLen("argus.host", "h") == 0);
    // The admin token may send any of them (and is rate-limited apart from the agents).
    auto admin = f.Post(batch, "admin-token");
    REQUIRE(admin.status == 200);
    CHECK(json::parse(admin.body)["accepted"] == 4);
    CHECK(f.StreamLen("argus.host", "h") == 1);
    // The TOP-Argus path takes none of them from an agent.
    http::Client c(f.endpoint());
    auto alarm = c.Request("POST", "/api/alarm", R"({"token":"agent-token","data":[
        {"alarm_type":"argus.agent","alarm_content":{}},{"alarm_type":"app","alarm_content":{}}]})");
    auto aj = json::parse(alarm.body);
    CHECK(aj["status"] == -1);
    CHECK(aj["accepted"] == 1);
    CHECK(aj["rejected"][0]["error"] == "type 'argus.agent' is reserved for Argus itself (send it to /api/v1/events)");
  }

  TEST_CASE("50,000 junk types from one token stop at its limit, and other types still flow") {
    ProxyFixture f([](proxy::ProxyOptions& po, http::ServerOptions&) { po.backlog_poll = 100ms; });
    auto real = [&](int i) {
      return f.Post(R"({"events":[{"type":"real","host":"good","id":"r)" + std::to_string(i) + R"(","content":{}}]})");
    };
    REQUIRE(real(0).status == 200);
    http::Client c(f.endpoint());
    int refused_batches = 0;
    std::string last_error;
    for (int batch = 0; batch < 50; ++batch) {
      std::string body = R"({"events":[)";
      for (int i = 0; i < 1000; ++i) {
        body += (i ? "," : "") + std::string(R"({"type":"junk)") + std::to_string(batch * 1000 + i) +
                R"(","host":"bad","content":{}})";
      }
      body += "]}";
      auto r = c.Request("POST", "/api/v1/events", body, {{"Authorization", "Bearer bound-token"}});
      if (r.status == 400) {
        ++refused_batches;
        last_error = ErrorOf(r);
      } else {
        REQUIRE(r.status == 200);  // the first batch: its first 200 types are taken, the rest refused by name
        auto j = json::parse(r.body);
        CHECK(j["accepted"] == 200);
        CHECK(j["rejected"][0]["error"].get<std::string>().find("limits.max_types_per_token") != std::string::npos);
      }
    }
    CHECK(refused_batches == 49);
    CHECK(last_error.find("nothing accepted: type 'junk") == 0);
    CHECK(last_error.find("(limits.max_types_per_token)") != std::string::npos);
    queue::Redis redis({"127.0.0.1", f.redis.port()});
    CHECK(redis.Run({"SCARD", "argus:types"}).integer() == 201);  // what the poll and the consumers walk
    // Another token's types, known and new, still flow.
    CHECK(real(1).status == 200);
    auto fresh = f.Post(R"({"events":[{"type":"fresh","host":"good","id":"f1","content":{}}]})");
    CHECK(json::parse(fresh.body)["accepted"] == 1);
    CHECK(f.StreamLen("real", "good") == 2);
    CHECK(f.StreamLen("fresh", "good") == 1);
  }

  TEST_CASE("keep-alive: many requests over one connection") {
    ProxyFixture f;
    http::Client c(f.endpoint());
    for (int i = 0; i < 20; ++i) {
      auto r = c.Request("POST", "/api/v1/events",
                         R"({"events":[{"type":"ka","host":"h","id":"k)" + std::to_string(i) + R"(","content":{}}]})",
                         {{"Authorization", "Bearer agent-token"}});
      REQUIRE(r.status == 200);
    }
    CHECK(f.StreamLen("ka", "h") == 20);
    CHECK(f.server->connections() == 1);
  }

  TEST_CASE("a client that sends its head too slowly is cut off, others are served") {
    ProxyFixture f([](proxy::ProxyOptions&, http::ServerOptions& so) { so.header_timeout = 300ms; });
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::socket slow(ioc);
    slow.connect({boost::asio::ip::make_address("127.0.0.1"), f.server->port()});
    boost::asio::write(slow, boost::asio::buffer(std::string("POST /api/v1/events HTTP/1.1\r\nHost: x\r\n")));
    CHECK(http::Client(f.endpoint()).Get("/healthz").status == 200);
    // The server closes the slow connection: a read sees EOF.
    char buf[256];
    boost::system::error_code ec;
    size_t total = 0;
    while (!ec) total += slow.read_some(boost::asio::buffer(buf), ec);
    CHECK(ec == boost::asio::error::eof);
  }

  TEST_CASE("Redis down: 503 with Retry-After and an unhealthy /healthz, back up: served again") {
    ProxyFixture f;
    std::string body = R"({"events":[{"type":"r","host":"h","id":"r1","content":{}}]})";
    REQUIRE(f.Post(body).status == 200);
    f.redis.Stop();
    auto down = f.Post(body);
    CHECK(down.status == 503);
    CHECK(down.headers.count("retry-after") == 1);
    CHECK(ErrorOf(down).find("unavailable") != std::string::npos);
    CHECK(http::Client(f.endpoint()).Get("/healthz").status == 503);
    f.redis.Start();
    CHECK(testing::WaitFor([&] { return f.Post(body).status == 200; }, 10s));
    CHECK(http::Client(f.endpoint()).Get("/healthz").status == 200);
  }

  TEST_CASE("a token over its rate gets 429 with Retry-After, other tokens are unaffected") {
    // Time stands still: the two batches come at the same instant, however slow the
    // machine, so the bucket cannot refill between them.
    base::ManualClock clock;
    ProxyFixture f([](proxy::ProxyOptions& po, http::ServerOptions&) { po.rate = {10, 10}; }, nullptr, false, clock);
    auto batch = [](int from) {
      std::string b = R"({"events":[)";
      for (int i = 0; i < 10; ++i) {
        b += std::string(i ? "," : "") + R"({"type":"rl","host":"h","id":"r)" + std::to_string(from + i) +
             R"(","content":{}})";
      }
      return b + "]}";
    };
    REQUIRE(f.Post(batch(0)).status == 200);
    auto over = f.Post(batch(10));
    CHECK(over.status == 429);
    CHECK(over.headers["retry-after"] == "1");
    CHECK(ErrorOf(over).find("over its rate of 10 events/s") != std::string::npos);
    CHECK(f.Post(batch(20), "bound-token").status == 200);
    CHECK(f.StreamLen("rl", "h") == 10);  // the refused batch was not appended
    clock.Advance(std::chrono::milliseconds(999));  // 9.99 events' worth: still short of 10
    CHECK(f.Post(batch(30)).status == 429);
    clock.Advance(std::chrono::milliseconds(100));  // 10.99 events' worth: enough for 10
    CHECK(f.Post(batch(40)).status == 200);
    CHECK(f.StreamLen("rl", "h") == 20);
  }

  TEST_CASE("one type the poll cannot read leaves flow control on for every other type") {
    ProxyFixture f([](proxy::ProxyOptions& po, http::ServerOptions&) {
      po.backlog_limit = 2;
      po.backlog_poll = 50ms;
    });
    // One type whose streams Redis cannot read as streams, first in the set (a small set
    // keeps insertion order), then 40 types over their limit.
    queue::Redis redis({"127.0.0.1", f.redis.port()});
    REQUIRE(redis.Run({"SADD", "argus:types", "broken"}).ok());
    for (int shard = 0; shard < 4; ++shard) REQUIRE(redis.Run({"SET", queue::StreamKey("broken", shard), "x"}).ok());
    for (int t = 0; t < 40; ++t) {
      std::string body = R"({"events":[)";
      for (int i = 0; i < 3; ++i) {
        body += std::string(i ? "," : "") + R"({"type":"t)" + std::to_string(t) + R"(","host":"h","id":"i)" +
                std::to_string(i) + R"(","content":{}})";
      }
      REQUIRE(f.Post(body + "]}").status == 200);
    }
    auto poll_errors = [&] {
      std::string m = http::Client(f.endpoint()).Get("/metrics").body;
      auto at = m.find("\nargus_proxy_poll_errors_total ");
      return at == std::string::npos ? 0L : std::stol(m.substr(at + 31));
    };
    // Rounds that met the broken type after all 40 were in.
    const long seen = poll_errors();
    REQUIRE(testing::WaitFor([&] { return poll_errors() >= seen + 2; }, 10s));
    // Whatever order the poll meets the types in, every one of them is still held back.
    int refused = 0;
    for (int t = 0; t < 40; ++t) {
      auto r = f.Post(R"({"events":[{"type":"t)" + std::to_string(t) + R"(","host":"h","id":"late","content":{}}]})");
      refused += r.status == 503;
    }
    CHECK(refused == 40);
  }

  TEST_CASE("a type over its backlog limit gets 503 until a consumer catches up") {
    ProxyFixture f([](proxy::ProxyOptions& po, http::ServerOptions&) {
      po.backlog_limit = 5;
      po.backlog_poll = 50ms;
    });
    std::string six = R"({"events":[)";
    for (int i = 0; i < 6; ++i) six += std::string(i ? "," : "") + R"({"type":"bl","host":"h","id":"b)" + std::to_string(i) + R"(","content":{}})";
    six += "]}";
    REQUIRE(f.Post(six).status == 200);  // the backlog was 0 when it came
    // The proxy learns the backlog from its poller.
    REQUIRE(testing::WaitFor([&] {
      return http::Client(f.endpoint()).Get("/metrics").body.find("argus_proxy_backlog_events{type=\"bl\"} 6\n") !=
             std::string::npos;
    }, 10s));
    std::string one = R"({"events":[{"type":"bl","host":"h","id":"late","content":{}}]})";
    auto refused = f.Post(one);
    CHECK(refused.status == 503);
    CHECK(refused.headers.count("retry-after") == 1);
    CHECK(ErrorOf(refused).find("type 'bl' has 6 events waiting for a consumer (limit 5)") == 0);
    // Other types still flow.
    CHECK(f.Post(R"({"events":[{"type":"other","host":"h","id":"o","content":{}}]})").status == 200);
    // A consumer reads and acknowledges everything: the type flows again.
    queue::Redis redis({"127.0.0.1", f.redis.port()});
    queue::GroupReader reader("bl", 4, "c");
    REQUIRE_OK(reader.EnsureGroups(redis));
    std::vector<queue::Entry> got;
    REQUIRE_OK(reader.Read(redis, 100, &got));
    REQUIRE_OK(reader.Read(redis, 100, &got));
    REQUIRE(got.size() == 6);
    REQUIRE_OK(reader.Ack(redis, got));
    CHECK(testing::WaitFor([&] { return f.Post(one).status == 200; }, 10s));
    // Trimming is the consumer's work alone: the proxy left the acknowledged six in place.
    CHECK(f.StreamLen("bl", "h") == 7);
  }

  TEST_CASE("TOP-Argus: the original agent's request is accepted as it sends it") {
    ProxyFixture f;
    http::Client c(f.endpoint());
    // As top-argus-agent's do_alarm() sends it: token in the body, trailing slash.
    std::string body = R"({"token": "agent-token", "data": [{"alarm_type": "packet", "alarm_content": {
        "local_node_id": "010000fc609372cc", "chain_hash": "3340835543", "chain_msgid": "655361",
        "send_timestamp": "1573547735068", "broadcast": "1", "public_ip": "127.0.0.1:9000"}},
        {"alarm_type": "networksize", "alarm_content": {"node_id": "67000000ff7f", "node_id_status": "add"}}]})";
    std::map<std::string, std::string> headers = {
        {"User-Agent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_13_6)"},
        {"Content-Type", "application/json;charset=UTF-8"}};
    auto r = c.Request("POST", "/api/alarm/", body, headers);
    REQUIRE(r.status == 200);
    CHECK(json::parse(r.body) == json{{"status", 0}, {"error", "OK"}});
    CHECK(f.StreamLen("packet", "127.0.0.1") == 1);  // host from the peer address
    CHECK(f.StreamLen("networksize", "127.0.0.1") == 1);
    CHECK(c.Request("POST", "/api/alarm", body, headers).status == 200);  // without the slash too

    auto bad_token = c.Request("POST", "/api/alarm/", R"({"token":"nope","data":[{"alarm_type":"packet","alarm_content":{}}]})");
    CHECK(bad_token.status == 401);
    CHECK(json::parse(bad_token.body)["status"] == -1);
    auto no_data = c.Request("POST", "/api/alarm/", R"({"token":"agent-token"})");
    CHECK(no_data.status == 200);
    CHECK(json::parse(no_data.body)["status"] == -2);
    auto malformed = c.Request("POST", "/api/alarm/", "{not json");
    CHECK(json::parse(malformed.body)["status"] == -2);
    auto partly = c.Request("POST", "/api/alarm/",
                            R"({"token":"agent-token","data":[{"alarm_type":"packet","alarm_content":{"a":"1"}},
                                                             {"alarm_type":"Bad Type","alarm_content":{}}]})");
    auto pj = json::parse(partly.body);
    CHECK(pj["status"] == -1);
    CHECK(pj["accepted"] == 1);
    CHECK(pj["rejected"][0]["index"] == 1);
    CHECK(f.StreamLen("packet", "127.0.0.1") == 3);
  }

  TEST_CASE("remote config: validated, versioned, shared by every proxy, with ETag and dry run") {
    auto admin = [](proxy::ProxyOptions& po, http::ServerOptions&) { po.admin_token = "admin-secret"; };
    ProxyFixture a(admin);
    ProxyFixture b(admin, &a.redis);  // a second proxy on the same Redis
    http::Client ca(a.endpoint()), cb(b.endpoint());
    std::map<std::string, std::string> agent = {{"Authorization", "Bearer agent-token"}};
    std::map<std::string, std::string> adm = {{"Authorization", "Bearer admin-secret"}};

    CHECK(ca.Get("/api/v1/config").status == 401);
    auto empty = ca.Request("GET", "/api/v1/config", {}, agent);
    REQUIRE(empty.status == 200);
    CHECK(json::parse(empty.body) == json{{"version", 0}, {"config", json::object()}});

    std::string config = R"({"global_sample_rate": 500, "batch": {"max_events": 100},
                            "topargus": {"global_sample_rate": 1000, "grep_broadcast": {"start": "true"}}})";
    CHECK(ca.Request("PUT", "/api/v1/config", config, agent).status == 401);
    auto invalid = ca.Request("PUT", "/api/v1/config", R"({"batch": {"max_events": 0}})", adm);
    CHECK(invalid.status == 400);
    CHECK(ErrorOf(invalid) == "invalid config: batch.max_events: must be an integer from 1 to 10000");

    auto dry = ca.Request("PUT", "/api/v1/config?dry_run=1", config, adm);
    REQUIRE(dry.status == 200);
    auto dj = json::parse(dry.body);
    CHECK(dj["dry_run"] == true);
    CHECK(dj["version"] == 0);
    CHECK(dj["changes"].size() == 3);
    CHECK(json::parse(ca.Request("GET", "/api/v1/config", {}, agent).body)["version"] == 0);  // nothing stored

    auto put = ca.Request("PUT", "/api/v1/config", config, adm);
    REQUIRE(put.status == 200);
    CHECK(json::parse(put.body)["version"] == 1);
    // The other proxy serves the same version.
    auto got = cb.Request("GET", "/api/v1/config", {}, agent);
    REQUIRE(got.status == 200);
    CHECK(got.headers["etag"] == "\"1\"");
    auto gj = json::parse(got.body);
    CHECK(gj["version"] == 1);
    CHECK(gj["config"]["batch"]["max_events"] == 100);
    auto again = cb.Request("GET", "/api/v1/config", {}, {{"Authorization", "Bearer agent-token"}, {"If-None-Match", "\"1\""}});
    CHECK(again.status == 304);
    CHECK(again.body.empty());

    // TOP-Argus agents get their own section, with their address.
    auto compat = cb.Get("/api/config/");
    REQUIRE(compat.status == 200);
    auto cj = json::parse(compat.body);
    CHECK(cj["status"] == 0);
    CHECK(cj["error"] == "OK");
    CHECK(cj["ip"] == "127.0.0.1");
    CHECK(cj["config"] == json{{"global_sample_rate", 1000}, {"grep_broadcast", {{"start", "true"}}}});
  }

  TEST_CASE("remote config changes are refused when no admin token is configured") {
    ProxyFixture f;
    auto r = http::Client(f.endpoint()).Request("PUT", "/api/v1/config", "{}", {{"Authorization", "Bearer agent-token"}});
    CHECK(r.status == 403);
    CHECK(ErrorOf(r).find("start the proxy with --admin-token") != std::string::npos);
    CHECK(json::parse(http::Client(f.endpoint()).Get("/api/config").body)["config"] == json::object());
  }

  TEST_CASE("a Redis restart under load loses no acknowledged event, and the proxy recovers by itself") {
    ProxyFixture f(nullptr, nullptr, /*persistent_redis=*/true);
    std::atomic<bool> stop{false};
    std::mutex mu;
    std::set<std::string> acked;
    std::atomic<int> refused{0};
    std::vector<std::thread> senders;
    for (int t = 0; t < 4; ++t) {
      senders.emplace_back([&, t] {
        http::Client c(f.endpoint(), 5s);
        for (int batch = 0; !stop.load(); ++batch) {
          std::string body = R"({"events":[)";
          std::vector<std::string> ids;
          for (int i = 0; i < 20; ++i) {
            ids.push_back("t" + std::to_string(t) + "-" + std::to_string(batch) + "-" + std::to_string(i));
            body += std::string(i ? "," : "") + R"({"type":"load","host":"h)" + std::to_string(i % 3) +
                    R"(","id":")" + ids.back() + R"(","content":{"n":1}})";
          }
          auto r = c.Request("POST", "/api/v1/events", body + "]}", {{"Authorization", "Bearer agent-token"}});
          if (r.status == 200) {
            std::lock_guard lock(mu);
            acked.insert(ids.begin(), ids.end());
          } else {
            ++refused;
            std::this_thread::sleep_for(50ms);
          }
        }
      });
    }
    auto acked_count = [&] {
      std::lock_guard lock(mu);
      return acked.size();
    };
    REQUIRE(testing::WaitFor([&] { return acked_count() >= 2000; }, 30s));
    f.redis.Stop(/*graceful=*/true);
    f.redis.Start();
    size_t at_restart = acked_count();
    // Recovers by itself: acknowledgements resume without restarting the proxy.
    CHECK(testing::WaitFor([&] { return acked_count() >= at_restart + 2000; }, 30s));
    stop = true;
    for (auto& s : senders) s.join();

    // Every acknowledged id is in Redis.
    queue::Redis redis({"127.0.0.1", f.redis.port()});
    std::set<std::string> stored;
    queue::GroupReader reader("load", 4, "check");
    REQUIRE_OK(reader.EnsureGroups(redis));
    std::vector<queue::Entry> entries;
    REQUIRE_OK(reader.Read(redis, 1000000, &entries));  // own pending: none
    REQUIRE_OK(reader.Read(redis, 1000000, &entries));
    for (const auto& en : entries) {
      proto::Event e;
      REQUIRE_OK(proto::Deserialize(en.payload, &e));
      stored.insert(e.id);
    }
    size_t missing = 0;
    for (const auto& id : acked) missing += stored.count(id) ? 0 : 1;
    INFO("acknowledged " << acked.size() << ", in Redis " << stored.size() << ", refused while down " << refused.load());
    CHECK(missing == 0);
    CHECK(acked.size() > at_restart);
  }

  TEST_CASE("/metrics counts requests and events") {
    ProxyFixture f;
    f.Post(R"({"events":[{"type":"m","host":"h","id":"m1","content":{}}]})");
    f.Post("{", "agent-token");
    auto m = http::Client(f.endpoint()).Get("/metrics");
    REQUIRE(m.status == 200);
    CHECK(m.body.find("argus_proxy_events_accepted_total 1\n") != std::string::npos);
    CHECK(m.body.find("argus_proxy_requests_total{route=\"/api/v1/events\",status=\"400\"} 1\n") != std::string::npos);
  }
}
