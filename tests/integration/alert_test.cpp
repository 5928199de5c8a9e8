// The alert evaluator and notifier against a real redis-server, a real SQLite store
// filled by a real consumer, and real HTTP receivers: notifications exactly once,
// through `for`, recovery, a receiver that is down, a stopped consumer, an agent that
// goes silent, and two evaluators of which one dies.
#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "alert/evaluator.h"
#include "alert/notifier.h"
#include "base/clock.h"
#include "consumer/consumer.h"
#include "dash/service.h"
#include "http/client.h"
#include "http/server.h"
#include "queue/streams.h"
#include "store/alerts.h"
#include "tests/support/served.h"
#include "tests/support/support.h"

using namespace argus;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// A webhook receiver on a fixed loopback port that can be down (not listening) and
// records every call it answered 2xx, with its headers.
class Receiver {
 public:
  struct Call {
    std::string key, signature;
    json body;
  };
  explicit Receiver(uint16_t port) : port_(port) {}
  ~Receiver() { Stop(); }
  void Start() {
    http::ServerOptions so;
    so.listen = {"127.0.0.1", port_};
    so.threads = 1;
    server_ = std::make_unique<http::Server>(so, [this](const http::Request& r, const http::Peer&) {
      std::lock_guard lock(mu_);
      ++attempts_;
      if (fail_next_ > 0) {
        --fail_next_;
        return http::JsonError(boost::beast::http::status::service_unavailable, "busy");
      }
      calls_.push_back(
          {std::string(r["X-Argus-Key"]), std::string(r["X-Argus-Signature"]), json::parse(r.body())});
      return http::Json(boost::beast::http::status::ok, {{"ok", true}});
    });
    server_->Start();
    thread_ = std::thread([this] { server_->Run(); });
  }
  void Stop() {
    if (!server_) return;
    server_->Stop();
    thread_.join();
    server_.reset();
  }
  void FailNext(int n) {
    std::lock_guard lock(mu_);
    fail_next_ = n;
  }
  std::vector<Call> calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }
  int attempts() {
    std::lock_guard lock(mu_);
    return attempts_;
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }

 private:
  uint16_t port_;
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
  std::mutex mu_;
  std::vector<Call> calls_;
  int attempts_ = 0, fail_next_ = 0;
};

// One notification's status and key as the receiver got it.
std::vector<std::pair<std::string, std::string>> Received(Receiver& r) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& c : r.calls()) out.emplace_back(c.key, c.body["status"].get<std::string>());
  return out;
}

// Keys received more than once.
std::vector<std::string> Twice(Receiver& r) {
  std::map<std::string, int> seen;
  std::vector<std::string> out;
  for (const auto& c : r.calls()) {
    if (++seen[c.key] == 2) out.push_back(c.key);
  }
  return out;
}

// Everything of one alert pipeline: redis, the store, a consumer, and the rules file.
struct Pipeline {
  testing::RedisServer redis;
  testing::TempDir dir;
  std::string db = dir / "argus.db";
  std::string rules = dir / "rules.json";
  consumer::Consumer consumer{[&] {
    consumer::ConsumerOptions o;
    o.type = "all";
    o.redis = redis.options();
    o.db_path = db;
    o.name = "c1";
    o.types_refresh = 0ms;
    o.claim_every = 0ms;
    o.publish_every = 0ms;
    return o;
  }()};
  queue::Redis writer{redis.options()};

  void Send(const std::string& type, const std::string& host, const json& content) {
    static std::atomic<int> n{0};
    proto::Event e;
    e.type = type;
    e.host = host;
    e.id = "e" + std::to_string(++n);
    e.ts = base::SystemClock().WallMs();
    e.recv_ts = e.ts;
    e.addr = "127.0.0.1";
    e.content = content.dump();
    REQUIRE(queue::AppendEvents(writer, {e}, 4).ok());
  }
  alert::EvaluatorOptions Evaluator(const std::string& name) {
    alert::EvaluatorOptions o;
    o.db_path = db;
    o.redis = redis.options();
    o.name = name;
    o.rules_path = rules;
    o.tick_ms = 100;
    o.heartbeat_ttl_ms = 1500;
    o.max_lag_ms = 1500;
    return o;
  }
  alert::NotifierOptions Notifier(const std::string& name) {
    alert::NotifierOptions o;
    o.redis = redis.options();
    o.name = name;
    o.backoff_min_ms = 100;
    o.backoff_max_ms = 400;
    o.claim_idle_ms = 1000;
    o.db_path = db;
    return o;
  }
  alert::AlertConfig Config() {
    alert::AlertConfig c;
    REQUIRE(alert::LoadConfig(rules, &c).ok());
    return c;
  }
  std::unique_ptr<alert::Evaluator> evaluator;
  std::unique_ptr<alert::Notifier> notifier;
  // Writes the rules file, then makes the evaluator "e1" (rules loaded) and the
  // notifier "n1" over it.
  void Start(const json& file, const std::function<void(alert::NotifierOptions&)>& tweak = {}) {
    testing::WriteFile(rules, file.dump());
    evaluator = std::make_unique<alert::Evaluator>(Evaluator("e1"));
    REQUIRE(evaluator->Reload().ok());
    auto opts = Notifier("n1");
    if (tweak) tweak(opts);
    notifier = std::make_unique<alert::Notifier>(opts, Config());
  }
  std::vector<store::AlertHistoryRow> History() {
    auto conn = store::Database::Open(db);
    store::Statement s(*conn, "SELECT rule, host, from_state, to_state FROM alert_history ORDER BY seq");
    std::vector<store::AlertHistoryRow> out;
    while (s.Step()) {
      store::AlertHistoryRow h;
      h.rule = s.Text(0);
      h.host = s.Text(1);
      h.from = s.Text(2);
      h.to = s.Text(3);
      out.push_back(h);
    }
    return out;
  }
};

json RulesFile(const json& rules, const std::string& url, const std::string& repeat = "1h") {
  return {{"rules", rules},
          {"receivers", {{{"name", "hook"}, {"webhook", {{"url", url}, {"secret", "s3cret"}}}}}},
          {"route",
           {{"receiver", "hook"},
            {"repeat_interval", repeat},
            {"group_wait", "0s"},
            {"group_by", {"rule", "host"}}}}};
}

// Runs rounds of the consumer, the evaluator and the notifier until `done`.
bool Drive(Pipeline& p, alert::Evaluator& e, alert::Notifier& n, const std::function<bool()>& done,
           std::chrono::milliseconds timeout = 20s, bool consume = true) {
  return testing::WaitFor(
      [&] {
        if (consume) p.consumer.RunOnce();
        e.RunOnce();
        n.RunOnce();
        return done();
      },
      timeout);
}

}  // namespace

TEST_CASE("a threshold fires after its for, notifies once, repeats, and recovers once") {
  Pipeline p;
  Receiver hook(testing::FreePort());
  hook.Start();
  p.Start(RulesFile({{{"name", "cpu-high"},
                      {"kind", "threshold"},
                      {"type", "cpu"},
                      {"field", "used"},
                      {"agg", "last"},
                      {"hosts", "*"},
                      {"op", ">"},
                      {"value", 90},
                      {"clear", 80},
                      {"window", "1m"},
                      {"for", "2s"},
                      {"interval", "1s"},
                      {"severity", "critical"},
                      {"labels", {{"team", "ops"}}},
                      {"message", "{{host}}: cpu {{value}}% over {{threshold}}%"}}},
                    hook.url(), "3s"));
  auto& e = *p.evaluator;
  auto& n = *p.notifier;

  p.Send("cpu", "web-01", {{"used", 95}});
  p.Send("cpu", "web-02", {{"used", 20}});
  const auto started = std::chrono::steady_clock::now();
  REQUIRE(Drive(p, e, n, [&] { return !hook.calls().empty(); }));
  const auto fired_after = std::chrono::steady_clock::now() - started;
  CHECK(fired_after >= 2s);  // not before its `for`: a lower bound, which noise cannot break

  auto calls = hook.calls();
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].key == "cpu-high/web-01/2");  // ok -> pending (1) -> alarm (2)
  CHECK(calls[0].body["version"] == "4");
  CHECK(calls[0].body["status"] == "firing");
  const json& alert = calls[0].body["alerts"][0];
  CHECK(alert["labels"]["alertname"] == "cpu-high");
  CHECK(alert["labels"]["host"] == "web-01");
  CHECK(alert["labels"]["severity"] == "critical");
  CHECK(alert["labels"]["team"] == "ops");
  CHECK(alert["annotations"]["summary"] == "web-01: cpu 95% over 90%");
  CHECK(calls[0].signature == alert::Signature("s3cret", calls[0].body.dump()));

  // Still firing: one repeat per repeat_interval (3 s), under its own key.
  REQUIRE(Drive(p, e, n, [&] { return hook.calls().size() == 2; }));
  CHECK(hook.calls()[1].key == "cpu-high/web-01/2/r1");
  CHECK(hook.calls()[1].body["status"] == "firing");

  // Between clear (80) and value (90): hysteresis holds the alarm.
  p.Send("cpu", "web-01", {{"used", 85}});
  for (int i = 0; i < 5; ++i) {
    p.consumer.RunOnce();
    e.RunOnce();
    n.RunOnce();
    std::this_thread::sleep_for(200ms);
  }
  for (const auto& c : hook.calls()) CHECK(c.body["status"] == "firing");

  p.Send("cpu", "web-01", {{"used", 10}});
  REQUIRE(Drive(p, e, n, [&] {
    auto c = hook.calls();
    return !c.empty() && c.back().body["status"] == "resolved";
  }));
  // A few more rounds: nothing else comes.
  for (int i = 0; i < 10; ++i) {
    p.consumer.RunOnce();
    e.RunOnce();
    n.RunOnce();
    std::this_thread::sleep_for(100ms);
  }
  calls = hook.calls();
  int resolved = 0;
  for (const auto& c : calls) resolved += c.body["status"] == "resolved";
  CHECK(resolved == 1);
  CHECK(calls.back().key == "cpu-high/web-01/3");
  CHECK(calls.back().body["alerts"][0]["endsAt"] != "0001-01-01T00:00:00Z");
  CHECK(Twice(hook).empty());
  CHECK(n.stats().failed == 0);

  // The history has every transition, and web-02 (below) never left ok.
  const auto history = p.History();
  std::vector<std::string> moves;
  for (const auto& h : history) moves.push_back(h.host + " " + h.from + ">" + h.to);
  CHECK(moves == std::vector<std::string>{"web-01 ok>pending", "web-01 pending>alarm", "web-01 alarm>ok"});
}

TEST_CASE("a receiver that is down gets every notification once when it comes back") {
  Pipeline p;
  Receiver hook(testing::FreePort());  // not started: connection refused
  p.Start(RulesFile({{{"name", "disk"},
                      {"kind", "threshold"},
                      {"type", "disk"},
                      {"field", "pct"},
                      {"agg", "last"},
                      {"op", ">="},
                      {"value", 90},
                      {"interval", "1s"}}},
                    hook.url()));
  auto& e = *p.evaluator;
  auto& n = *p.notifier;
  for (int h = 0; h < 5; ++h) p.Send("disk", "db-0" + std::to_string(h), {{"pct", 95}});
  REQUIRE(Drive(p, e, n, [&] { return n.stats().failed >= 10; }));
  for (int h = 0; h < 5; ++h) p.Send("disk", "db-0" + std::to_string(h), {{"pct", 10}});
  REQUIRE(Drive(p, e, n, [&] { return e.stats().notifications == 10; }));
  CHECK(hook.attempts() == 0);

  // Back up, but the first answers are lost in a 503: those are retried too.
  hook.Start();
  hook.FailNext(3);
  REQUIRE(Drive(p, e, n, [&] { return hook.calls().size() >= 10 && n.in_flight() == 0; }));
  std::this_thread::sleep_for(500ms);
  n.RunOnce();
  const auto got = Received(hook);
  CHECK(got.size() == 10);
  CHECK(Twice(hook).empty());
  std::set<std::string> keys;
  for (const auto& [k, status] : got) keys.insert(k);
  for (int h = 0; h < 5; ++h) {
    CHECK(keys.count("disk/db-0" + std::to_string(h) + "/1"));  // firing
    CHECK(keys.count("disk/db-0" + std::to_string(h) + "/2"));  // resolved
  }
  CHECK(n.stats().dead_lettered == 0);
  CHECK(n.stats().retried > 0);
}

TEST_CASE("a notification no receiver takes is dead-lettered after its time") {
  Pipeline p;
  Receiver hook(testing::FreePort());
  p.Start(RulesFile({{{"name", "disk"},
                      {"kind", "threshold"},
                      {"type", "disk"},
                      {"field", "pct"},
                      {"agg", "last"},
                      {"op", ">="},
                      {"value", 90},
                      {"interval", "1s"}}},
                    hook.url()),
          [](alert::NotifierOptions& o) { o.give_up_after_ms = 1500; });
  auto& e = *p.evaluator;
  auto& n = *p.notifier;
  p.Send("disk", "db-01", {{"pct", 99}});
  REQUIRE(Drive(p, e, n, [&] { return n.stats().dead_lettered == 1; }));
  CHECK(n.in_flight() == 0);
  queue::Redis r(p.redis.options());
  CHECK(r.Run({"XLEN", std::string(alert::kDeadNotifications)}).integer() == 1);
  // Nothing is left pending in the group: the dead letter was acknowledged.
  n.RunOnce();
  CHECK(n.in_flight() == 0);
  CHECK(hook.attempts() == 0);
  // The pipeline view shows it.
  dash::DashOptions d;
  d.db_path = p.db;
  d.redis = p.redis.options();
  testing::Served<dash::DashService> dash(std::make_unique<dash::DashService>(d), "argus_dash");
  auto res = http::Client(dash.endpoint()).Get("/api/v1/pipeline");
  REQUIRE(res.status == 200);
  const json notes = json::parse(res.body)["notifications"];
  CHECK(notes["dead_letters"] == 1);
  CHECK(notes["pending"] == 0);
  CHECK(notes["length"] == 1);
}

TEST_CASE("a stopped consumer gives insufficient_data, an absent agent an alarm, its return a recovery") {
  Pipeline p;
  Receiver hook(testing::FreePort());
  hook.Start();
  p.Start(RulesFile({{{"name", "host-absent"},
                      {"kind", "absent"},
                      {"hosts", "*"},
                      {"for", "3s"},
                      {"interval", "1s"},
                      {"severity", "warning"}}},
                    hook.url()));
  auto& e = *p.evaluator;
  auto& n = *p.notifier;
  auto beat = [&] { p.Send("argus.agent", "vm-1", {{"version", "test"}, {"interval_s", 1}}); };
  auto state = [&] {
    auto conn = store::Database::Open(p.db);
    auto rows = store::AlertStore(*conn).States("host-absent");
    return rows.empty() ? std::string() : rows[0].state;
  };
  // Agent alive, consumer running: ok.
  REQUIRE(testing::WaitFor(
      [&] {
        beat();
        p.consumer.RunOnce();
        e.RunOnce();
        n.RunOnce();
        return state() == "ok";
      },
      10s));

  // The consumer stops while the agent goes on: its heartbeats wait in Redis. Past
  // max_lag the rule cannot judge, which is insufficient_data, never an alarm.
  REQUIRE(testing::WaitFor(
      [&] {
        beat();
        e.RunOnce();
        n.RunOnce();
        std::this_thread::sleep_for(100ms);
        return state() == "insufficient_data";
      },
      15s));
  for (int i = 0; i < 30; ++i) {  // 3 s more: longer than the rule's `for`
    beat();
    e.RunOnce();
    n.RunOnce();
    std::this_thread::sleep_for(100ms);
  }
  CHECK(state() == "insufficient_data");
  CHECK(hook.calls().empty());

  // The consumer catches up: ok again, with nothing sent.
  REQUIRE(Drive(p, e, n, [&] {
    beat();
    return state() == "ok";
  }));
  CHECK(hook.calls().empty());

  // The agent dies (no more heartbeats), the consumer runs: the alarm fires once.
  REQUIRE(Drive(p, e, n, [&] { return hook.calls().size() == 1; }));
  CHECK(hook.calls()[0].body["status"] == "firing");
  CHECK(hook.calls()[0].body["alerts"][0]["labels"]["host"] == "vm-1");
  // It comes back: one recovery.
  REQUIRE(Drive(p, e, n, [&] {
    beat();
    return hook.calls().size() == 2;
  }));
  CHECK(hook.calls()[1].body["status"] == "resolved");
  CHECK(Twice(hook).empty());
}

TEST_CASE("an event rule fires on a matching event and resolves on its resolve event") {
  Pipeline p;
  Receiver hook(testing::FreePort());
  hook.Start();
  p.Start(RulesFile({{{"name", "node-down"},
                      {"kind", "event"},
                      {"type", "networksize"},
                      {"match", {{"node_id_status", "dead"}}},
                      {"resolve_match", {{"node_id_status", "alive"}}},
                      {"interval", "1s"},
                      {"severity", "critical"}}},
                    hook.url()));
  auto& e = *p.evaluator;
  auto& n = *p.notifier;
  p.Send("networksize", "n1", {{"node_id_status", "alive"}});
  p.Send("networksize", "n2", {{"node_id_status", "dead"}, {"node", 7}});
  REQUIRE(Drive(p, e, n, [&] { return hook.calls().size() == 1; }));
  CHECK(hook.calls()[0].body["alerts"][0]["labels"]["host"] == "n2");
  CHECK(hook.calls()[0].body["status"] == "firing");
  // A second "dead" while in alarm changes nothing; "alive" resolves.
  p.Send("networksize", "n2", {{"node_id_status", "dead"}});
  p.Send("networksize", "n2", {{"node_id_status", "alive"}});
  REQUIRE(Drive(p, e, n, [&] { return hook.calls().size() == 2; }));
  CHECK(hook.calls()[1].body["status"] == "resolved");
  // A restarted evaluator reads the recent events again, and raises nothing old.
  alert::Evaluator again(p.Evaluator("e1"));
  REQUIRE(again.Reload().ok());
  for (int i = 0; i < 10; ++i) {
    again.RunOnce();
    n.RunOnce();
    std::this_thread::sleep_for(100ms);
  }
  CHECK(hook.calls().size() == 2);
}

TEST_CASE("two evaluators share the pairs, and when one dies each notification still comes once") {
  Pipeline p;
  Receiver hook(testing::FreePort());
  hook.Start();
  testing::WriteFile(p.rules, RulesFile({{{"name", "load"},
                                          {"kind", "threshold"},
                                          {"type", "load"},
                                          {"field", "v"},
                                          {"agg", "last"},
                                          {"op", ">"},
                                          {"value", 5},
                                          {"interval", "1s"}}},
                                        hook.url())
                                  .dump());
  constexpr int kHosts = 20;
  auto host = [](int h) { return "h" + std::to_string(h); };
  for (int h = 0; h < kHosts; ++h) p.Send("load", host(h), {{"v", 1}});
  p.consumer.RunOnce();

  alert::Evaluator e1(p.Evaluator("e1")), e2(p.Evaluator("e2"));
  REQUIRE(e1.Reload().ok());
  alert::Notifier n(p.Notifier("n1"), p.Config());
  std::atomic<bool> stop1{false}, stop2{false}, stop_rest{false};
  std::atomic<int> reloads{0};
  std::thread t1([&] { e1.Run(stop1, reloads); });
  std::thread t2([&] { e2.Run(stop2, reloads); });
  std::thread tn([&] { n.Run(stop_rest, reloads); });
  // Joined however the test ends, so a failed REQUIRE reports instead of aborting.
  struct Joiner {
    std::vector<std::pair<std::atomic<bool>*, std::thread*>> all;
    ~Joiner() {
      for (auto& [stop, t] : all) {
        *stop = true;
        if (t->joinable()) t->join();
      }
    }
  } joiner{{{&stop1, &t1}, {&stop2, &t2}, {&stop_rest, &tn}}};
  REQUIRE(testing::WaitFor([&] { return e1.ring().members().size() == 2 && e2.ring().members().size() == 2; },
                           10s));

  // Half the hosts fire while both run; each evaluator owns some of them.
  for (int h = 0; h < kHosts / 2; ++h) p.Send("load", host(h), {{"v", 9}});
  REQUIRE(testing::WaitFor(
      [&] {
        p.consumer.RunOnce();
        return hook.calls().size() == kHosts / 2;
      },
      20s));
  CHECK(e1.stats().transitions > 0);
  CHECK(e2.stats().transitions > 0);

  // e2 dies without leaving the ring; the rest fire and the first half recover.
  stop2 = true;
  t2.join();
  constexpr size_t kExpected = kHosts + kHosts / 2;  // each fires once; the first half also recovers
  for (int h = 0; h < kHosts; ++h) p.Send("load", host(h), {{"v", h < kHosts / 2 ? 1 : 9}});
  REQUIRE(testing::WaitFor(
      [&] {
        p.consumer.RunOnce();
        return hook.calls().size() == kExpected;
      },
      30s));
  CHECK(e1.ring().members() == std::vector<std::string>{"e1"});
  std::this_thread::sleep_for(1s);
  stop1 = stop_rest = true;
  t1.join();
  tn.join();

  CHECK(hook.calls().size() == kExpected);
  CHECK(Twice(hook).empty());
  std::map<std::string, std::vector<std::string>> per_host;
  for (const auto& c : hook.calls()) {
    per_host[c.body["alerts"][0]["labels"]["host"].get<std::string>()].push_back(c.body["status"]);
  }
  CHECK(per_host.size() == kHosts);
  for (int h = 0; h < kHosts / 2; ++h) {
    CHECK(per_host[host(h)] == std::vector<std::string>{"firing", "resolved"});
  }
  for (int h = kHosts / 2; h < kHosts; ++h) CHECK(per_host[host(h)] == std::vector<std::string>{"firing"});
}

TEST_CASE("a rule made through the API is evaluated from the next round, and when deleted its states go") {
  Pipeline p;
  Receiver hook(testing::FreePort());
  hook.Start();
  p.Start(RulesFile(json::array(), hook.url()));
  auto& e = *p.evaluator;
  auto& n = *p.notifier;
  p.Send("fan", "f1", {{"rpm", 9000}});
  {
    auto conn = store::Database::Open(p.db);
    store::AlertStore(*conn).Put("fan-fast",
                                 json{{"name", "fan-fast"}, {"kind", "threshold"}, {"type", "fan"}, {"field", "rpm"},
                                      {"agg", "last"}, {"op", ">"}, {"value", 5000}, {"interval", "1s"}}
                                     .dump(),
                                 "api", base::SystemClock().WallMs());
  }
  REQUIRE(Drive(p, e, n, [&] { return hook.calls().size() == 1; }));
  CHECK(hook.calls()[0].body["alerts"][0]["labels"]["alertname"] == "fan-fast");
  auto states = [&] {
    auto conn = store::Database::Open(p.db);
    return store::AlertStore(*conn).States("fan-fast").size();
  };
  CHECK(states() == 1);
  {
    auto conn = store::Database::Open(p.db);
    CHECK(store::AlertStore(*conn).Delete("fan-fast"));
  }
  e.RunOnce();
  CHECK(states() == 0);
  // A reload of the rules file leaves API rules alone, and drops file rules it lost.
  testing::WriteFile(p.rules, RulesFile({{{"name", "from-file"}, {"kind", "absent"}, {"type", "fan"}}}, hook.url()).dump());
  REQUIRE(e.Reload().ok());
  auto conn = store::Database::Open(p.db);
  store::AlertStore rules(*conn);
  REQUIRE(rules.Rule("from-file"));
  CHECK(rules.Rule("from-file")->source == "file");
  CHECK(rules.Put("by-api", json{{"name", "by-api"}, {"kind", "absent"}}.dump(), "api", 1) == 1);
  testing::WriteFile(p.rules, RulesFile(json::array(), hook.url()).dump());
  REQUIRE(e.Reload().ok());
  CHECK_FALSE(rules.Rule("from-file"));
  CHECK(rules.Rule("by-api"));
  // A broken file is refused whole, naming the key; the rules stay.
  testing::WriteFile(p.rules, R"({"rules": [{"name": "x", "kind": "absent", "for": "later"}]})");
  const base::Status bad = e.Reload();
  CHECK(bad.message().find("rules[0].for: must be a duration") != std::string::npos);
  CHECK(rules.Rule("by-api"));
}

TEST_CASE("the outbox hands a key to the stream once, even when it is written again after a crash") {
  Pipeline p;
  testing::WriteFile(p.rules, json{{"rules", json::array()}}.dump());
  alert::Evaluator e(p.Evaluator("e1"));
  REQUIRE(e.Reload().ok());
  auto conn = store::Database::Open(p.db);
  store::AlertStore store(*conn);
  std::vector<store::StateWrite> writes(1);
  writes[0].row = {"r", "h", "alarm", 1, 5.0, 1, 0, 1, "{}", "critical", "{}"};
  writes[0].notes.push_back({"r/h/1", R"({"key":"r/h/1"})", 1});
  std::vector<bool> applied;
  store.WriteStates(writes, &applied);
  CHECK(applied == std::vector<bool>{true});
  e.RunOnce();
  // As if the evaluator had crashed after XADD but before deleting its outbox row.
  store::Statement again(*conn, "INSERT INTO alert_outbox(key, body, created_ms) VALUES ('r/h/1', '{}', 2)");
  again.Run();
  e.RunOnce();
  queue::Redis r(p.redis.options());
  CHECK(r.Run({"XLEN", std::string(alert::kNotificationStream)}).integer() == 1);
  CHECK(store.Outbox(10).empty());
  CHECK(e.stats().published == 1);
  // A write against a version that moved on is skipped, with its notes.
  writes[0].expected_version = 7;
  writes[0].notes[0].key = "r/h/2";
  store.WriteStates(writes, &applied);
  CHECK(applied == std::vector<bool>{false});
  CHECK(store.Outbox(10).empty());
}

TEST_CASE("flapping input gives one notification, marked flapping, and one recovery once stable") {
  Pipeline p;
  Receiver hook(testing::FreePort());
  hook.Start();
  json file = RulesFile({{{"name", "flappy"},
                          {"kind", "threshold"},
                          {"type", "temp"},
                          {"field", "c"},
                          {"agg", "last"},
                          {"op", ">"},
                          {"value", 50},
                          {"for", "5s"},
                          {"interval", "1s"}}},
                        hook.url());
  file["flapping"] = {{"window", "1m"}, {"changes", 4}, {"stable_for", "3s"}};
  p.Start(file);
  auto& e = *p.evaluator;
  auto& n = *p.notifier;
  // Over and under the threshold at each evaluation: never for 5 s, so without flap
  // detection nothing would ever be sent.
  int i = 0;
  auto flip_and_evaluate = [&] {
    p.Send("temp", "oven", {{"c", ++i % 2 ? 80 : 20}});
    const uint64_t before = e.stats().evaluations;
    REQUIRE(testing::WaitFor(
        [&] {
          p.consumer.RunOnce();
          e.RunOnce();
          return e.stats().evaluations > before;
        },
        5s));
    n.RunOnce();
  };
  REQUIRE(testing::WaitFor(
      [&] {
        flip_and_evaluate();
        return e.stats().flaps == 1 && !hook.calls().empty();
      },
      30s));
  for (int k = 0; k < 6; ++k) flip_and_evaluate();  // it goes on flapping: nothing more is sent
  REQUIRE(hook.calls().size() == 1);
  CHECK(hook.calls()[0].body["status"] == "firing");
  CHECK(hook.calls()[0].body["alerts"][0]["annotations"]["flapping"].get<std::string>().starts_with(
      "flapping: "));
  CHECK(e.metrics().Render().find("argus_alert_flaps_total{rule=\"flappy\"} 1") != std::string::npos);
  // Stable under the threshold for 3 s: one recovery.
  p.Send("temp", "oven", {{"c", 20}});
  REQUIRE(Drive(p, e, n, [&] { return hook.calls().size() == 2; }));
  CHECK(hook.calls()[1].body["status"] == "resolved");
  CHECK(e.stats().flaps == 1);
}

TEST_CASE("alarms that fire together go out as one group after the group wait, and silenced ones not at all") {
  Pipeline p;
  Receiver hook(testing::FreePort());
  hook.Start();
  json file = RulesFile({{{"name", "mem"},
                          {"kind", "threshold"},
                          {"type", "mem"},
                          {"field", "pct"},
                          {"agg", "last"},
                          {"op", ">"},
                          {"value", 90},
                          {"interval", "1s"}}},
                        hook.url());
  file["route"]["group_by"] = {"rule"};
  file["route"]["group_wait"] = "1s";
  p.Start(file);
  auto& e = *p.evaluator;
  auto& n = *p.notifier;
  {
    auto conn = store::Database::Open(p.db);
    store::SilenceRow silence;
    REQUIRE(alert::ParseSilence(
                json{{"matchers", {{"host", "m-5"}}}, {"duration", "1h"}, {"comment", "maintenance"}},
                base::SystemClock().WallMs(), &silence)
                .ok());
    CHECK(store::AlertStore(*conn).AddSilence(silence) > 0);
  }
  for (int h = 0; h < 6; ++h) p.Send("mem", "m-" + std::to_string(h), {{"pct", 95}});
  REQUIRE(Drive(p, e, n, [&] { return !hook.calls().empty() && n.in_flight() == 0; }));
  const auto calls = hook.calls();
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].body["alerts"].size() == 5);  // m-0 .. m-4; m-5 is silenced
  CHECK(calls[0].body["groupLabels"] == json{{"rule", "mem"}});
  CHECK(calls[0].body["commonLabels"]["alertname"] == "mem");
  CHECK(calls[0].key.starts_with("group/5/"));
  for (const auto& a : calls[0].body["alerts"]) CHECK(a["labels"]["host"] != "m-5");
  CHECK(n.stats().silenced == 1);
  CHECK(n.stats().delivered == 5);
  CHECK(n.stats().calls == 1);
}

TEST_CASE("the dash shows alarms, their history and silences, and takes silences with the admin token") {
  Pipeline p;
  Receiver hook(testing::FreePort());
  hook.Start();
  p.Start(RulesFile({{{"name", "swap"},
                      {"kind", "threshold"},
                      {"type", "swap"},
                      {"field", "pct"},
                      {"agg", "last"},
                      {"op", ">"},
                      {"value", 50},
                      {"interval", "1s"},
                      {"severity", "critical"},
                      {"labels", {{"team", "db"}}}}},
                    hook.url()));
  auto& e = *p.evaluator;
  auto& n = *p.notifier;
  p.Send("swap", "s1", {{"pct", 80}});
  p.Send("swap", "s2", {{"pct", 10}});
  REQUIRE(Drive(p, e, n, [&] { return hook.calls().size() == 1; }));

  dash::DashOptions d;
  d.db_path = p.db;
  d.admin_token = "adm1n";
  testing::Served<dash::DashService> dash(std::make_unique<dash::DashService>(d), "argus_dash");
  http::Client client(dash.endpoint());
  auto get = [&](const std::string& target) {
    auto res = client.Get(target);
    INFO(target << " -> " << res.status << " " << res.body);
    REQUIRE(res.status == 200);
    return json::parse(res.body);
  };
  json alarms = get("/api/v1/alarms");
  REQUIRE(alarms["alarms"].size() == 1);  // active ones only: s2 is ok
  const json& a = alarms["alarms"][0];
  CHECK(a["rule"] == "swap");
  CHECK(a["host"] == "s1");
  CHECK(a["state"] == "alarm");
  CHECK(a["value"] == 80);
  CHECK(a["severity"] == "critical");
  CHECK(a["labels"]["team"] == "db");
  CHECK(a["fired_at"].is_number());
  CHECK(alarms["counts"]["alarm"]["critical"] == 1);
  CHECK(alarms["counts"]["states"]["ok"] == 1);
  CHECK(get("/api/v1/alarms?state=all")["alarms"].size() == 2);
  CHECK(get("/api/v1/alarms?state=all&limit=1")["next_cursor"] == "swap/s1");
  CHECK(get("/api/v1/alarms?state=all&cursor=swap/s1")["alarms"][0]["host"] == "s2");
  CHECK(get("/api/v1/alarms?label=team=db")["alarms"].size() == 1);
  CHECK(get("/api/v1/alarms?label=team=web")["alarms"].empty());
  CHECK(get("/api/v1/alarms?severity=warning")["alarms"].empty());
  CHECK(get("/api/v1/alarms?host=s1")["counts"]["alarm"]["critical"] == 1);
  CHECK(get("/api/v1/alarms?host=s2")["counts"]["alarm"]["critical"] == 0);
  for (const char* bad : {"/api/v1/alarms?state=firing", "/api/v1/alarms?severity=high",
                          "/api/v1/alarms?label=x", "/api/v1/alarms?cursor=nope",
                          "/api/v1/alarms/history?since=yesterday", "/api/v1/silences?state=gone"}) {
    auto res = client.Get(bad);
    CHECK_MESSAGE(res.status == 400, bad);
  }
  CHECK(client.Get("/api/v1/alarms?state=firing").body.find("state") != std::string::npos);

  json history = get("/api/v1/alarms/history?rule=swap");
  REQUIRE(history["history"].size() == 1);
  CHECK(history["history"][0]["from"] == "ok");
  CHECK(history["history"][0]["to"] == "alarm");
  CHECK(history["history"][0]["why"].get<std::string>().find("80") != std::string::npos);

  const std::string silence = R"({"matchers": {"host": "s1"}, "duration": "2h", "comment": "disk swap"})";
  CHECK(client.Request("POST", "/api/v1/silences", silence).status == 401);
  const std::map<std::string, std::string> admin = {{"Authorization", "Bearer adm1n"}};
  auto bad = client.Request("POST", "/api/v1/silences", R"({"matchers": {"host": "s1"}, "duration": "soon"})",
                            admin);
  CHECK(bad.status == 400);
  CHECK(bad.body.find("silence.duration") != std::string::npos);
  CHECK(client.Request("POST", "/api/v1/silences", R"({"duration": "1h"})", admin)
            .body.find("silence.matchers") != std::string::npos);
  auto made = client.Request("POST", "/api/v1/silences", silence, admin);
  REQUIRE(made.status == 201);
  const json s = json::parse(made.body);
  CHECK(s["state"] == "active");
  CHECK(s["matchers"]["host"] == "s1");
  REQUIRE(get("/api/v1/silences")["silences"].size() == 1);
  const std::string path = "/api/v1/silences/" + std::to_string(s["id"].get<int64_t>());
  CHECK(client.Request("DELETE", path).status == 401);
  auto expired = client.Request("DELETE", path, "", admin);
  CHECK(expired.status == 200);
  CHECK(json::parse(expired.body)["state"] == "expired");
  CHECK(client.Request("DELETE", path, "", admin).status == 404);
  CHECK(get("/api/v1/silences")["silences"].empty());
  CHECK(get("/api/v1/silences?state=all")["silences"].size() == 1);
}

TEST_CASE("a real Alertmanager receives the alert, and its end on recovery") {
  Pipeline p;
  const uint16_t port = testing::FreePort();
  testing::WriteFile(p.dir / "am.yml", "route:\n  receiver: nowhere\nreceivers:\n  - name: nowhere\n");
  const std::string binary = "/usr/bin/prometheus-alertmanager";  // scripts/install-deps.sh alertmanager
  REQUIRE_MESSAGE(::access(binary.c_str(), X_OK) == 0,
                  binary << " is missing: run scripts/install-deps.sh alertmanager");
  testing::Process am({binary, "--config.file=" + (p.dir / "am.yml"), "--storage.path=" + (p.dir / "am-data"),
                       "--web.listen-address=127.0.0.1:" + std::to_string(port), "--cluster.listen-address="},
                      p.dir / "am.log");
  http::Client am_api({"127.0.0.1", port}, 2s);
  REQUIRE_MESSAGE(testing::WaitFor([&] { return am_api.Get("/-/ready").status == 200; }, 30s), am.Log());

  json file = {{"rules",
                {{{"name", "queue-deep"},
                  {"kind", "threshold"},
                  {"type", "queue"},
                  {"field", "depth"},
                  {"agg", "last"},
                  {"op", ">"},
                  {"value", 100},
                  {"interval", "1s"},
                  {"labels", {{"team", "db"}}}}}},
               {"receivers",
                {{{"name", "hook"}, {"log", json::object()}},
                 {{"name", "am"}, {"alertmanager", {{"url", "http://127.0.0.1:" + std::to_string(port)}}}}}},
               {"route",
                {{"receiver", "hook"},
                 {"group_wait", "0s"},
                 {"routes", {{{"match", {{"team", "db"}}}, {"receiver", "am"}}}}}}};
  p.Start(file);
  auto& e = *p.evaluator;
  auto& n = *p.notifier;
  // The alerts Alertmanager holds (its API lists the ones not yet resolved).
  auto alerts = [&] {
    auto res = am_api.Get("/api/v2/alerts?filter=alertname%3D%22queue-deep%22");
    return res.status == 200 ? json::parse(res.body) : json::array();
  };
  p.Send("queue", "mq-1", {{"depth", 500}});
  REQUIRE(Drive(p, e, n, [&] { return alerts().size() == 1; }));
  const json a = alerts()[0];
  CHECK(a["labels"]["host"] == "mq-1");
  CHECK(a["labels"]["team"] == "db");
  CHECK(a["status"]["state"] == "active");
  CHECK(a["annotations"]["summary"].get<std::string>().find("500") != std::string::npos);

  p.Send("queue", "mq-1", {{"depth", 3}});
  REQUIRE(Drive(p, e, n, [&] { return alerts().empty(); }));
  CHECK(n.stats().delivered == 2);
  CHECK(n.stats().failed == 0);
  CHECK(n.stats().calls == 2);
}
