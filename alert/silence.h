// Silences: label matchers with an end time, made through the dash's API and kept in
// the store. A notification whose labels meet every matcher of an active silence is
// acknowledged without being sent.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "store/alerts.h"

namespace argus::alert {

struct Silence {
  int64_t id = 0;
  std::map<std::string, std::string> matchers;  // label -> value, all must be equal
  int64_t starts_ms = 0, ends_ms = 0;
};

// Reads a silence as POST /api/v1/silences takes it:
// {"matchers": {"host": "web-01"}, "duration": "2h" | "ends_at": ms, "starts_at": ms,
//  "comment": "...", "created_by": "..."}. Errors name the key.
base::Status ParseSilence(const nlohmann::json& body, int64_t now_ms, store::SilenceRow* out);
nlohmann::json SilenceJson(const store::SilenceRow& row, int64_t now_ms);
Silence FromRow(const store::SilenceRow& row);

// The first silence whose matchers the labels meet, or nullptr.
const Silence* SilencedBy(const std::map<std::string, std::string>& labels, const std::vector<Silence>& silences);

}  // namespace argus::alert
