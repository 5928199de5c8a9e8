// The dash's query API (fields, series, top, hosts, host pages, system and packet
// views) over a store filled by a real consumer from a real redis-server, answered over
// real sockets. Every series is checked against a recount of the raw events.
#include <doctest/doctest.h>

#include <sys/socket.h>

#include <boost/asio.hpp>
#include <map>
#include <random>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "consumer/consumer.h"
#include "dash/service.h"
#include "http/client.h"
#include "http/encoding.h"
#include "queue/streams.h"
#include "store/alerts.h"
#include "store/series.h"
#include "tests/support/served.h"
#include "tests/support/support.h"

using namespace argus;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// An hour boundary, so that minute, hour and day buckets all start on it.
constexpr int64_t kT0 = 1700002800000;
constexpr int64_t kMinute = 60000, kHour = 60 * kMinute;

proto::Event Ev(const std::string& type, const std::string& id, const std::string& host, int64_t ts,
                const std::string& content) {
  proto::Event e;
  e.type = type;
  e.id = id;
  e.host = host;
  e.ts = ts;
  e.recv_ts = ts;
  e.addr = "127.0.0.1";
  e.content = content;
  return e;
}

// A store filled through Redis by a consumer whose clock stands at `now`, so nothing
// in the seeded past counts as expired.
struct Pipeline {
  testing::RedisServer redis;
  testing::TempDir dir;
  base::ManualClock clock{kT0 + 2 * kHour};

  void Store(const std::vector<proto::Event>& events) {
    queue::Redis r({"127.0.0.1", redis.port()});
    for (size_t i = 0; i < events.size(); i += 500) {
      std::vector<proto::Event> part(events.begin() + static_cast<std::ptrdiff_t>(i),
                                     events.begin() + static_cast<std::ptrdiff_t>(std::min(events.size(), i + 500)));
      REQUIRE_OK(queue::AppendEvents(r, part, 4));
    }
    consumer::ConsumerOptions o;
    o.redis = {"127.0.0.1", redis.port()};
    o.db_path = dir / "a.db";
    o.name = "c-query";
    o.publish_every = 0ms;
    o.types_refresh = 0ms;
    consumer::Consumer c(o, clock);
    for (int i = 0; i < 200 && c.stats().stored < events.size(); ++i) c.RunOnce();
    REQUIRE(c.stats().stored == events.size());
  }

  std::unique_ptr<dash::DashService> Dash() {
    dash::DashOptions d;
    d.db_path = dir / "a.db";
    d.clock = &clock;
    return std::make_unique<dash::DashService>(d);
  }
};

// A client of a Server-Sent Events stream over a raw socket: what it has read so far.
class SseClient {
 public:
  SseClient(uint16_t port, const std::string& target, const std::string& last_event_id = "") : socket_(ioc_) {
    socket_.connect({boost::asio::ip::make_address("127.0.0.1"), port});
    timeval tv{0, 100000};  // reads return every 100 ms, so a deadline can be kept
    setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string req = "GET " + target + " HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n";
    if (!last_event_id.empty()) req += "Last-Event-ID: " + last_event_id + "\r\n";
    boost::asio::write(socket_, boost::asio::buffer(req + "\r\n"));
  }
  // Reads until `text` has been read (true) or 10 s passed.
  bool ReadUntil(const std::string& text) {
    return testing::WaitFor(
        [&] {
          char buf[4096];
          boost::system::error_code ec;
          size_t n = socket_.read_some(boost::asio::buffer(buf), ec);
          got_.append(buf, n);
          return got_.find(text) != std::string::npos;
        },
        10s);
  }
  // The ids of the events read so far, in order.
  std::vector<int64_t> Ids() const {
    std::vector<int64_t> ids;
    for (size_t at = got_.find("\nid: "); at != std::string::npos; at = got_.find("\nid: ", at + 1)) {
      ids.push_back(std::stoll(got_.substr(at + 5)));
    }
    return ids;
  }
  const std::string& got() const { return got_; }

 private:
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::socket socket_;
  std::string got_;
};

// The expected rollup of every bucket, counted from the events themselves.
using Recount = std::map<std::string, std::map<int64_t, store::Rollup>>;  // host ("" merged) -> bucket

json Get(http::Client& client, const std::string& target, int status = 200) {
  auto res = client.Get(target);
  INFO(target, " -> ", res.body);
  REQUIRE(res.status == status);
  return json::parse(res.body);
}

}  // namespace

TEST_SUITE("dash query") {
  TEST_CASE("series, fields and top agree with a recount of the raw events") {
    Pipeline p;
    // Hosts send at different rates, so an average of per-host averages would be wrong:
    // web-1 sends one large value a minute, web-2 six small ones, db-1 two middling.
    std::vector<proto::Event> events;
    Recount merged5m, per_host5m, merged10s;
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> noise(0, 1);
    const std::map<std::string, std::pair<int, double>> hosts = {{"web-1", {1, 900}}, {"web-2", {6, 10}}, {"db-1", {2, 300}}};
    int n = 0;
    for (int minute = 0; minute < 120; ++minute) {
      for (const auto& [host, shape] : hosts) {
        for (int k = 0; k < shape.first; ++k) {
          const int64_t ts = kT0 + minute * kMinute + k * 7000 + 1000;
          const double v = shape.second + std::floor(noise(rng) * 100);
          events.push_back(Ev("app", "e" + std::to_string(n++), host, ts,
                              json({{"latency", {{"ms", v}}}, {"status", "ok"}}).dump()));
          merged5m[""][ts - ts % (5 * kMinute)].Add(v, ts);
          per_host5m[host][ts - ts % (5 * kMinute)].Add(v, ts);
          merged10s[""][ts - ts % 10000].Add(v, ts);
        }
      }
    }
    p.Store(events);
    testing::Served<dash::DashService> dash(p.Dash(), "argus_dash");
    http::Client client(dash.endpoint());

    auto fields = Get(client, "/api/v1/fields?type=app");
    REQUIRE(fields["fields"].size() == 1);
    CHECK(fields["fields"][0]["field"] == "latency.ms");
    CHECK(fields["fields"][0]["first_seen"] == kT0);
    CHECK(fields["fields"][0]["last_seen"] == events.back().ts);

    const std::string base = "/api/v1/series?type=app&field=latency.ms&since=" + std::to_string(kT0) +
                             "&until=" + std::to_string(kT0 + 2 * kHour);
    for (const std::string agg : {"avg", "min", "max", "sum", "count", "last"}) {
      CAPTURE(agg);
      auto s = Get(client, base + "&step=5m&agg=" + agg);
      CHECK(s["source"] == "1m");
      CHECK(s["step"] == 5 * kMinute);
      REQUIRE(s["series"].size() == 1);
      CHECK(s["series"][0]["host"].is_null());
      const auto& points = s["series"][0]["points"];
      REQUIRE(points.size() == merged5m[""].size());
      size_t i = 0;
      for (const auto& [bucket, r] : merged5m[""]) {
        CHECK(points[i][0] == bucket);
        CHECK(points[i][1].get<double>() == doctest::Approx(r.Value(*store::ParseAgg(agg))));
        ++i;
      }
    }
    // The true average is far from the average of the hosts' averages here.
    {
      const auto& r = merged5m[""].begin()->second;
      double avg_of_avgs = 0;
      for (const auto& [host, buckets] : per_host5m) avg_of_avgs += buckets.begin()->second.Value(store::Agg::kAvg) / 3;
      CHECK(std::abs(r.Value(store::Agg::kAvg) - avg_of_avgs) > 50);
    }

    // Steps under a minute read raw events; whole hours read the hourly source.
    auto raw = Get(client, base + "&step=10s");
    CHECK(raw["source"] == "raw");
    REQUIRE(raw["series"][0]["points"].size() == merged10s[""].size());
    CHECK(raw["series"][0]["points"][3][1].get<double>() ==
          doctest::Approx(std::next(merged10s[""].begin(), 3)->second.Value(store::Agg::kAvg)));
    auto hourly = Get(client, base + "&step=1h&agg=count");
    CHECK(hourly["source"] == "1h");
    REQUIRE(hourly["series"][0]["points"].size() == 2);
    CHECK(hourly["series"][0]["points"][0][1] == 60 * 9);

    // One series per host, paged by host.
    auto page1 = Get(client, base + "&step=5m&group=host&limit=2");
    REQUIRE(page1["series"].size() == 2);
    CHECK(page1["series"][0]["host"] == "db-1");
    CHECK(page1["series"][1]["host"] == "web-1");
    CHECK(page1["series"][1]["points"][0][1].get<double>() ==
          doctest::Approx(per_host5m["web-1"].begin()->second.Value(store::Agg::kAvg)));
    REQUIRE(page1["next_cursor"] == "web-1");
    auto page2 = Get(client, base + "&step=5m&group=host&limit=2&cursor=web-1");
    REQUIRE(page2["series"].size() == 1);
    CHECK(page2["series"][0]["host"] == "web-2");
    CHECK(page2["next_cursor"].is_null());

    // Host filters: a list and a prefix.
    auto web = Get(client, base + "&step=1h&agg=count&hosts=web-*");
    CHECK(web["series"][0]["points"][0][1] == 60 * 7);
    auto list = Get(client, base + "&step=1h&agg=count&hosts=web-1,db-1");
    CHECK(list["series"][0]["points"][0][1] == 60 * 3);
    auto one = Get(client, base + "&step=1h&agg=count&host=web-2");
    CHECK(one["series"][0]["points"][0][1] == 60 * 6);

    // Relative times are read against the dash's clock (kT0 + 2 h).
    auto recent = Get(client, "/api/v1/series?type=app&field=latency.ms&since=-1h&step=1h&agg=count");
    CHECK(recent["since"] == kT0 + kHour);
    CHECK(recent["series"][0]["points"][0][1] == 60 * 9);
    // Without a step the dash picks one that gives at most 500 points.
    auto chosen = Get(client, "/api/v1/series?type=app&field=latency.ms&since=-2h");
    CHECK(chosen["step"] == 30000);
    CHECK(chosen["source"] == "raw");
    // A range that starts before the first sample is still read at the chosen step:
    // nothing has been folded into hours yet.
    auto before = Get(client, "/api/v1/series?type=app&field=latency.ms&since=-3h");
    CHECK(before["step"] == 30000);
    CHECK(before["source"] == "raw");

    auto top = Get(client, "/api/v1/top?type=app&field=latency.ms&since=" + std::to_string(kT0) + "&n=2");
    REQUIRE(top["hosts"].size() == 2);
    CHECK(top["hosts"][0]["host"] == "web-1");
    CHECK(top["hosts"][1]["host"] == "db-1");
    CHECK(top["hosts"][0]["count"] == 120);
    auto bottom = Get(client, "/api/v1/top?type=app&field=latency.ms&agg=count&order=asc&since=" + std::to_string(kT0));
    REQUIRE(bottom["hosts"].size() == 3);
    CHECK(bottom["hosts"][0]["host"] == "web-1");
    CHECK(bottom["hosts"][0]["value"] == 120);
  }

  TEST_CASE("every query route names the parameter it refuses") {
    Pipeline p;
    p.Store({Ev("app", "a", "web-1", kT0, R"({"x":1})")});
    testing::Served<dash::DashService> dash(p.Dash(), "argus_dash");
    http::Client client(dash.endpoint());
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"/api/v1/fields", "parameter 'type' is required"},
        {"/api/v1/fields?type=Bad!", "parameter 'type' must be an event type"},
        {"/api/v1/series?field=x", "parameter 'type' is required"},
        {"/api/v1/series?type=app", "parameter 'field' is required"},
        {"/api/v1/series?type=app&field=x&agg=median", "parameter 'agg' must be one of avg, min, max, sum, count, last"},
        {"/api/v1/series?type=app&field=x&step=0", "parameter 'step' must be a duration"},
        {"/api/v1/series?type=app&field=x&step=1s&since=-7d", "parameter 'step': 1000 ms gives 604800 points"},
        {"/api/v1/series?type=app&field=x&step=30s&since=-12h", "parameter 'step': a step that is not a whole number"},
        {"/api/v1/series?type=app&field=x&since=yesterday", "parameter 'since' must be ms since the epoch or a time"},
        {"/api/v1/series?type=app&field=x&since=now&until=-1h", "parameter 'since' must be before 'until'"},
        {"/api/v1/series?type=app&field=x&host=a&hosts=b", "parameters 'host' and 'hosts' exclude each other"},
        {"/api/v1/series?type=app&field=x&hosts=a,,b", "parameter 'hosts' must be host names"},
        {"/api/v1/series?type=app&field=x&group=type", "parameter 'group' must be one of host"},
        {"/api/v1/series?type=app&field=x&cursor=web-1", "parameter 'cursor' pages hosts"},
        {"/api/v1/series?type=app&field=x&colour=red", "unknown parameter 'colour'"},
        {"/api/v1/top?type=app&field=x&n=0", "parameter 'n' must be an integer from 1 to 1000"},
        {"/api/v1/top?type=app&field=x&order=up", "parameter 'order' must be one of desc, asc"},
        {"/api/v1/hosts?state=sleeping", "parameter 'state' must be one of online, offline, unknown"},
        {"/api/v1/hosts?label=role", "parameter 'label' must be key=value"},
        {"/api/v1/hosts/web-1?since=-3x", "parameter 'since' must be ms since the epoch or a time"},
        {"/api/v1/system?agg=p99", "parameter 'agg' must be one of avg, min, max"},
        {"/api/v1/system?step=30s", "parameter 'step' must be a duration from 60000"},
        {"/api/v1/packet?step=90s", "parameter 'step' must be a multiple of 60000 ms here"},
        {"/api/v1/packet/messages?cursor=zz", "parameter 'cursor' is not a cursor this API returned"},
        {"/api/v1/events?since=-1q", "parameter 'since' must be ms since the epoch or a time"},
        {"/api/v1/events?limit=0", "parameter 'limit' must be an integer from 1 to 1000"},
        {"/api/v1/events?cursor=x", "parameter 'cursor' is not a cursor this API returned"},
        {"/api/v1/types?limit=x", "parameter 'limit' must be an integer from 1 to 1000"},
        {"/api/v1/hosts?colour=red", "unknown parameter 'colour'"},
        {"/api/v1/hosts/web-1?colour=red", "unknown parameter 'colour'"},
        {"/api/v1/rates?step=30s", "parameter 'step' must be a duration from 60000"},
        {"/api/v1/rates?since=-30d", "parameter 'since': events are counted over at most 7 days"},
        {"/api/v1/fields?type=app&limit=5000", "parameter 'limit' must be an integer from 1 to 1000"},
        {"/api/v1/top?field=x", "parameter 'type' is required"},
        {"/api/v1/packet/messages?limit=501", "parameter 'limit' must be an integer from 1 to 500"},
        {"/api/v1/events/stream?type=Bad!", "parameter 'type' must be an event type"},
        {"/api/v1/system?host=", "parameter 'host' must be 1 to 255 characters"},
    };
    for (const auto& [target, message] : cases) {
      CAPTURE(target);
      auto res = client.Get(target);
      CHECK(res.status == 400);
      const std::string error = json::parse(res.body).value("error", "");
      CHECK_MESSAGE(error.rfind(message, 0) == 0, error);
    }
    CHECK(Get(client, "/api/v1/hosts/nobody", 404)["error"] == "no host 'nobody' in the store");
    CHECK(Get(client, "/api/v1/hosts/", 404)["error"].get<std::string>().rfind("no such path", 0) == 0);
  }

  TEST_CASE("hosts with labels, a host page, system charts and packet delivery") {
    Pipeline p;
    std::vector<proto::Event> events;
    for (int h = 0; h < 4; ++h) {
      const std::string host = (h < 3 ? "web-" : "db-") + std::to_string(h);
      const json hb = {{"version", "2.0.0"}, {"interval_s", 30},
                       {"labels", {{"role", h < 3 ? "web" : "db"}, {"region", "eu-1"}}},
                       {"counters", {{"sent", 100 + h}, {"spooled", 0}, {"dropped", h}}}};
      events.push_back(Ev("argus.agent", "hb" + std::to_string(h), host, kT0 + 2 * kHour - 10000, hb.dump()));
      for (int m = 0; m < 10; ++m) {
        const json sample = {{"cpu", {{"pct", 10.0 * h + m}}}, {"mem", {{"total_bytes", 1000}, {"used_bytes", 250}, {"pct", 25.0}}},
                             {"load", {{"1m", 0.5}}}, {"disk", {{"/", {{"total_bytes", 100}, {"used_bytes", 40}, {"pct", 40.0}}}}}};
        events.push_back(Ev("system", "s" + std::to_string(h) + "-" + std::to_string(m), host,
                            kT0 + kHour + m * kMinute, sample.dump()));
      }
    }
    // Two messages on chain "c1": m1 reaches both receivers, m2 one of two.
    events.push_back(Ev("packet", "p1", "web-0", kT0 + kHour, R"({"direction":"send","msg_id":"m1","network":"c1","expected":2})"));
    events.push_back(Ev("packet", "p2", "web-1", kT0 + kHour + 100, R"({"direction":"recv","msg_id":"m1","network":"c1","hops":1})"));
    events.push_back(Ev("packet", "p3", "web-2", kT0 + kHour + 300, R"({"direction":"recv","msg_id":"m1","network":"c1","hops":3})"));
    events.push_back(Ev("packet", "p4", "web-0", kT0 + kHour + 1000, R"({"direction":"send","msg_id":"m2","network":"c1","expected":2})"));
    events.push_back(Ev("packet", "p5", "web-1", kT0 + kHour + 1500, R"({"direction":"recv","msg_id":"m2","network":"c1","hops":2})"));
    p.Store(events);
    testing::Served<dash::DashService> dash(p.Dash(), "argus_dash");
    http::Client client(dash.endpoint());

    auto all = Get(client, "/api/v1/hosts");
    REQUIRE(all["hosts"].size() == 4);
    CHECK(all["hosts"][0]["host"] == "db-3");
    CHECK(all["hosts"][0]["labels"]["role"] == "db");
    CHECK(all["hosts"][0]["state"] == "online");
    CHECK(Get(client, "/api/v1/hosts?label=role=web")["hosts"].size() == 3);
    CHECK(Get(client, "/api/v1/hosts?label=role=db&prefix=web")["hosts"].size() == 0);
    CHECK(Get(client, "/api/v1/hosts?prefix=web-&limit=2")["next_cursor"] == "web-1");
    CHECK(Get(client, "/api/v1/hosts?prefix=web-&cursor=web-1")["hosts"].size() == 1);
    CHECK(Get(client, "/api/v1/hosts?state=offline")["hosts"].size() == 0);
    CHECK(Get(client, "/api/v1/hosts?state=online")["hosts"].size() == 4);

    auto host = Get(client, "/api/v1/hosts/web-1");
    CHECK(host["host"] == "web-1");
    CHECK(host["agent_version"] == "2.0.0");
    CHECK(host["labels"]["region"] == "eu-1");
    CHECK(host["agent"]["counters"]["sent"] == 101);
    CHECK(host["system"]["ts"] == kT0 + kHour + 9 * kMinute);
    CHECK(host["system"]["cpu_pct"] == 19.0);
    REQUIRE(host["system"]["disks"].size() == 1);
    CHECK(host["system"]["disks"][0]["mount"] == "/");
    json types;
    for (const auto& t : host["types"]["types"]) types[t["type"].get<std::string>()] = t["events"];
    // argus.host: the hosts aggregator recorded the host as added.
    CHECK(types == json({{"argus.agent", 1}, {"argus.host", 1}, {"packet", 2}, {"system", 10}}));

    auto sys = Get(client, "/api/v1/system?host=web-1&since=" + std::to_string(kT0 + kHour) + "&step=5m");
    REQUIRE(sys["series"][0]["metric"] == "cpu_pct");
    const auto& cpu = sys["series"][0]["points"];
    REQUIRE(cpu.size() == 2);
    CHECK(cpu[0][1] == 12.0);  // 10..14
    CHECK(cpu[1][1] == 17.0);  // 15..19
    auto sys_max = Get(client, "/api/v1/system?agg=max&since=" + std::to_string(kT0 + kHour) + "&step=1h");
    CHECK(sys_max["series"][0]["points"][0][1] == 39.0);

    auto packet = Get(client, "/api/v1/packet?network=c1&since=" + std::to_string(kT0 + kHour) + "&step=1m");
    REQUIRE(packet["networks"].size() == 1);
    const auto& pt = packet["networks"][0]["points"][0];
    CHECK(pt["sent"] == 2);
    CHECK(pt["expected"] == 4);
    CHECK(pt["received"] == 3);
    CHECK(pt["drop_rate"].get<double>() == doctest::Approx(0.25));
    CHECK(pt["hops_avg"].get<double>() == doctest::Approx(2.0));
    CHECK(pt["delay_avg_ms"].get<double>() == doctest::Approx((100 + 300 + 500) / 3.0));
    CHECK(pt["delay_max_ms"] == 500);

    auto messages = Get(client, "/api/v1/packet/messages?network=c1&limit=1");
    REQUIRE(messages["messages"].size() == 1);
    CHECK(messages["messages"][0]["msg"] == "m2");
    CHECK(messages["messages"][0]["receipts"][0]["host"] == "web-1");
    CHECK(messages["messages"][0]["receipts"][0]["delay_ms"] == 500);
    auto older = Get(client, "/api/v1/packet/messages?network=c1&limit=1&cursor=" +
                                 messages["next_cursor"].get<std::string>());
    REQUIRE(older["messages"].size() == 1);
    CHECK(older["messages"][0]["receivers"] == 2);
    CHECK(older["messages"][0]["delivery_rate"] == 1.0);
  }

  TEST_CASE("the dash reads the store read-only and waits for the consumers to create it") {
    testing::TempDir dir;
    dash::DashOptions d;
    d.db_path = dir / "later.db";
    testing::Served<dash::DashService> dash(std::make_unique<dash::DashService>(d), "argus_dash");
    http::Client client(dash.endpoint());
    auto early = client.Get("/api/v1/types");
    CHECK(early.status == 503);
    CHECK(json::parse(early.body)["error"].get<std::string>().find("the consumers create it") != std::string::npos);
    CHECK(client.Get("/healthz").status == 503);
    CHECK_FALSE(std::filesystem::exists(dir / "later.db"));  // a reader creates nothing

    store::Database::Open(dir / "later.db");  // as the first consumer does
    CHECK(client.Get("/healthz").status == 200);
    CHECK(Get(client, "/api/v1/types")["types"].size() == 0);
    auto metrics = client.Get("/metrics").body;
    CHECK(metrics.find("argus_dash_store_unavailable_total 2") != std::string::npos);
  }

  TEST_CASE("answers are gzipped, tagged (304 when unchanged) and cached for a short while") {
    Pipeline p;
    std::vector<proto::Event> events;
    for (int i = 0; i < 200; ++i) {
      events.push_back(Ev("app", "a" + std::to_string(i), "web-" + std::to_string(i % 50), kT0 + i * 1000, R"({"x":1})"));
    }
    p.Store(events);
    testing::Served<dash::DashService> dash(p.Dash(), "argus_dash");
    http::Client client(dash.endpoint());
    const std::string target = "/api/v1/hosts";

    auto gz = client.Request("GET", target, {}, {{"Accept-Encoding", "gzip"}});
    REQUIRE(gz.status == 200);
    CHECK(gz.headers["content-encoding"] == "gzip");
    std::string body;
    REQUIRE_OK(http::Gunzip(gz.body, 1 << 20, &body));
    CHECK(json::parse(body)["hosts"].size() == 50);
    const std::string etag = gz.headers["etag"];
    REQUIRE_FALSE(etag.empty());

    auto same = client.Request("GET", target, {}, {{"If-None-Match", etag}});
    CHECK(same.status == 304);
    CHECK(same.body.empty());
    auto plain = client.Get(target);
    CHECK(plain.headers.count("content-encoding") == 0);
    CHECK(plain.body == body);

    // Within the ttl the answer comes from the cache, even with newer data stored; once
    // it has passed, the query runs again and the tag changes.
    auto metrics = [&] { return client.Get("/metrics").body; };
    CHECK(metrics().find("argus_dash_cache_hits_total 2") != std::string::npos);
    p.Store({Ev("app", "late", "web-new", kT0, R"({"x":1})")});
    CHECK(json::parse(client.Get(target).body)["hosts"].size() == 50);
    p.clock.Advance(2001ms);
    auto fresh = client.Request("GET", target, {}, {{"If-None-Match", etag}});
    CHECK(fresh.status == 200);
    CHECK(json::parse(fresh.body)["hosts"].size() == 51);
    CHECK(fresh.headers["etag"] != etag);
    const std::string m = metrics();
    CHECK(m.find("argus_dash_cache_hits_total 3") != std::string::npos);
    CHECK(m.find("argus_dash_cache_misses_total 2") != std::string::npos);
    // Errors are neither cached nor tagged.
    auto bad = client.Get("/api/v1/series?type=app");
    CHECK(bad.status == 400);
    CHECK(bad.headers.count("etag") == 0);
  }

  TEST_CASE("the live tail streams new events of its filter, resumes from Last-Event-ID, and is capped") {
    Pipeline p;
    p.Store({Ev("app", "old", "web-1", kT0, R"({"x":0})")});
    dash::DashOptions d;
    d.db_path = p.dir / "a.db";
    d.clock = &p.clock;
    d.max_streams = 2;
    http::ServerOptions so;
    so.stream_poll = 100ms;
    so.stream_keepalive = 300ms;
    so.handler_threads = 2;
    testing::Served<dash::DashService> dash(std::make_unique<dash::DashService>(d), "argus_dash", so);
    const uint16_t port = dash.endpoint().port;

    auto tail = std::make_unique<SseClient>(port, "/api/v1/events/stream?type=app&host=web-1");
    REQUIRE(tail->ReadUntil("\r\n\r\n"));
    CHECK(tail->got().rfind("HTTP/1.1 200 OK", 0) == 0);
    CHECK(tail->got().find("Content-Type: text/event-stream") != std::string::npos);
    CHECK(tail->got().find("Transfer-Encoding: chunked") != std::string::npos);
    REQUIRE(tail->ReadUntil(": keep-alive"));  // nothing new yet: a comment keeps it open

    p.Store({Ev("app", "n1", "web-1", kT0 + 1, R"({"x":1})"), Ev("other", "o1", "web-1", kT0 + 1, R"({"x":1})"),
             Ev("app", "n2", "web-2", kT0 + 1, R"({"x":1})"), Ev("app", "n3", "web-1", kT0 + 2, R"({"x":3})")});
    REQUIRE(tail->ReadUntil("\"id\":\"n3\""));
    CHECK(tail->got().find("\"id\":\"old\"") == std::string::npos);  // only what came after it opened
    CHECK(tail->got().find("\"id\":\"o1\"") == std::string::npos);
    CHECK(tail->got().find("\"id\":\"n2\"") == std::string::npos);
    CHECK(tail->got().find("event: event\ndata: {\"addr\":\"127.0.0.1\",\"content\":{\"x\":1}") != std::string::npos);
    const auto ids = tail->Ids();
    REQUIRE(ids.size() == 2);
    CHECK(ids[0] < ids[1]);

    // A reconnect with the last id it got sends what came after it, and only that.
    auto resumed = std::make_unique<SseClient>(port, "/api/v1/events/stream?type=app", std::to_string(ids[0]));
    REQUIRE(resumed->ReadUntil("\"id\":\"n3\""));
    CHECK(resumed->got().find("\"id\":\"n1\"") == std::string::npos);
    // (n2 is there when the consumer stored it after n1: shards are read in any order.)
    for (int64_t id : resumed->Ids()) CHECK(id > ids[0]);
    CHECK(resumed->Ids().back() == ids[1]);

    // Two are open: a third is refused until one goes.
    SseClient third(port, "/api/v1/events/stream");
    REQUIRE(third.ReadUntil("\r\n\r\n"));
    CHECK(third.got().rfind("HTTP/1.1 503", 0) == 0);
    CHECK(third.got().find("too many live tails are open (2, --max-streams)") != std::string::npos);
    resumed.reset();  // the server notices at its next write (a keep-alive at the latest)
    CHECK(testing::WaitFor([&] {
      return http::Client(dash.endpoint()).Get("/metrics").body.find("argus_dash_streams 1\n") != std::string::npos;
    }, 10s));
    SseClient fourth(port, "/api/v1/events/stream");
    REQUIRE(fourth.ReadUntil("\r\n\r\n"));
    CHECK(fourth.got().rfind("HTTP/1.1 200", 0) == 0);

    SseClient bad(port, "/api/v1/events/stream", "abc");
    REQUIRE(bad.ReadUntil("}"));
    CHECK(bad.got().find("header 'Last-Event-ID' must be the id of an event this stream sent") != std::string::npos);
    CHECK(http::Client(dash.endpoint()).Get("/metrics").body.find("argus_dash_streams_refused_total 1") !=
          std::string::npos);
  }

  TEST_CASE("rules through the API: the admin token writes, bad rules are named, file rules are read-only") {
    testing::TempDir dir;
    {
      auto db = store::Database::Open(dir / "a.db");
      store::AlertStore(*db).Put("from-file", R"({"name":"from-file","kind":"absent"})", "file", 1);
    }
    dash::DashOptions d;
    d.db_path = dir / "a.db";
    d.read_token = "reader";
    d.admin_token = "admin";
    testing::Served<dash::DashService> dash(std::make_unique<dash::DashService>(d), "argus_dash");
    http::Client client(dash.endpoint());
    auto call = [&](const char* method, const std::string& target, const std::string& token, const std::string& body = "") {
      return client.Request(method, target, body, {{"Authorization", "Bearer " + token}});
    };
    const std::string rule = R"({"name":"slow","kind":"threshold","type":"app","field":"latency_ms","op":">","value":100,"for":"2m"})";
    CHECK(client.Request("POST", "/api/v1/rules", rule).status == 401);
    CHECK(call("POST", "/api/v1/rules", "reader", rule).status == 401);
    auto created = call("POST", "/api/v1/rules", "admin", rule);
    REQUIRE(created.status == 201);
    CHECK(json::parse(created.body)["version"] == 1);
    CHECK(json::parse(created.body)["rule"]["interval"] == "30s");  // stored as read, defaults filled in
    CHECK(call("POST", "/api/v1/rules", "admin", rule).status == 409);
    auto bad = call("POST", "/api/v1/rules", "admin", R"({"name":"x","kind":"threshold","type":"app","field":"f","op":">","value":1,"for":"soon"})");
    CHECK(bad.status == 400);
    CHECK(json::parse(bad.body)["error"].get<std::string>().rfind("rule.for: must be a duration", 0) == 0);
    CHECK(json::parse(call("POST", "/api/v1/rules", "admin", "{oops").body)["error"] == "the body is not JSON (a rule object)");

    auto list = json::parse(call("GET", "/api/v1/rules", "reader").body)["rules"];
    REQUIRE(list.size() == 2);
    CHECK(list[0]["name"] == "from-file");
    CHECK(list[0]["source"] == "file");
    CHECK(list[1]["rule"]["for"] == "2m");
    CHECK(call("GET", "/api/v1/rules/slow", "admin").status == 200);  // the admin token reads too
    CHECK(call("GET", "/api/v1/rules/nope", "reader").status == 404);

    auto renamed = call("PUT", "/api/v1/rules/other", "admin", rule);
    CHECK(renamed.status == 400);
    CHECK(json::parse(renamed.body)["error"] == "rule.name: \"slow\" is not the name in the path (\"other\")");
    auto replaced = call("PUT", "/api/v1/rules/slow", "admin", R"({"name":"slow","kind":"absent","for":"90s"})");
    REQUIRE(replaced.status == 200);
    CHECK(json::parse(replaced.body)["version"] == 2);
    CHECK(json::parse(replaced.body)["rule"]["kind"] == "absent");
    CHECK(call("PUT", "/api/v1/rules/from-file", "admin", R"({"name":"from-file","kind":"absent"})").status == 403);
    CHECK(call("DELETE", "/api/v1/rules/from-file", "admin").status == 403);
    CHECK(call("DELETE", "/api/v1/rules/slow", "reader").status == 401);
    CHECK(call("DELETE", "/api/v1/rules/slow", "admin").status == 204);
    CHECK(call("DELETE", "/api/v1/rules/slow", "admin").status == 404);
    CHECK(json::parse(call("GET", "/api/v1/rules", "reader").body)["rules"].size() == 1);

    dash::DashOptions ro = d;
    ro.admin_token.clear();
    testing::Served<dash::DashService> readonly(std::make_unique<dash::DashService>(ro), "argus_dash");
    auto refused = http::Client(readonly.endpoint()).Request("POST", "/api/v1/rules", rule, {{"Authorization", "Bearer reader"}});
    CHECK(refused.status == 403);
    CHECK(json::parse(refused.body)["error"] == "this dash has no --admin-token, so it takes no writes");
  }
}
