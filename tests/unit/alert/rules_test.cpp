#include <doctest/doctest.h>

#include "alert/rules.h"
#include "tests/support/checks.h"

using namespace argus;
using nlohmann::json;

namespace {

// The rules of DESIGN.md's example file.
const json kExample = json::parse(R"({"rules": [
  {"name": "disk-full", "kind": "threshold", "type": "disk", "field": "used_pct", "agg": "max",
   "hosts": "*", "op": ">", "value": 90, "clear": 85, "window": "5m", "for": "2m",
   "interval": "30s", "severity": "critical", "labels": {"team": "ops"},
   "message": "{{host}}: disk {{value}}% over {{threshold}}%"},
  {"name": "node-down", "kind": "event", "type": "networksize",
   "match": {"node_id_status": "dead"}, "resolve_after": "10m", "severity": "critical"},
  {"name": "host-absent", "kind": "absent", "hosts": "*", "for": "90s", "severity": "warning"}
]})");

std::string ErrorOf(const json& rule) {
  alert::Rule r;
  return alert::ParseRule(rule, "rules[0]", &r).message();
}

json Threshold() {
  return {{"name", "t"}, {"kind", "threshold"}, {"type", "app"}, {"field", "latency_ms"}, {"op", ">"}, {"value", 100}};
}

}  // namespace

TEST_SUITE("alert::rules") {
  TEST_CASE("the design's example file reads as written, and writes back the same") {
    std::vector<alert::Rule> rules;
    REQUIRE_OK(alert::ParseRules(kExample, &rules));
    REQUIRE(rules.size() == 3);
    const auto& disk = rules[0];
    CHECK(disk.kind == alert::Kind::kThreshold);
    CHECK(disk.agg == store::Agg::kMax);
    CHECK(disk.hosts.all());
    CHECK(disk.op == alert::Op::kGt);
    CHECK(disk.value == 90);
    CHECK(disk.clear == 85);
    CHECK(disk.window_ms == 300000);
    CHECK(disk.for_ms == 120000);
    CHECK(disk.interval_ms == 30000);
    CHECK(disk.labels.at("team") == "ops");
    const auto& down = rules[1];
    CHECK(down.kind == alert::Kind::kEvent);
    REQUIRE(down.match.size() == 1);
    CHECK(down.match[0].field == "node_id_status");
    CHECK(down.match[0].value == "dead");
    CHECK(down.resolve_after_ms == 600000);
    CHECK(rules[2].kind == alert::Kind::kAbsent);
    CHECK(rules[2].for_ms == 90000);
    for (size_t i = 0; i < rules.size(); ++i) {
      CAPTURE(i);
      CHECK(alert::RuleJson(rules[i]) == [&] {
        json expected = kExample["rules"][i];
        if (!expected.contains("interval")) expected["interval"] = "30s";
        if (expected["kind"] == "event" && !expected.contains("hosts")) expected["hosts"] = "*";
        return expected;
      }());
    }
  }

  TEST_CASE("hosts, conditions and durations in every form") {
    json t = Threshold();
    alert::Rule r;
    t["hosts"] = "web-*";
    REQUIRE_OK(alert::ParseRule(t, "r", &r));
    CHECK(r.hosts.prefix == "web-");
    t["hosts"] = json::array({"a", "b"});
    REQUIRE_OK(alert::ParseRule(t, "r", &r));
    CHECK(r.hosts.names == std::vector<std::string>{"a", "b"});
    t["hosts"] = {{"label", "role=web"}};
    REQUIRE_OK(alert::ParseRule(t, "r", &r));
    CHECK(r.hosts.label == std::make_pair(std::string("role"), std::string("web")));
    json e = {{"name", "e"}, {"kind", "event"}, {"type", "app"},
              {"match", {{"level", "error"}, {"code", {{">=", 500}}}, {"msg", {{"contains", "down"}}}, {"node", {{"regex", "^n[0-9]+$"}}}}}};
    REQUIRE_OK(alert::ParseRule(e, "r", &r));
    REQUIRE(r.match.size() == 4);
    CHECK(alert::RuleJson(r)["match"] == e["match"]);
  }

  TEST_CASE("a bad rule is refused with the key that is wrong") {
    auto with = [](json j, const char* key, json v) {
      j[key] = v;
      return j;
    };
    const std::vector<std::pair<json, std::string>> cases = {
        {json::array(), "rules[0]: must be an object"},
        {with(Threshold(), "name", nullptr), "rules[0].name: must be a string"},
        {with(Threshold(), "name", "a b"), "rules[0].name: must be 1 to 128 letters"},
        {with(Threshold(), "kind", "fancy"), "rules[0].kind: must be one of threshold, event, absent"},
        {with(Threshold(), "op", "=>"), "rules[0].op: must be one of >, >=, <, <=, ==, !="},
        {with(Threshold(), "value", "high"), "rules[0].value: must be a number"},
        {with(Threshold(), "for", "5 minutes"), "rules[0].for: must be a duration such as \"30s\""},
        {with(Threshold(), "interval", "0s"), "rules[0].interval: must be a duration"},
        {with(Threshold(), "agg", "p99"), "rules[0].agg: must be one of avg, min, max, sum, count, last"},
        {with(Threshold(), "clear", 120), "rules[0].clear: must be on the quiet side of value"},
        {with(Threshold(), "severity", "panic"), "rules[0].severity: must be one of critical, warning, info"},
        {with(Threshold(), "hosts", "a*b*"), "rules[0].hosts: must be \"*\", a name"},
        {with(Threshold(), "labels", {{"team", 1}}), "rules[0].labels.team: must be a string"},
        {with(Threshold(), "colour", "red"), "rules[0].colour: is not a known key"},
        {with(Threshold(), "field", nullptr), "rules[0].field: must be a string"},
        {json({{"name", "t"}, {"kind", "threshold"}, {"type", "app"}, {"op", ">"}, {"value", 1}}), "rules[0].field: is required"},
        {json({{"name", "e"}, {"kind", "event"}}), "rules[0].type: is required for an event rule"},
        {json({{"name", "e"}, {"kind", "event"}, {"type", "a"}, {"match", {{"x", {{"regex", "("}}}}}}),
         "rules[0].match.x.regex: is not a valid RE2 expression"},
        {json({{"name", "e"}, {"kind", "event"}, {"type", "a"}, {"match", {{"x", {{"~", 1}}}}}}),
         "rules[0].match.x: must have one test"},
        {json({{"name", "a"}, {"kind", "absent"}, {"window", "5m"}}), "rules[0].window: is not a known key"},
    };
    for (const auto& [rule, message] : cases) {
      CAPTURE(rule.dump());
      const std::string error = ErrorOf(rule);
      CHECK_MESSAGE(error.rfind(message, 0) == 0, error);
    }
    std::vector<alert::Rule> rules;
    CHECK(alert::ParseRules(json::object(), &rules).message() == "rules: is required (an array of rules)");
    json twice = {{"rules", {Threshold(), Threshold()}}};
    CHECK(alert::ParseRules(twice, &rules).message() == "rules[1].name: \"t\" is used twice");
  }

  TEST_CASE("messages fill their placeholders and keep unknown ones visible") {
    CHECK(alert::Render("{{host}}: disk {{ value }}% over {{threshold}}%", {{"host", "web-1"}, {"value", "93"}, {"threshold", "90"}}) ==
          "web-1: disk 93% over 90%");
    CHECK(alert::Render("{{hots}} is {{value}}", {{"value", "1"}}) == "{{hots}} is 1");
    CHECK(alert::Render("no placeholders", {}) == "no placeholders");
    CHECK(alert::Render("unclosed {{host", {{"host", "x"}}) == "unclosed {{host");
    CHECK(alert::Holds(alert::Op::kGe, 90, 90));
    CHECK_FALSE(alert::Holds(alert::Op::kGt, 90, 90));
    CHECK(alert::Holds(alert::Op::kNe, 1, 2));
  }
}
