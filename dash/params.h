// Query-parameter checking for the dash API: each accessor either yields a value or
// records a 400 message that names the parameter and what it must be.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace argus::dash {

class Params;

// A time range cut into buckets of `step`; since and until are whole steps.
struct Window {
  int64_t since = 0, until = 0, step = 0;
  bool step_given = false;
  int64_t points() const { return (until - since) / step; }
};

// The most points a series may have; a step that gives more is refused.
inline constexpr int64_t kMaxPoints = 2000;

// Reads `since` (default: `default_range_ms` before now), `until` (default now) and
// `step` (a multiple of `step_unit_ms`; default: the smallest of 10 s, 30 s, 1 m, 5 m,
// 15 m, 30 m, 1 h, 3 h, 6 h, 12 h, 1 d that is such a multiple and gives at most 500
// points). A problem is recorded in `p`.
Window ReadWindow(Params& p, int64_t now_ms, int64_t default_range_ms, int64_t step_unit_ms);
// `w` with its step set to `step` and since/until widened to whole steps.
Window AlignWindow(Window w, int64_t step);

class Params {
 public:
  Params(std::map<std::string, std::string> values, std::set<std::string> allowed);
  // The query parameters of a request target; a malformed query is the first problem.
  Params(std::string_view target, std::set<std::string> allowed);

  std::optional<std::string> Type(const std::string& name);
  std::optional<std::string> Text(const std::string& name, size_t max_len);
  std::optional<int64_t> Int(const std::string& name, int64_t min, int64_t max);
  // A time: ms since the epoch, `now`, or `now` minus a duration (`-15m`, `-24h`, `-7d`).
  std::optional<int64_t> Time(const std::string& name, int64_t now_ms);
  // A duration in ms: a whole number of ms, or with a unit (`30s`, `5m`, `1h`, `7d`).
  std::optional<int64_t> Duration(const std::string& name, int64_t min_ms, int64_t max_ms);
  // One of `choices`.
  std::optional<std::string> Choice(const std::string& name, const std::vector<std::string>& choices);
  // `key=value`, the key a label name ([A-Za-z0-9_.-], at most 64), the value at most 255.
  std::optional<std::pair<std::string, std::string>> Label(const std::string& name);
  // Whether the parameter was given at all (valid or not).
  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  // Records a problem found by the caller (the first one is kept).
  void Fail(std::string msg);

  // Invalid with the first problem found (unknown parameters are problems too).
  base::Status status() const { return error_.empty() ? base::Status::Ok() : base::Status::Invalid(error_); }

 private:
  std::map<std::string, std::string> values_;
  std::string error_;
};

}  // namespace argus::dash
