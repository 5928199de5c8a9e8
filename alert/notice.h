// A notification as it travels: made by the evaluator with the transition that caused
// it, kept in the store's outbox, carried on the Redis stream, and turned by the
// notifier into what each receiver takes (Alertmanager's webhook format version 4,
// Alertmanager's /api/v2/alerts, a log line).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace argus::alert {

// The Redis stream the evaluators append notifications to and the notifiers read.
inline constexpr std::string_view kNotificationStream = "argus:{alert}:notifications";

struct Notification {
  // Stable per notification: "<rule>/<host>/<transition>" for a firing or a recovery,
  // with "/r<n>" for the n-th repeat. Receivers get it as X-Argus-Key.
  std::string key;
  std::string rule, host;
  bool firing = true;  // false: resolved
  std::map<std::string, std::string> labels;       // alertname, host, severity and the rule's
  std::map<std::string, std::string> annotations;  // summary (the message) and the rule's
  int64_t starts_ms = 0;
  std::optional<int64_t> ends_ms;  // resolved: when
  std::optional<double> value;
  int64_t transition = 0, repeat = 0;
  int64_t created_ms = 0;
};

nlohmann::json NotificationJson(const Notification& n);
base::Status ParseNotification(const nlohmann::json& j, Notification* out);

// A stable id of the alert (its labels), as Alertmanager's `fingerprint`: 16 hex digits.
std::string Fingerprint(const std::map<std::string, std::string>& labels);
// RFC 3339 in UTC with milliseconds ("2026-12-03T19:17:47.123Z").
std::string Rfc3339(int64_t ms);

// The body of a webhook call: Alertmanager's webhook format version 4, one group.
nlohmann::json WebhookBody(const std::vector<Notification>& group, const std::string& receiver,
                           const std::map<std::string, std::string>& group_labels);
// The body of POST /api/v2/alerts: a resolved alert carries its endsAt; a firing one
// ends `firing_for_ms` after it was made unless a repeat renews it (Alertmanager would
// otherwise resolve it by itself after its resolve_timeout, 5 min by default).
nlohmann::json AlertmanagerBody(const std::vector<Notification>& group, int64_t firing_for_ms);
// "sha256=<hex>": the HMAC-SHA256 of `body` with `secret` (X-Argus-Signature).
std::string Signature(const std::string& secret, const std::string& body);

}  // namespace argus::alert
