// What the agent's rules must uphold for any log line, checked by the libFuzzer target
// and by the unit suite's replay of its corpus: Apply returns (never throws), and the
// content of every event it makes is a JSON object that survives the event's
// serialize -> deserialize, whatever bytes the line held. Invalid says what broke.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "agent/rules.h"
#include "proto/event.h"

namespace argus::fuzz {

inline base::Status CheckAgentLine(std::string_view line) {
  // One rule per way of extracting, each on its own so every path sees every line.
  static const std::vector<std::vector<agent::Rule>> kRuleSets = [] {
    std::vector<std::vector<agent::Rule>> sets;
    sets.push_back({agent::DefaultLogRule()});
    for (const char* spec : {R"J([{"match":"kv","extract":{"kv":true},"type":"kv"}])J",
                             R"J([{"regex":"E(?P<code>\\d+) (?P<msg>.*)","type":"groups"}])J",
                             R"J([{"regex":"W","include":["x"],"exclude":["y"],"type":"line"}])J",
                             R"J([{"match":"s","sample_rate":500,"sample_key":"content.line","type":"sampled"}])J"}) {
      std::vector<agent::Rule> rules;
      if (base::Status s = agent::BuildRules(nlohmann::json::parse(spec), "rules", 1000, &rules); !s.ok()) {
        throw std::logic_error("a fuzz rule set does not build: " + s.message());
      }
      sets.push_back(std::move(rules));
    }
    return sets;
  }();
  agent::RuleCounters counters;
  for (const auto& rules : kRuleSets) {
    auto m = agent::Apply(rules, line, &counters);
    if (!m) continue;
    auto content = nlohmann::json::parse(m->content, nullptr, false);
    if (content.is_discarded() || !content.is_object()) return base::Status::Invalid("content is not a JSON object: " + m->content);
    proto::Event e;
    e.type = m->rule->type;
    e.host = "h";
    e.id = "i";
    e.content = m->content;
    proto::Event back;
    std::string text = proto::Serialize(e);
    if (auto s = proto::Deserialize(text, &back); !s.ok()) return base::Status::Invalid("event does not read back: " + s.message());
    if (nlohmann::json::parse(back.content) != content) return base::Status::Invalid("content changed on the way: " + text);
  }
  return {};
}

}  // namespace argus::fuzz
