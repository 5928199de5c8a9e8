// Turns log lines into events. A rule fires on a line when its substring (`match`) or
// regex (RE2: linear time, no backtracking blow-ups on hostile lines) matches, every
// `include` substring is present and no `exclude` one is; its extraction becomes the
// event's content: the JSON object after a marker, `key:value` pairs, the regex's
// named groups, or {"line": …}. A sample rate (per mille, deterministic by a key)
// keeps the same messages on every host.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "proto/event.h"

namespace re2 {
class RE2;
}

namespace argus::agent {

enum class Extraction { kLine, kJsonAfter, kKeyValue, kGroups };

struct Rule {
  std::string name;
  std::string match;                           // substring; empty when only `regex` is given
  std::shared_ptr<const re2::RE2> regex;       // null when only `match` is given
  std::vector<std::string> include, exclude;   // substrings that must / must not be present
  Extraction extract = Extraction::kLine;
  std::string json_after;                      // the marker, for kJsonAfter
  std::string type;
  proto::Priority priority = proto::Priority::kNormal;
  int sample_rate = 1000;                      // per mille kept, already capped by the global rate
  std::string sample_key;                      // content path the decision hashes (no "content."); empty: the line
};

// TOP-Argus' behaviour for a file given with --log: `[metrics]{json}` lines, type metrics.
Rule DefaultLogRule();

// Builds rules from a config's "rules" array (already schema-checked, or not: every
// value is checked again). `path` names the array in errors, e.g. "files[0].rules".
// Invalid says "<path>[i].<key>: problem" (a regex that does not compile included).
base::Status BuildRules(const nlohmann::json& rules, const std::string& path, int global_sample_rate,
                       std::vector<Rule>* out);

// Read by the heartbeat while the tail loop counts.
struct RuleCounters {
  std::atomic<uint64_t> matched{0}, extract_failed{0}, sampled_out{0};
};

// The first rule that fires on `line` and its extracted content, or nullopt (no rule
// fired, the extraction failed, or the sample left it out).
struct Match {
  const Rule* rule = nullptr;
  std::string content;  // the event's content, as JSON text
};
std::optional<Match> Apply(const std::vector<Rule>& rules, std::string_view line, RuleCounters* counters);

// `key:value` and `key=value` pairs separated by spaces, commas or semicolons; values
// that are numbers become numbers.
nlohmann::json ExtractKeyValues(std::string_view line);

}  // namespace argus::agent
