// Reading a JSON object of the alert configuration (rules, receivers, route) key by
// key, so that every error names its path ("rules[2].for: must be a duration ...") and
// unknown keys are refused. Internal to alert/.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "base/duration.h"
#include "base/status.h"

namespace argus::alert {

using nlohmann::json;

// 1 to `max` letters, digits, '_', '.' or '-'.
inline bool IsName(const std::string& s, size_t max) {
  return !s.empty() && s.size() <= max && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}

// The keys of one JSON object, read with their path for errors; the first problem wins.
class Fields {
 public:
  Fields(const json& j, std::string where) : j_(j), where_(std::move(where)) {
    if (!j_.is_object()) Fail("", "must be an object");
  }
  bool Has(const char* key) const { return j_.is_object() && j_.contains(key); }
  const json* Get(const char* key) {
    seen_.insert(key);
    return Has(key) ? &j_.at(key) : nullptr;
  }
  std::optional<std::string> Text(const char* key, size_t max = 1024) {
    const json* v = Get(key);
    if (!v) return std::nullopt;
    if (!v->is_string() || v->get<std::string>().size() > max) {
      Fail(key, "must be a string of at most " + std::to_string(max) + " characters");
      return std::nullopt;
    }
    return v->get<std::string>();
  }
  std::optional<double> Number(const char* key) {
    const json* v = Get(key);
    if (!v) return std::nullopt;
    if (!v->is_number()) {
      Fail(key, "must be a number");
      return std::nullopt;
    }
    return v->get<double>();
  }
  std::optional<int64_t> Duration(const char* key, int64_t min_ms, int64_t max_ms) {
    auto text = Text(key, 32);
    if (!text) return std::nullopt;
    auto ms = base::ParseDurationMs(*text);
    if (!ms || *ms < min_ms || *ms > max_ms) {
      Fail(key, "must be a duration such as \"30s\", \"5m\" or \"2h\", from " + std::to_string(min_ms / 1000) +
                    " s to " + std::to_string(max_ms / 1000) + " s");
      return std::nullopt;
    }
    return ms;
  }
  std::map<std::string, std::string> Strings(const char* key) {
    std::map<std::string, std::string> out;
    const json* v = Get(key);
    if (!v) return out;
    if (!v->is_object() || v->size() > 64) {
      Fail(key, "must be an object of at most 64 string values");
      return out;
    }
    for (const auto& [k, item] : v->items()) {
      if (!IsName(k, 64) || !item.is_string() || item.get<std::string>().size() > 1024) {
        Fail(std::string(key) + "." + k.substr(0, 64), "must be a string of at most 1024 characters under a name of letters, digits, '_', '.', '-'");
        return out;
      }
      out[k] = item.get<std::string>();
    }
    return out;
  }
  // Fails on a key nothing asked for.
  void NoOthers() {
    if (!j_.is_object()) return;
    for (const auto& [k, v] : j_.items()) {
      if (!seen_.count(k)) Fail(k.substr(0, 64), "is not a known key");
    }
  }
  void Fail(const std::string& key, const std::string& what) {
    if (error_.empty()) error_ = where_ + (key.empty() ? "" : "." + key) + ": " + what;
  }
  const std::string& where() const { return where_; }
  base::Status status() const { return error_.empty() ? base::Status::Ok() : base::Status::Invalid(error_); }

 private:
  const json& j_;
  std::string where_;
  std::set<std::string> seen_;
  std::string error_;
};

}  // namespace argus::alert
