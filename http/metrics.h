// Counters and gauges rendered in the Prometheus text exposition format for /metrics.
// Thread-safe. Series are created on first use; names and help are registered up front.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace argus::http {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Metrics {
 public:
  enum class Kind { kCounter, kGauge };
  void Describe(const std::string& name, Kind kind, const std::string& help);
  void Add(const std::string& name, const Labels& labels = {}, double value = 1);
  void Set(const std::string& name, const Labels& labels, double value);
  std::string Render() const;

 private:
  struct Family {
    Kind kind = Kind::kCounter;
    std::string help;
    std::map<std::string, double> series;  // rendered label set -> value
  };
  mutable std::mutex mu_;  // guards families_
  std::map<std::string, Family> families_;
};

}  // namespace argus::http
