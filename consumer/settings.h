// Reads one aggregator's "settings" object from the consumer config: every key has a
// default, and a wrong type or an unknown key is refused with its full name
// ("settings.packet.key"), so a typo never silently falls back to a default.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace argus::consumer {

class Settings {
 public:
  // Throws std::invalid_argument when `j` is not an object or has a key not in `known`.
  Settings(std::string aggregator, const nlohmann::json& j, std::initializer_list<const char*> known);
  int64_t Int(const char* key, int64_t fallback, int64_t min, int64_t max) const;
  std::string String(const char* key, std::string fallback) const;
  // A string or an array of strings; never empty.
  std::vector<std::string> Strings(const char* key, std::vector<std::string> fallback) const;

 private:
  std::string Name(const char* key) const { return "settings." + aggregator_ + "." + key; }
  std::string aggregator_;
  const nlohmann::json& j_;
};

}  // namespace argus::consumer
