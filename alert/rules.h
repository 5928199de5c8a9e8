// Alert rules as the rules file and /api/v1/rules give them (DESIGN.md, "Alert"):
// parsed and checked in one place, so a bad rule is refused with the key that is wrong
// (`rules[2].for: must be a duration such as "30s", "5m" or "2h"`) wherever it comes from.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "store/series.h"

namespace re2 {
class RE2;
}

namespace argus::alert {

enum class Kind { kThreshold, kEvent, kAbsent };
enum class Op { kGt, kGe, kLt, kLe, kEq, kNe };
const char* KindName(Kind kind);
const char* OpName(Op op);
// Whether `value op threshold` holds.
bool Holds(Op op, double value, double threshold);

// Which hosts a rule watches: `"*"` all, `"web-*"` a name prefix, `["a", "b"]` a list,
// or `{"label": "role=web"}` the hosts whose heartbeat carries that label.
struct HostSelector {
  std::vector<std::string> names;
  std::string prefix;
  std::optional<std::pair<std::string, std::string>> label;
  bool all() const { return names.empty() && prefix.empty() && !label; }
};

// One condition on an event's content: `"field": value` (equal), or
// `"field": {">": 5}`, `{"contains": "x"}`, `{"regex": "^dead"}`.
struct Condition {
  enum class Test { kEqual, kCompare, kContains, kRegex };
  std::string field;  // a dotted path into the content
  Test test = Test::kEqual;
  Op op = Op::kEq;          // kCompare
  nlohmann::json value;     // kEqual: any JSON value; kCompare: a number
  std::string text;         // kContains, kRegex (checked to compile)
  std::shared_ptr<const re2::RE2> re;  // kRegex, compiled once
};

// Whether an event's content meets every condition; a missing field meets none.
bool Matches(const std::vector<Condition>& conditions, const nlohmann::json& content);

struct Rule {
  std::string name;
  Kind kind = Kind::kThreshold;
  // threshold: a series; event: the type (and `match`); absent: a type, or the host's heartbeat.
  std::string type, field;
  store::Agg agg = store::Agg::kAvg;
  HostSelector hosts;
  Op op = Op::kGt;
  double value = 0;
  std::optional<double> clear;  // threshold: the condition to leave `alarm` (hysteresis)
  int64_t window_ms = 5 * 60 * 1000;
  int64_t for_ms = 0;             // the condition must hold this long before `alarm`
  int64_t keep_firing_for_ms = 0;
  int64_t interval_ms = 30 * 1000;
  std::vector<Condition> match, resolve_match;  // event
  std::optional<int64_t> resolve_after_ms;      // event: quiet this long -> resolved
  std::string severity = "warning";
  std::map<std::string, std::string> labels, annotations;
  std::string message;
  bool from_file = false;  // read-only through the API
};

// Reads one rule; `where` prefixes the key in errors ("rules[2]"). Unknown keys, wrong
// types and out-of-range values are Invalid, naming the key.
base::Status ParseRule(const nlohmann::json& j, const std::string& where, Rule* out);
// The rules of a rules file's "rules" array; names must be unique.
base::Status ParseRules(const nlohmann::json& file, std::vector<Rule>* out);
// The rule as JSON, in the form ParseRule reads (durations as "30s", "5m", …).
nlohmann::json RuleJson(const Rule& rule);

// A message template with `{{name}}` placeholders filled from `values`; an unknown
// name stays as written, so a typo shows in the notification instead of vanishing.
std::string Render(const std::string& tmpl, const std::map<std::string, std::string>& values);

}  // namespace argus::alert
