// The (rule, host) state machine, the routing config, notification bodies and the ring.
#include <doctest/doctest.h>

#include <map>

#include "alert/notice.h"
#include "alert/ring.h"
#include "alert/route.h"
#include "alert/state.h"

using namespace argus::alert;
using nlohmann::json;

namespace {

Rule Threshold(int64_t for_ms = 0, std::optional<double> clear = std::nullopt, int64_t keep_ms = 0) {
  Rule r;
  r.name = "cpu";
  r.kind = Kind::kThreshold;
  r.op = Op::kGt;
  r.value = 90;
  r.clear = clear;
  r.for_ms = for_ms;
  r.keep_firing_for_ms = keep_ms;
  return r;
}

Observation Saw(const Rule& r, double v) {
  Observation o;
  o.value = v;
  o.firing = Holds(r.op, v, r.value);
  o.cleared = !Holds(r.op, v, r.clear.value_or(r.value));
  return o;
}

Observation Unknown() {
  Observation o;
  o.known = false;
  o.unknown_why = "consumer behind";
  return o;
}

// Runs observations one second apart from t=1000 s; returns the notices and states.
struct Run {
  std::vector<Notice> notices;
  std::vector<State> states;
  PairState last;
};
Run Play(const Rule& r, const std::vector<Observation>& seen, int64_t repeat_ms = 0) {
  Run out;
  PairState s;
  int64_t now = 1000000;
  for (const auto& o : seen) {
    StepResult step = Advance(r, s, o, now, repeat_ms);
    if (step.notice != Notice::kNone) out.notices.push_back(step.notice);
    out.states.push_back(step.next.state);
    s = step.next;
    now += 1000;
  }
  out.last = s;
  return out;
}

}  // namespace

TEST_CASE("a threshold fires after its for, once, and resolves once") {
  const Rule r = Threshold(3000);
  std::vector<Observation> seen;
  for (double v : {50, 95, 95, 95, 95, 96, 97, 50, 50}) seen.push_back(Saw(r, v));
  const Run run = Play(r, seen);
  CHECK(run.states == std::vector<State>{State::kOk, State::kPending, State::kPending, State::kPending, State::kAlarm,
                                         State::kAlarm, State::kAlarm, State::kOk, State::kOk});
  CHECK(run.notices == std::vector<Notice>{Notice::kFiring, Notice::kResolved});
  CHECK(run.last.transitions == 3);  // pending, alarm, ok
}

TEST_CASE("pending that stops holding goes back to ok without a notice") {
  const Rule r = Threshold(5000);
  const Run run = Play(r, {Saw(r, 95), Saw(r, 95), Saw(r, 10), Saw(r, 95)});
  CHECK(run.states == std::vector<State>{State::kPending, State::kPending, State::kOk, State::kPending});
  CHECK(run.notices.empty());
}

TEST_CASE("hysteresis: an alarm holds between clear and value, and clears below clear") {
  const Rule r = Threshold(0, 80);
  const Run run = Play(r, {Saw(r, 95), Saw(r, 85), Saw(r, 89), Saw(r, 91), Saw(r, 79)});
  CHECK(run.states == std::vector<State>{State::kAlarm, State::kAlarm, State::kAlarm, State::kAlarm, State::kOk});
  CHECK(run.notices == std::vector<Notice>{Notice::kFiring, Notice::kResolved});
  // Without hysteresis the same values flap.
  const Rule plain = Threshold();
  const Run flappy = Play(plain, {Saw(plain, 95), Saw(plain, 85), Saw(plain, 91), Saw(plain, 79)});
  CHECK(flappy.notices.size() == 4);
}

TEST_CASE("keep_firing_for holds an alarm until the clear condition has lasted") {
  const Rule r = Threshold(0, std::nullopt, 2000);
  const Run run = Play(r, {Saw(r, 95), Saw(r, 10), Saw(r, 10), Saw(r, 95), Saw(r, 10), Saw(r, 10), Saw(r, 10)});
  CHECK(run.states == std::vector<State>{State::kAlarm, State::kAlarm, State::kAlarm, State::kAlarm, State::kAlarm,
                                         State::kAlarm, State::kOk});
  CHECK(run.notices == std::vector<Notice>{Notice::kFiring, Notice::kResolved});
}

TEST_CASE("a firing alarm repeats on its interval") {
  const Rule r = Threshold();
  std::vector<Observation> seen(7, Saw(r, 95));
  const Run run = Play(r, seen, 3000);
  CHECK(run.notices == std::vector<Notice>{Notice::kFiring, Notice::kRepeat, Notice::kRepeat});
  CHECK(run.last.repeats == 2);
}

TEST_CASE("what cannot be seen never notifies: an alarm is held, ok becomes insufficient_data") {
  const Rule r = Threshold();
  const Run held = Play(r, {Saw(r, 95), Unknown(), Unknown(), Saw(r, 95)});
  CHECK(held.states == std::vector<State>{State::kAlarm, State::kAlarm, State::kAlarm, State::kAlarm});
  CHECK(held.notices == std::vector<Notice>{Notice::kFiring});
  const Run blind = Play(r, {Saw(r, 10), Unknown(), Unknown(), Saw(r, 10)});
  CHECK(blind.states == std::vector<State>{State::kOk, State::kInsufficient, State::kInsufficient, State::kOk});
  CHECK(blind.notices.empty());
  CHECK(blind.last.transitions == 2);
}

TEST_CASE("absent and event rules fire at once: for is not waited again") {
  Rule absent;
  absent.kind = Kind::kAbsent;
  absent.for_ms = 90000;
  Observation gone;
  gone.firing = true;
  gone.cleared = false;
  CHECK(Play(absent, {gone}).states == std::vector<State>{State::kAlarm});
}

TEST_CASE("the memo round-trips") {
  PairState s;
  s.active_since = 5;
  s.fired_ms = 7;
  s.repeats = 2;
  s.last_match_ms = 9;
  s.flips = {1, 2};
  s.condition = true;
  PairState back;
  back.ReadMemo(s.Memo());
  CHECK(back.Memo() == s.Memo());
  CHECK(back.last_match_ms == 9);
  CHECK(ParseState("insufficient_data") == State::kInsufficient);
  CHECK_FALSE(ParseState("bogus"));
}

TEST_CASE("rules files: receivers and routes are checked, naming the key") {
  auto parse = [](const char* text) {
    AlertConfig c;
    return ParseConfig(json::parse(text), &c).message();
  };
  CHECK(parse(R"({"rules": [], "receivers": [{"name": "a", "webhook": {"url": "ftp://x"}}], "route": {"receiver": "a"}})")
            .starts_with("receivers[0].webhook.url: "));
  CHECK(parse(R"({"rules": [], "receivers": [{"name": "a", "log": {}, "webhook": {"url": "http://h:1/"}}]})") ==
        "receivers[0]: must have exactly one of webhook, alertmanager, log");
  CHECK(parse(R"({"rules": [], "receivers": [{"name": "a", "log": {}}, {"name": "b", "log": {}}],
                  "route": {"receiver": "a", "routes": [{"match": {"team": "db"}, "receiver": "c"}]}})") ==
        "route.routes[0].receiver: names no receiver: \"c\"");
  CHECK(parse(R"({"rules": [], "route": {"receiver": "log", "group_wait": "soon"}})").starts_with("route.group_wait: "));
  CHECK(parse(R"({"rules": [], "bogus": 1})") == "bogus: is not a known key");
  CHECK(parse(R"({"rules": [], "receivers": [{"name": "a", "log": {}}, {"name": "b", "log": {}}]})") ==
        "route: is required when there is more than one receiver");

  AlertConfig c;
  REQUIRE(ParseConfig(json::parse(R"({"rules": [],
      "receivers": [{"name": "ops", "webhook": {"url": "http://127.0.0.1:5001/hook", "secret": "s"}},
                    {"name": "db", "alertmanager": {"url": "http://127.0.0.1:9093"}}],
      "route": {"receiver": "ops", "repeat_interval": "1h",
                "routes": [{"match": {"team": "db"}, "receiver": "db"}]}})"),
                      &c)
              .ok());
  CHECK(RouteFor(c.route, {{"team", "db"}}).receiver == "db");
  CHECK(RouteFor(c.route, {{"team", "db"}}).repeat_interval_ms == 3600000);  // inherited
  CHECK(RouteFor(c.route, {{"team", "web"}}).receiver == "ops");
  CHECK(FindReceiver(c, "ops")->secret == "s");
  // Without receivers, notifications go to the log.
  AlertConfig bare;
  REQUIRE(ParseConfig(json::parse(R"({"rules": []})"), &bare).ok());
  CHECK(bare.route.receiver == "log");
}

TEST_CASE("webhook bodies follow Alertmanager's version 4 and are signed") {
  Notification n;
  n.key = "cpu/web-01/2";
  n.rule = "cpu";
  n.host = "web-01";
  n.firing = false;
  n.labels = {{"alertname", "cpu"}, {"host", "web-01"}, {"severity", "critical"}};
  n.annotations = {{"summary", "web-01: cpu 95"}};
  n.starts_ms = 1764787067123;
  n.ends_ms = 1764787127000;
  const json body = WebhookBody({n}, "ops", {{"rule", "cpu"}});
  CHECK(body["version"] == "4");
  CHECK(body["status"] == "resolved");
  CHECK(body["receiver"] == "ops");
  CHECK(body["groupLabels"]["rule"] == "cpu");
  CHECK(body["commonLabels"]["severity"] == "critical");
  CHECK(body["alerts"][0]["labels"]["alertname"] == "cpu");
  CHECK(body["alerts"][0]["annotations"]["summary"] == "web-01: cpu 95");
  CHECK(body["alerts"][0]["startsAt"] == "2025-12-03T18:37:47.123Z");
  CHECK(body["alerts"][0]["endsAt"] == "2025-12-03T18:38:47.000Z");
  CHECK(body["alerts"][0]["fingerprint"].get<std::string>().size() == 16);
  CHECK(AlertmanagerBody({n}, 3600000)[0]["endsAt"] == "2025-12-03T18:38:47.000Z");
  Notification firing = n;
  firing.firing = true;
  firing.ends_ms.reset();
  firing.created_ms = n.starts_ms;
  CHECK(AlertmanagerBody({firing}, 3600000)[0]["endsAt"] == "2025-12-03T19:37:47.123Z");
  // RFC 4231 test case 2.
  CHECK(Signature("Jefe", "what do ya want for nothing?") ==
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  Notification back;
  REQUIRE(ParseNotification(NotificationJson(n), &back).ok());
  CHECK(NotificationJson(back) == NotificationJson(n));
  CHECK_FALSE(ParseNotification(json{{"key", 1}}, &back).ok());
}

TEST_CASE("the ring spreads pairs and moves only a dead member's share") {
  Ring three({"a", "b", "c"});
  Ring two({"a", "c"});
  std::map<std::string, int> share;
  int moved_from_live = 0;
  for (int i = 0; i < 3000; ++i) {
    const std::string key = PairKey("rule", "web-" + std::to_string(i));
    const std::string& owner = three.Owner(key);
    ++share[owner];
    if (owner != "b" && two.Owner(key) != owner) ++moved_from_live;
  }
  for (const auto& [m, n] : share) CHECK_MESSAGE((n > 600 && n < 1400), m << " owns " << n << " of 3000");
  CHECK(moved_from_live == 0);
  CHECK(Ring().Owner("x").empty());
  CHECK(Ring({"b", "a", "a"}).members() == std::vector<std::string>{"a", "b"});
}

TEST_CASE("a flapping pair is held in alarm, notified once, and resolved once stable") {
  const Rule r = Threshold(3000);  // `for` 3 s: alone, this input never fires
  FlapPolicy flap;
  flap.window_ms = 60000;
  flap.changes = 4;
  flap.stable_for_ms = 5000;
  PairState s;
  int64_t now = 1000000;
  std::vector<Notice> notices;
  std::vector<bool> marks;
  auto step = [&](double v) {
    StepResult res = Advance(r, s, Saw(r, v), now, 0, &flap);
    if (res.notice != Notice::kNone) notices.push_back(res.notice);
    marks.push_back(res.next.flapping);
    s = res.next;
    now += 1000;
    return res;
  };
  for (int i = 0; i < 12; ++i) step(i % 2 ? 95 : 10);
  CHECK(notices == std::vector<Notice>{Notice::kFiring});
  CHECK(s.state == State::kAlarm);
  CHECK(s.flapping);
  CHECK(s.flips.size() <= static_cast<size_t>(flap.changes));  // the memo stays small
  // Quiet below the threshold: still held for stable_for (5 s) after the last change,
  // then one recovery.
  for (int i = 0; i < 4; ++i) step(10);
  CHECK(s.state == State::kAlarm);
  for (int i = 0; i < 3; ++i) step(10);
  CHECK(s.state == State::kOk);
  CHECK_FALSE(s.flapping);
  CHECK(notices == std::vector<Notice>{Notice::kFiring, Notice::kResolved});
  // Without a policy the same input never notifies at all (it never holds for 3 s).
  PairState plain;
  int firing = 0;
  for (int i = 0; i < 12; ++i) {
    auto res = Advance(r, plain, Saw(r, i % 2 ? 95 : 10), 1000000 + i * 1000, 0, nullptr);
    firing += res.notice == Notice::kFiring;
    plain = res.next;
  }
  CHECK(firing == 0);

  AlertConfig c;
  REQUIRE(ParseConfig(json::parse(R"({"rules": [], "flapping": {"window": "30m", "changes": 6, "stable_for": "15m"}})"), &c)
              .ok());
  REQUIRE(c.flapping);
  CHECK(c.flapping->changes == 6);
  CHECK(c.flapping->stable_for_ms == 900000);
  CHECK(ParseConfig(json::parse(R"({"rules": [], "flapping": {"changes": 1}})"), &c).message() ==
        "flapping.changes: must be a whole number from 2 to 1000");
}
