#include "dash/params.h"

#include <charconv>

#include "http/router.h"
#include "proto/event.h"

namespace argus::dash {

Params::Params(std::map<std::string, std::string> values, std::set<std::string> allowed)
    : values_(std::move(values)) {
  for (const auto& [k, v] : values_) {
    if (!allowed.count(k)) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      Fail("unknown parameter '" + k.substr(0, 64) + "' (allowed: " + list + ")");
      return;
    }
  }
}

Params::Params(std::string_view target, std::set<std::string> allowed) {
  std::map<std::string, std::string> values;
  if (base::Status s = http::QueryParams(target, &values); !s.ok()) {
    Fail(s.message());
    return;
  }
  *this = Params(std::move(values), std::move(allowed));
}

void Params::Fail(std::string msg) {
  if (error_.empty()) error_ = std::move(msg);
}

std::optional<std::string> Params::Type(const std::string& name) {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  if (!proto::IsValidType(it->second)) {
    Fail("parameter '" + name + "' must be an event type ([a-z0-9][a-z0-9_.-]{0,63})");
    return std::nullopt;
  }
  return it->second;
}

std::optional<std::string> Params::Text(const std::string& name, size_t max_len) {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  if (it->second.empty() || it->second.size() > max_len) {
    Fail("parameter '" + name + "' must be 1 to " + std::to_string(max_len) + " characters");
    return std::nullopt;
  }
  return it->second;
}

std::optional<int64_t> Params::Int(const std::string& name, int64_t min, int64_t max) {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  const std::string& s = it->second;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty() || v < min || v > max) {
    Fail("parameter '" + name + "' must be an integer from " + std::to_string(min) + " to " +
         std::to_string(max) + ", got '" + s.substr(0, 40) + "'");
    return std::nullopt;
  }
  return v;
}

}  // namespace argus::dash
