// /metrics of the proxy and the dash, after traffic of every kind, must pass
// `promtool check metrics` (scripts/test.sh provides promtool as ARGUS_PROMTOOL).
#include <doctest/doctest.h>

#include <cstdlib>
#include <thread>

#include "base/clock.h"
#include "dash/service.h"
#include "http/client.h"
#include "http/server.h"
#include "proxy/service.h"
#include "store/writer.h"
#include "tests/support/served.h"
#include "tests/support/support.h"

using namespace argus;
using namespace std::chrono_literals;

namespace {

std::string Promtool() {
  const char* env = std::getenv("ARGUS_PROMTOOL");
  return env && *env ? env : "promtool";
}

// Runs promtool over `text`; returns its verdict.
std::string CheckMetrics(const std::string& text, int* status) {
  testing::TempDir dir;
  testing::WriteFile(dir / "metrics.txt", text);
  std::string out;
  *status = testing::RunCommand("'" + Promtool() + "' check metrics < '" + (dir / "metrics.txt") + "'", &out);
  return out;
}

}  // namespace

TEST_SUITE("metrics") {
  TEST_CASE("proxy and dash /metrics pass promtool check metrics") {
    std::string version_out;
    REQUIRE_MESSAGE(testing::RunCommand("'" + Promtool() + "' --version", &version_out) == 0,
                    "promtool not found: run scripts/test.sh, or set ARGUS_PROMTOOL");

    testing::RedisServer redis;
    proxy::ProxyOptions po;
    po.redis = {"127.0.0.1", redis.port()};
    po.tokens = {{"t", ""}};
    po.rate = {1, 1};
    po.backlog_poll = 50ms;
    testing::Served<proxy::ProxyService> proxy(std::make_unique<proxy::ProxyService>(po, 2), "argus_proxy");
    http::Client c(proxy.endpoint());
    std::map<std::string, std::string> auth = {{"Authorization", "Bearer t"}};
    c.Request("POST", "/api/v1/events", R"({"events":[{"type":"m","host":"h","id":"1","content":{}},{"type":"X","content":{}}]})", auth);
    c.Request("POST", "/api/v1/events", "{", auth);
    c.Request("POST", "/api/v1/events", "{}", {{"Authorization", "Bearer wrong"}});
    std::string big = R"({"events":[)";
    for (int i = 0; i < 20; ++i) big += std::string(i ? "," : "") + R"({"type":"m","content":{}})";
    c.Request("POST", "/api/v1/events", big + "]}", auth);  // over the rate: 429
    c.Get("/nope");
    REQUIRE(testing::WaitFor([&] { return c.Get("/metrics").body.find("argus_proxy_backlog_events{type=\"m\"}") != std::string::npos; }, 10s));
    auto proxy_metrics = c.Get("/metrics").body;
    CHECK(proxy_metrics.find("argus_proxy_connections ") != std::string::npos);
    CHECK(proxy_metrics.find("argus_proxy_batch_events_bucket{le=\"+Inf\"} ") != std::string::npos);
    CHECK(proxy_metrics.find("argus_proxy_redis_append_seconds_count ") != std::string::npos);
    CHECK(proxy_metrics.find("argus_proxy_throttled_total{reason=\"rate\"} 1") != std::string::npos);
    int status = -1;
    std::string verdict = CheckMetrics(proxy_metrics, &status);
    CHECK_MESSAGE(status == 0, verdict << "\n" << proxy_metrics);

    testing::TempDir dir;
    dash::DashOptions d;
    d.db_path = dir / "a.db";
    testing::Served<dash::DashService> dash(std::make_unique<dash::DashService>(d), "argus_dash");
    http::Client dc(dash.endpoint());
    dc.Get("/api/v1/types");
    dc.Get("/api/v1/events?limit=0");
    auto dash_metrics = dc.Get("/metrics").body;
    verdict = CheckMetrics(dash_metrics, &status);
    CHECK_MESSAGE(status == 0, verdict << "\n" << dash_metrics);

    // argus-consumer --metrics, as a process.
    uint16_t port = testing::FreePort();
    testing::Process consumer({testing::BinDir() + "/argus-consumer", "--type", "all", "--redis", redis.address(), "--db",
                               dir / "c.db", "--metrics", "127.0.0.1:" + std::to_string(port)},
                              dir / "consumer.log");
    http::Client cc({"127.0.0.1", port});
    REQUIRE_MESSAGE(testing::WaitFor([&] { return cc.Get("/metrics").body.find("argus_consumer_stored_total 1") != std::string::npos; }, 20s),
                    consumer.Log());
    CHECK(cc.Get("/healthz").status == 200);
    auto consumer_metrics = cc.Get("/metrics").body;
    verdict = CheckMetrics(consumer_metrics, &status);
    CHECK_MESSAGE(status == 0, verdict << "\n" << consumer_metrics);
  }

  TEST_CASE("argus-alert, as a process: --check-rules, /healthz, and /metrics that pass promtool") {
    testing::RedisServer redis;
    testing::TempDir dir;
    const std::string alert = testing::BinDir() + "/argus-alert";
    testing::WriteFile(dir / "bad.json", R"({"rules":[{"name":"x","kind":"absent","for":"soon"}]})");
    std::string out;
    CHECK(testing::RunCommand("'" + alert + "' --check-rules '" + (dir / "bad.json") + "' 2>&1", &out) != 0);
    CHECK_MESSAGE(out.find("rules[0].for: must be a duration") != std::string::npos, out);
    testing::WriteFile(dir / "rules.json", R"({"rules":[{"name":"gone","kind":"absent","type":"ping","for":"1s","interval":"1s"}],
      "receivers":[{"name":"log","log":{}}], "route":{"receiver":"log","group_wait":"0s"}})");
    CHECK(testing::RunCommand("'" + alert + "' --check-rules '" + (dir / "rules.json") + "' 2>&1", &out) == 0);
    CHECK_MESSAGE(out.find("1 rules, 1 receivers: good") != std::string::npos, out);

    // A host whose last ping was an hour ago: the rule fires, the log receiver takes it.
    {
      auto db = store::Database::Open(dir / "a.db");
      proto::Event e;
      e.type = "ping";
      e.host = "old";
      e.id = "p1";
      e.ts = base::SystemClock().WallMs() - 3600 * 1000;
      e.recv_ts = e.ts;
      e.addr = "127.0.0.1";
      e.content = "{}";
      REQUIRE(store::EventWriter(*db).Write({e}).stored == 1);
    }
    const uint16_t port = testing::FreePort();
    testing::Process proc({alert, "--db", dir / "a.db", "--redis", redis.address(), "--rules", dir / "rules.json",
                           "--name", "m1", "--listen", "127.0.0.1:" + std::to_string(port)},
                          dir / "alert.log");
    http::Client ac({"127.0.0.1", port});
    REQUIRE_MESSAGE(testing::WaitFor([&] {
      return ac.Get("/metrics").body.find("argus_alert_notifications_sent_total{receiver=\"log\"} 1") != std::string::npos;
    }, 20s), proc.Log());
    auto health = ac.Get("/healthz");
    CHECK(health.status == 200);
    CHECK(nlohmann::json::parse(health.body)["ring"] == nlohmann::json::array({"m1"}));
    const std::string text = ac.Get("/metrics").body;
    CHECK(text.find("argus_alert_states{rule=\"gone\",state=\"alarm\"} 1") != std::string::npos);
    CHECK(text.find("argus_alert_evaluation_seconds_count{rule=\"gone\"}") != std::string::npos);
    int status = -1;
    const std::string verdict = CheckMetrics(text, &status);
    CHECK_MESSAGE(status == 0, verdict << "\n" << text);
    CHECK(proc.Log().find("notification gone/old/1 [firing]") != std::string::npos);
    // SIGHUP reads the rules file again: a second rule appears; a broken file changes nothing.
    testing::WriteFile(dir / "rules.json", R"({"rules":[{"name":"gone","kind":"absent","type":"ping","for":"1s","interval":"1s"},
      {"name":"also","kind":"absent","type":"pong","for":"1s"}],
      "receivers":[{"name":"log","log":{}}], "route":{"receiver":"log","group_wait":"0s"}})");
    proc.Kill(SIGHUP);
    CHECK_MESSAGE(testing::WaitFor([&] { return ac.Get("/metrics").body.find("argus_alert_rules 2") != std::string::npos; }, 10s),
                  proc.Log());
    testing::WriteFile(dir / "rules.json", "{\"rules\": [");
    proc.Kill(SIGHUP);
    CHECK(testing::WaitFor([&] { return proc.Log().find("reload refused") != std::string::npos; }, 10s));
    CHECK(ac.Get("/metrics").body.find("argus_alert_rules 2") != std::string::npos);
    proc.Kill(SIGTERM);
    CHECK(proc.Wait(10s) == 0);
  }
}
