#include "agent/rules.h"

#include <spdlog/spdlog.h>

#include "proto/json_depth.h"

namespace argus::agent {

Rule DefaultLogRule() {
  Rule r;
  r.name = "metrics";
  r.match = "[metrics]";
  r.json_after = "[metrics]";
  r.type = "metrics";
  return r;
}

namespace {

// Log lines are bytes, JSON strings are UTF-8: invalid sequences become U+FFFD.
std::string ValidUtf8(std::string_view s) {
  return nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::optional<Match> Apply(const std::vector<Rule>& rules, std::string_view line, RuleCounters* counters) {
  for (const auto& rule : rules) {
    if (line.find(rule.match) == std::string_view::npos) continue;
    Match m;
    m.rule = &rule;
    if (rule.json_after.empty()) {
      m.content = {{"line", nlohmann::json::parse(ValidUtf8(line))}};
    } else {
      auto pos = line.find(rule.json_after);
      std::string_view rest = line.substr(pos + rule.json_after.size());
      // The proxy would refuse deeper content; do not build it.
      if (proto::JsonDepth(rest, proto::Limits{}.max_depth) < proto::Limits{}.max_depth) {
        m.content = nlohmann::json::parse(rest, nullptr, /*allow_exceptions=*/false);
      }
      if (m.content.is_discarded() || !m.content.is_object()) {
        ++counters->extract_failed;
        spdlog::debug("rule {}: no JSON object after '{}' in: {}", rule.name, rule.json_after,
                      line.substr(0, 200));
        continue;
      }
    }
    ++counters->matched;
    return m;
  }
  return std::nullopt;
}

}  // namespace argus::agent
