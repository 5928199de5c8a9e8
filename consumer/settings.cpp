#include "consumer/settings.h"

#include <algorithm>
#include <stdexcept>

namespace argus::consumer {

Settings::Settings(std::string aggregator, const nlohmann::json& j, std::initializer_list<const char*> known)
    : aggregator_(std::move(aggregator)), j_(j) {
  if (j_.is_null()) return;
  if (!j_.is_object()) throw std::invalid_argument("settings." + aggregator_ + " must be an object");
  for (const auto& [key, value] : j_.items()) {
    bool ok = false;
    std::string allowed;
    for (const char* k : known) {
      ok = ok || key == k;
      allowed += (allowed.empty() ? "" : ", ") + std::string(k);
    }
    if (!ok) {
      throw std::invalid_argument("unknown key " + Name(key.c_str()) +
                                  (allowed.empty() ? " (it takes no settings)" : " (allowed: " + allowed + ")"));
    }
  }
}

int64_t Settings::Int(const char* key, int64_t fallback, int64_t min, int64_t max) const {
  if (!j_.is_object() || !j_.contains(key)) return fallback;
  const auto& v = j_.at(key);
  if (!v.is_number_integer() || v.get<int64_t>() < min || v.get<int64_t>() > max) {
    throw std::invalid_argument(Name(key) + " must be an integer from " + std::to_string(min) + " to " +
                                std::to_string(max));
  }
  return v.get<int64_t>();
}

std::string Settings::String(const char* key, std::string fallback) const {
  if (!j_.is_object() || !j_.contains(key)) return fallback;
  const auto& v = j_.at(key);
  if (!v.is_string() || v.get<std::string>().empty()) throw std::invalid_argument(Name(key) + " must be a non-empty string");
  return v.get<std::string>();
}

std::vector<std::string> Settings::Strings(const char* key, std::vector<std::string> fallback) const {
  if (!j_.is_object() || !j_.contains(key)) return fallback;
  const auto& v = j_.at(key);
  auto usable = [](const nlohmann::json& s) { return s.is_string() && !s.get<std::string>().empty(); };
  if (usable(v)) return {v.get<std::string>()};
  if (!v.is_array() || v.empty() || !std::all_of(v.begin(), v.end(), usable)) {
    throw std::invalid_argument(Name(key) + " must be a non-empty string or a non-empty array of them");
  }
  return v.get<std::vector<std::string>>();
}

}  // namespace argus::consumer
