// Counters, gauges and histograms rendered in the Prometheus text exposition format for
// /metrics. Thread-safe. Series are created on first use; names, help and histogram
// buckets are registered up front.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace argus::http {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Metrics {
 public:
  enum class Kind { kCounter, kGauge, kHistogram };
  void Describe(const std::string& name, Kind kind, const std::string& help);
  // Upper bounds of a histogram's buckets, ascending (+Inf is implied).
  void DescribeHistogram(const std::string& name, const std::string& help, std::vector<double> buckets);
  void Add(const std::string& name, const Labels& labels = {}, double value = 1);
  void Set(const std::string& name, const Labels& labels, double value);
  void Observe(const std::string& name, const Labels& labels, double value);
  // The counters or gauges of `name`, summed by the value of their label `by` (""
  // for series without it): what a program publishes of its counters elsewhere.
  std::map<std::string, double> ByLabel(const std::string& name, const std::string& by) const;
  // Runs `fn` at the start of every Render(), to refresh gauges read from elsewhere.
  void OnRender(std::function<void(Metrics&)> fn);
  std::string Render();

 private:
  struct Histogram {
    std::vector<uint64_t> counts;  // per bucket, not cumulative
    double sum = 0;
    uint64_t count = 0;
  };
  struct Family {
    Kind kind = Kind::kCounter;
    std::string help;
    std::vector<double> buckets;
    std::map<std::string, double> series;        // rendered label set -> value
    std::map<std::string, Histogram> histograms;  // rendered label set -> histogram
  };
  mutable std::mutex mu_;  // guards families_ and on_render_
  std::map<std::string, Family> families_;
  std::vector<std::function<void(Metrics&)>> on_render_;
};

}  // namespace argus::http
