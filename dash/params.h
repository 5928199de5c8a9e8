// Query-parameter checking for the dash API: each accessor either yields a value or
// records a 400 message that names the parameter and what it must be.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

namespace argus::dash {

class Params {
 public:
  Params(std::map<std::string, std::string> values, std::set<std::string> allowed);

  std::optional<std::string> Type(const std::string& name);
  std::optional<std::string> Text(const std::string& name, size_t max_len);
  std::optional<int64_t> Int(const std::string& name, int64_t min, int64_t max);

  // The first problem found, or empty. Unknown parameters are problems too.
  const std::string& error() const { return error_; }

 private:
  void Fail(std::string msg);
  std::map<std::string, std::string> values_;
  std::string error_;
};

}  // namespace argus::dash
