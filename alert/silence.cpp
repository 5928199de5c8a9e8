#include "alert/silence.h"

#include "alert/fields.h"

namespace argus::alert {

base::Status ParseSilence(const json& body, int64_t now_ms, store::SilenceRow* out) {
  Fields f(body, "silence");
  store::SilenceRow row;
  const auto matchers = f.Strings("matchers");
  if (matchers.empty() && f.status().ok()) f.Fail("matchers", "is required: an object of label: value, all to be equal");
  row.matchers = json(matchers).dump();
  row.starts_ms = now_ms;
  if (const json* s = f.Get("starts_at")) {
    if (!s->is_number_integer() || s->get<int64_t>() < 0) f.Fail("starts_at", "must be ms since the epoch");
    else row.starts_ms = s->get<int64_t>();
  }
  const auto duration = f.Duration("duration", 1000, 365 * 24 * 3600 * 1000LL);
  const json* ends = f.Get("ends_at");
  if (duration && ends) f.Fail("ends_at", "give either duration or ends_at, not both");
  if (duration) row.ends_ms = row.starts_ms + *duration;
  if (ends) {
    if (!ends->is_number_integer()) f.Fail("ends_at", "must be ms since the epoch");
    else row.ends_ms = ends->get<int64_t>();
  }
  if (!duration && !ends && f.status().ok()) f.Fail("duration", "is required (or ends_at): how long the silence lasts, such as \"2h\"");
  if (f.status().ok() && row.ends_ms <= std::max(row.starts_ms, now_ms)) f.Fail("ends_at", "must be in the future and after starts_at");
  row.comment = f.Text("comment", 1024).value_or("");
  row.created_by = f.Text("created_by", 128).value_or("");
  f.NoOthers();
  if (!f.status().ok()) return f.status();
  row.created_ms = now_ms;
  *out = std::move(row);
  return {};
}

json SilenceJson(const store::SilenceRow& row, int64_t now_ms) {
  const char* state = now_ms < row.starts_ms ? "pending" : now_ms < row.ends_ms ? "active" : "expired";
  return {{"id", row.id},
          {"matchers", json::parse(row.matchers, nullptr, false)},
          {"starts_at", row.starts_ms},
          {"ends_at", row.ends_ms},
          {"state", state},
          {"comment", row.comment},
          {"created_by", row.created_by},
          {"created_at", row.created_ms}};
}

Silence FromRow(const store::SilenceRow& row) {
  Silence s;
  s.id = row.id;
  s.starts_ms = row.starts_ms;
  s.ends_ms = row.ends_ms;
  const json m = json::parse(row.matchers, nullptr, false);
  if (m.is_object()) {
    for (const auto& [k, v] : m.items()) {
      if (v.is_string()) s.matchers[k] = v.get<std::string>();
    }
  }
  return s;
}

const Silence* SilencedBy(const std::map<std::string, std::string>& labels, const std::vector<Silence>& silences) {
  for (const Silence& s : silences) {
    if (s.matchers.empty()) continue;  // matches everything: never made by ParseSilence, never honoured
    bool all = true;
    for (const auto& [k, v] : s.matchers) {
      auto it = labels.find(k);
      all = all && it != labels.end() && it->second == v;
    }
    if (all) return &s;
  }
  return nullptr;
}

}  // namespace argus::alert
