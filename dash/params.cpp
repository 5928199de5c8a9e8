#include "dash/params.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "base/duration.h"
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

namespace {

constexpr int64_t kSecond = 1000, kMinute = 60 * kSecond, kHour = 60 * kMinute, kDay = 24 * kHour;

std::string Shown(const std::string& s) {
  std::string out(1, '\'');
  out.append(s, 0, 40);
  out += '\'';
  return out;
}

// The smallest of 10 s, 30 s, 1 m, 5 m, 15 m, 30 m, 1 h, 3 h, 6 h, 12 h, 1 d that is a
// multiple of `unit` and cuts `range` into at most `points`; beyond a day, whole days.
int64_t NiceStep(int64_t range, int64_t points, int64_t unit) {
  static constexpr int64_t kNice[] = {10 * kSecond, 30 * kSecond, kMinute,  5 * kMinute, 15 * kMinute, 30 * kMinute,
                                      kHour,        3 * kHour,    6 * kHour, 12 * kHour,  kDay};
  // One more than range / step: an unaligned range spans a partial step at each end.
  auto fits = [&](int64_t step) { return range / step + 1 <= points; };
  for (int64_t n : kNice) {
    if (n % unit == 0 && fits(n)) return n;
  }
  const int64_t day = (std::max(kDay, unit) + unit - 1) / unit * unit;  // a day in whole units
  const int64_t need = range / std::max<int64_t>(points - 1, 1) + 1;
  return std::max(day, (need + day - 1) / day * day);
}

}  // namespace

std::optional<int64_t> Params::Time(const std::string& name, int64_t now_ms) {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  const std::string& s = it->second;
  std::optional<int64_t> t;
  if (s == "now") {
    t = now_ms;
  } else if (s.size() > 1 && s[0] == '-' && std::isalpha(static_cast<unsigned char>(s.back()))) {
    if (auto d = base::ParseDurationMs(std::string_view(s).substr(1)); d && *d <= now_ms) t = now_ms - *d;
  } else if (auto d = base::ParseDurationMs(s); d && std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    t = d;
  }
  if (!t) {
    Fail("parameter '" + name + "' must be ms since the epoch or a time relative to now (now, -30s, -15m, -24h, -7d), got " +
         Shown(s));
  }
  return t;
}

std::optional<int64_t> Params::Duration(const std::string& name, int64_t min_ms, int64_t max_ms) {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  auto d = base::ParseDurationMs(it->second);
  if (!d || *d < min_ms || *d > max_ms) {
    Fail("parameter '" + name + "' must be a duration from " + std::to_string(min_ms) + " to " +
         std::to_string(max_ms) + " ms (a number of ms, or with a unit: 30s, 5m, 1h, 1d), got " + Shown(it->second));
    return std::nullopt;
  }
  return d;
}

std::optional<std::string> Params::Choice(const std::string& name, const std::vector<std::string>& choices) {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  if (std::find(choices.begin(), choices.end(), it->second) != choices.end()) return it->second;
  std::string list;
  for (const auto& c : choices) list += (list.empty() ? "" : ", ") + c;
  Fail("parameter '" + name + "' must be one of " + list + ", got " + Shown(it->second));
  return std::nullopt;
}

std::optional<std::pair<std::string, std::string>> Params::Label(const std::string& name) {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  const std::string& s = it->second;
  const auto eq = s.find('=');
  const bool key_ok = eq != std::string::npos && eq >= 1 && eq <= 64 &&
                      std::all_of(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(eq), [](char c) {
                        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
                      });
  if (!key_ok || s.size() - eq - 1 > 255) {
    Fail("parameter '" + name + "' must be key=value (a key of letters, digits, '_', '.', '-'), got " + Shown(s));
    return std::nullopt;
  }
  return std::make_pair(s.substr(0, eq), s.substr(eq + 1));
}

Window AlignWindow(Window w, int64_t step) {
  w.step = step;
  w.since -= w.since % step;
  if (w.until % step != 0) w.until += step - w.until % step;
  return w;
}

Window ReadWindow(Params& p, int64_t now_ms, int64_t default_range_ms, int64_t step_unit_ms) {
  Window w;
  w.until = p.Time("until", now_ms).value_or(now_ms);
  w.since = p.Time("since", now_ms).value_or(std::max<int64_t>(0, w.until - default_range_ms));
  auto step = p.Duration("step", step_unit_ms, 365 * kDay);
  if (!p.status().ok()) return w;
  if (w.since >= w.until) {
    p.Fail("parameter 'since' must be before 'until'");
    return w;
  }
  if (step) {
    if (*step % step_unit_ms != 0) {
      p.Fail("parameter 'step' must be a multiple of " + std::to_string(step_unit_ms) + " ms here");
      return w;
    }
    w = AlignWindow(w, *step);
    w.step_given = true;
    if (w.points() > kMaxPoints) {
      p.Fail("parameter 'step': " + std::to_string(*step) + " ms gives " + std::to_string(w.points()) +
             " points over this range, at most " + std::to_string(kMaxPoints) + " are allowed; use step=" +
             std::to_string(NiceStep(w.until - w.since, kMaxPoints, step_unit_ms)) + " or more");
    }
    return w;
  }
  int64_t chosen = NiceStep(w.until - w.since, 500, step_unit_ms);
  return AlignWindow(w, chosen);
}

}  // namespace argus::dash
