#include "http/metrics.h"

#include <cmath>
#include <sstream>

namespace argus::http {
namespace {

std::string RenderLabels(const Labels& labels) {
  if (labels.empty()) return {};
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i) out += ",";
    out += labels[i].first + "=\"";
    for (char c : labels[i].second) {
      if (c == '\\' || c == '"') out += '\\';
      if (c == '\n') {
        out += "\\n";
        continue;
      }
      out += c;
    }
    out += "\"";
  }
  return out + "}";
}

}  // namespace

void Metrics::Describe(const std::string& name, Kind kind, const std::string& help) {
  std::lock_guard lock(mu_);
  auto& f = families_[name];
  f.kind = kind;
  f.help = help;
}

void Metrics::Add(const std::string& name, const Labels& labels, double value) {
  std::lock_guard lock(mu_);
  families_[name].series[RenderLabels(labels)] += value;
}

void Metrics::Set(const std::string& name, const Labels& labels, double value) {
  std::lock_guard lock(mu_);
  families_[name].series[RenderLabels(labels)] = value;
}

std::string Metrics::Render() const {
  std::lock_guard lock(mu_);
  std::ostringstream out;
  for (const auto& [name, f] : families_) {
    out << "# HELP " << name << ' ' << f.help << '\n';
    out << "# TYPE " << name << ' ' << (f.kind == Kind::kCounter ? "counter" : "gauge") << '\n';
    for (const auto& [labels, v] : f.series) {
      out << name << labels << ' ';
      if (std::floor(v) == v && std::abs(v) < 1e15) {
        out << static_cast<int64_t>(v);
      } else {
        out << v;
      }
      out << '\n';
    }
  }
  return out.str();
}

}  // namespace argus::http
