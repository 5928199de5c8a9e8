// Query-parameter checking for the dash API: each accessor either yields a value or
// records a 400 message that names the parameter and what it must be.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "base/status.h"

namespace argus::dash {

class Params {
 public:
  Params(std::map<std::string, std::string> values, std::set<std::string> allowed);
  // The query parameters of a request target; a malformed query is the first problem.
  Params(std::string_view target, std::set<std::string> allowed);

  std::optional<std::string> Type(const std::string& name);
  std::optional<std::string> Text(const std::string& name, size_t max_len);
  std::optional<int64_t> Int(const std::string& name, int64_t min, int64_t max);

  // Invalid with the first problem found (unknown parameters are problems too).
  base::Status status() const { return error_.empty() ? base::Status::Ok() : base::Status::Invalid(error_); }

 private:
  void Fail(std::string msg);
  std::map<std::string, std::string> values_;
  std::string error_;
};

}  // namespace argus::dash
