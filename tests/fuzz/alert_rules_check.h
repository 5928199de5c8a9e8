// What the rules parser (alert/rules.h) must uphold for any input, checked by the
// libFuzzer target and by the unit suite's replay: it returns (never throws), and a
// rule it accepts, written out with RuleJson, reads back to the same rule. The rest of
// a rules file (receivers, route, flapping: alert/route.h), a silence and a
// notification record are read from the same input and must return too.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "alert/notice.h"
#include "alert/route.h"
#include "alert/rules.h"
#include "alert/silence.h"
#include "base/status.h"

namespace argus::fuzz {

inline base::Status CheckAlertRules(std::string_view text) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) return {};
  std::vector<alert::Rule> rules;
  alert::Rule one;
  try {
    if (alert::ParseRules(j, &rules).ok()) {
      for (const auto& r : rules) {
        const nlohmann::json written = alert::RuleJson(r);
        alert::Rule again;
        if (base::Status s = alert::ParseRule(written, "again", &again); !s.ok()) {
          return base::Status::Invalid("a written rule does not read back: " + s.message());
        }
        if (alert::RuleJson(again) != written) return base::Status::Invalid("a rule changed on its way out and back");
      }
    }
    alert::ParseRule(j, "rule", &one).IgnoreError();  // any answer is fine, as long as it is one
    alert::AlertConfig config;
    if (alert::ParseConfig(j, &config).ok()) {
      const alert::Route& route = alert::RouteFor(config.route, {{"team", "db"}, {"host", "h"}});
      if (!alert::FindReceiver(config, route.receiver)) return base::Status::Invalid("a route names no receiver");
    }
    store::SilenceRow silence;
    if (alert::ParseSilence(j, 1000, &silence).ok() && silence.ends_ms <= silence.starts_ms) {
      return base::Status::Invalid("an accepted silence ends before it starts");
    }
    alert::Notification note;
    if (alert::ParseNotification(j, &note).ok()) {
      alert::Notification again;
      if (!alert::ParseNotification(alert::NotificationJson(note), &again).ok()) {
        return base::Status::Invalid("a notification does not read back");
      }
    }
    if (j.is_object() && j.contains("message") && j["message"].is_string()) {
      alert::Render(j["message"].get<std::string>(), {{"host", "h"}, {"value", "1"}});
    }
  } catch (const std::exception& e) {
    return base::Status::Invalid(std::string("threw: ") + e.what());
  }
  return {};
}

}  // namespace argus::fuzz
