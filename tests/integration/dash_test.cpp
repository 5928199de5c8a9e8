// The dash's views of the pipeline (Redis) and of the hosts aggregator, over real
// sockets, a real redis-server and a real SQLite file written by a real consumer.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "consumer/consumer.h"
#include "dash/service.h"
#include "http/client.h"
#include "queue/inspect.h"
#include "queue/streams.h"
#include "store/writer.h"
#include "tests/support/served.h"
#include "tests/support/support.h"

using namespace argus;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

proto::Event Ev(const std::string& type, const std::string& id, const std::string& host, const std::string& content) {
  proto::Event e;
  e.type = type;
  e.id = id;
  e.host = host;
  e.ts = base::SystemClock().WallMs();
  e.recv_ts = e.ts;
  e.addr = "127.0.0.1";
  e.content = content;
  return e;
}

}  // namespace

TEST_SUITE("dash") {
  TEST_CASE("pipeline, dead letters and host state, as an operator sees them") {
    consumer::RegisterAggregator("refuse_bad", {[](const consumer::AggregatorContext&) {
      struct Refuse : consumer::Aggregator {
        void Apply(const std::vector<const proto::Event*>& fresh) override {
          for (const auto* e : fresh) {
            if (e->content.find("bad") != std::string::npos) throw std::runtime_error("refused " + e->id);
          }
        }
      };
      return std::unique_ptr<consumer::Aggregator>(new Refuse);
    }, /*migrations=*/{}});
    testing::RedisServer redis;
    testing::TempDir dir;
    queue::Redis r({"127.0.0.1", redis.port()});
    REQUIRE_OK(queue::AppendEvents(r, {Ev("app", "a1", "web-1", R"({"ok":1})"), Ev("app", "a2", "web-1", R"({"bad":1})"),
                                    Ev("argus.agent", "hb", "web-1", R"({"version":"1.2.3","interval_s":30})")},
                                4));
    consumer::ConsumerOptions o;
    o.redis = {"127.0.0.1", redis.port()};
    o.db_path = dir / "a.db";
    o.name = "c-dash";
    o.max_attempts = 1;
    o.aggregators_by_type["app"] = {"generic", "refuse_bad"};
    o.publish_every = 0ms;
    o.types_refresh = 0ms;
    consumer::Consumer c(o);
    for (int i = 0; i < 10; ++i) c.RunOnce();
    REQUIRE(c.stats().dead_lettered == 1);

    // Two proxies: one published just now, one 20 s ago (it stopped).
    base::ManualClock clock(base::SystemClock().WallMs());
    REQUIRE_OK(queue::PublishStats(r, "proxy", "p-live", clock.WallMs(), {{"accepted", "7"}, {"listen", "10.0.0.1:9090"}}, 30));
    REQUIRE_OK(queue::PublishStats(r, "proxy", "p-gone", clock.WallMs() - 20000, {{"accepted", "3"}}, 30));
    dash::DashOptions d;
    d.db_path = dir / "a.db";
    d.redis = queue::RedisOptions{"127.0.0.1", redis.port()};
    d.clock = &clock;
    testing::Served<dash::DashService> dash(std::make_unique<dash::DashService>(d), "argus_dash");
    http::Client client(dash.endpoint());

    auto pipeline = client.Get("/api/v1/pipeline");
    REQUIRE(pipeline.status == 200);
    auto p = json::parse(pipeline.body);
    json app;
    for (const auto& t : p["types"]) {
      if (t["type"] == "app") app = t;
    }
    REQUIRE(app.is_object());
    CHECK(app["dead_letters"] == 1);
    CHECK(app["backlog"] == 0);
    CHECK(app["pending"] == 0);
    REQUIRE(p["consumers"].size() == 1);
    CHECK(p["consumers"][0]["name"] == "c-dash");
    CHECK(p["consumers"][0]["type"] == "all");
    CHECK(p["consumers"][0]["stored"] == 2);
    CHECK(p["consumers"][0]["dead_lettered"] == 1);
    CHECK(p["consumers"][0]["stale"] == false);
    REQUIRE(p["proxies"].size() == 2);
    CHECK(p["proxies"][0]["name"] == "p-gone");
    CHECK(p["proxies"][0]["stale"] == true);
    CHECK(p["proxies"][1]["name"] == "p-live");
    CHECK(p["proxies"][1]["stale"] == false);
    CHECK(p["proxies"][1]["accepted"] == 7);
    CHECK(p["proxies"][1]["listen"] == "10.0.0.1:9090");
    CHECK(p["agents"]["agents"] == 1);
    CHECK(p["agents"]["online"] == 1);
    REQUIRE(p["agents"]["list"].size() == 1);
    CHECK(p["agents"]["list"][0]["host"] == "web-1");
    CHECK(p["agents"]["list"][0]["version"] == "1.2.3");
    CHECK(p["agents"]["list"][0]["stale"] == false);

    auto dead = json::parse(client.Get("/api/v1/dead_letters?type=app").body);
    REQUIRE(dead["dead_letters"].size() == 1);
    CHECK(dead["dead_letters"][0]["error"] == "refused a2");
    CHECK(dead["dead_letters"][0]["event"]["id"] == "a2");
    CHECK(dead["dead_letters"][0]["consumer"] == "c-dash");

    auto missing = client.Get("/api/v1/dead_letters");
    CHECK(missing.status == 400);
    CHECK(json::parse(missing.body)["error"] == "parameter 'type' is required");
    CHECK(client.Get("/api/v1/dead_letters?type=app&limit=0").status == 400);
    CHECK(client.Get("/api/v1/pipeline?x=1").status == 400);

    auto hosts = json::parse(client.Get("/api/v1/hosts").body)["hosts"];
    REQUIRE(hosts.size() == 1);
    CHECK(hosts[0]["host"] == "web-1");
    CHECK(hosts[0]["state"] == "online");
    CHECK(hosts[0]["agent_version"] == "1.2.3");
    CHECK(hosts[0]["timeout_ms"] == 90000);
  }

  TEST_CASE("without --redis the pipeline says so, with Redis away it answers 503") {
    testing::TempDir dir;
    dash::DashOptions d;
    d.db_path = dir / "a.db";
    {
      testing::Served<dash::DashService> dash(std::make_unique<dash::DashService>(d), "argus_dash");
      auto res = http::Client(dash.endpoint()).Get("/api/v1/pipeline");
      CHECK(res.status == 503);
      CHECK(json::parse(res.body)["error"] == "the dash was started without --redis");
    }
    d.redis = queue::RedisOptions{"127.0.0.1", testing::FreePort()};
    testing::Served<dash::DashService> dash(std::make_unique<dash::DashService>(d), "argus_dash");
    auto res = http::Client(dash.endpoint()).Get("/api/v1/pipeline");
    CHECK(res.status == 503);
    CHECK(json::parse(res.body)["error"].get<std::string>().rfind("redis: ", 0) == 0);
  }

  TEST_CASE("read token, paging of hosts and types, and a query stopped at its deadline") {
    testing::TempDir dir;
    {
      auto db = store::Database::Open(dir / "d.db");
      std::vector<proto::Event> events;
      for (int i = 0; i < 2000; ++i) {
        events.push_back(Ev("t" + std::to_string(i % 3), "e" + std::to_string(i), "h" + std::to_string(i % 5), "{}"));
      }
      store::EventWriter(*db).Write(events);
    }
    dash::DashOptions d;
    d.db_path = dir / "d.db";
    d.read_token = "reader";
    testing::Served<dash::DashService> dash(std::make_unique<dash::DashService>(d), "argus_dash");
    http::Client client(dash.endpoint());
    const std::map<std::string, std::string> auth = {{"Authorization", "Bearer reader"}};
    CHECK(client.Get("/api/v1/hosts").status == 401);
    CHECK(client.Request("GET", "/api/v1/events", "", {{"Authorization", "Bearer wrong"}}).status == 401);
    CHECK(client.Get("/healthz").status == 200);  // no token needed

    // Hosts h0..h4 in pages of two.
    std::vector<std::string> seen;
    std::string cursor;
    for (int page = 0; page < 5; ++page) {
      auto r = client.Request("GET", "/api/v1/hosts?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor), "", auth);
      REQUIRE(r.status == 200);
      auto j = json::parse(r.body);
      for (const auto& h : j["hosts"]) seen.push_back(h["host"]);
      if (j["next_cursor"].is_null()) break;
      cursor = j["next_cursor"];
    }
    CHECK(seen == std::vector<std::string>{"h0", "h1", "h2", "h3", "h4"});
    auto types = json::parse(client.Request("GET", "/api/v1/types?limit=2", "", auth).body);
    CHECK(types["types"].size() == 2);
    CHECK(types["next_cursor"] == "t1");
    CHECK(client.Request("GET", "/api/v1/types?limit=0", "", auth).status == 400);

    // A query that cannot finish in time is stopped and answered 503, and counted.
    dash::DashOptions slow = d;
    slow.query_timeout = 0ms;
    testing::Served<dash::DashService> hurried(std::make_unique<dash::DashService>(slow), "argus_dash");
    auto r = http::Client(hurried.endpoint()).Request("GET", "/api/v1/events?limit=1000", "", auth);
    CHECK(r.status == 503);
    CHECK(r.body.find("was stopped") != std::string::npos);
    auto metrics = http::Client(hurried.endpoint()).Get("/metrics");
    CHECK(metrics.body.find("argus_dash_query_timeouts_total 1") != std::string::npos);
  }
}
