// Turns log lines into events: a rule fires when its substring matches, and its
// extraction (JSON after a marker) becomes the event's content under the rule's type.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "proto/event.h"

namespace argus::agent {

struct Rule {
  std::string name;
  std::string match;       // substring the line must contain
  std::string json_after;  // extraction: the JSON object after this marker; empty: {"line": ...}
  std::string type;
  proto::Priority priority = proto::Priority::kNormal;
};

// TOP-Argus' behaviour for a file given with --log: `[metrics]{json}` lines, type metrics.
Rule DefaultLogRule();

struct RuleCounters {
  uint64_t matched = 0, extract_failed = 0;
};

// The first rule that fires on `line` and its extracted content, or nullopt.
struct Match {
  const Rule* rule = nullptr;
  nlohmann::json content;
};
std::optional<Match> Apply(const std::vector<Rule>& rules, std::string_view line, RuleCounters* counters);

}  // namespace argus::agent
