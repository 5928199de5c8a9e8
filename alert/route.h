// Where notifications go: the rules file's `receivers` (webhook, Alertmanager, log)
// and its `route` tree, which picks a receiver by the notification's labels
// (DESIGN.md, "Alert"). Read and checked in one place, naming the bad key.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "alert/rules.h"
#include "alert/state.h"
#include "base/status.h"

namespace argus::alert {

struct Receiver {
  enum class Kind { kWebhook, kAlertmanager, kLog };
  std::string name;
  Kind kind = Kind::kLog;
  std::string url;     // webhook: where to POST; alertmanager: its base URL
  std::string secret;  // webhook: signs the body (X-Argus-Signature); never logged
  int64_t timeout_ms = 10000;
};

struct Route {
  std::string receiver;
  std::map<std::string, std::string> match;  // child routes: every label must be equal
  std::vector<std::string> group_by = {"rule"};
  int64_t group_wait_ms = 10000;
  int64_t repeat_interval_ms = 4 * 3600 * 1000LL;
  std::vector<Route> routes;
};

// A rules file: the rules and where their notifications go.
struct AlertConfig {
  std::vector<Rule> rules;
  std::vector<Receiver> receivers;
  Route route;
  std::optional<FlapPolicy> flapping;  // none: no flap detection
};

// Reads a whole rules file. Without `receivers`, notifications go to the log; every
// route must name a receiver that exists.
base::Status ParseConfig(const nlohmann::json& file, AlertConfig* out);
// Reads and parses the file at `path`; errors start with the path.
base::Status LoadConfig(const std::string& path, AlertConfig* out);

// The first child route (depth first) whose `match` the labels meet, else the root.
const Route& RouteFor(const Route& root, const std::map<std::string, std::string>& labels);
const Receiver* FindReceiver(const AlertConfig& config, const std::string& name);

}  // namespace argus::alert
