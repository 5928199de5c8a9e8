#include "http/metrics.h"

#include <algorithm>
#include <charconv>
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

void Metrics::DescribeHistogram(const std::string& name, const std::string& help, std::vector<double> buckets) {
  std::lock_guard lock(mu_);
  auto& f = families_[name];
  f.kind = Kind::kHistogram;
  f.help = help;
  f.buckets = std::move(buckets);
}

void Metrics::Observe(const std::string& name, const Labels& labels, double value) {
  std::lock_guard lock(mu_);
  auto& f = families_[name];
  auto& h = f.histograms[RenderLabels(labels)];
  if (h.counts.size() != f.buckets.size() + 1) h.counts.assign(f.buckets.size() + 1, 0);
  size_t i = static_cast<size_t>(std::lower_bound(f.buckets.begin(), f.buckets.end(), value) - f.buckets.begin());
  ++h.counts[i];
  h.sum += value;
  ++h.count;
}

void Metrics::OnRender(std::function<void(Metrics&)> fn) {
  std::lock_guard lock(mu_);
  on_render_.push_back(std::move(fn));
}

void Metrics::Add(const std::string& name, const Labels& labels, double value) {
  std::lock_guard lock(mu_);
  families_[name].series[RenderLabels(labels)] += value;
}

std::map<std::string, double> Metrics::ByLabel(const std::string& name, const std::string& by) const {
  std::lock_guard lock(mu_);
  std::map<std::string, double> out;
  auto f = families_.find(name);
  if (f == families_.end()) return out;
  const std::string start = by + "=\"";
  for (const auto& [labels, v] : f->second.series) {
    // Undo RenderLabels' escapes of the one value asked for.
    std::string value;
    size_t at = labels.find(start);
    if (at != std::string::npos && (at == 1 || labels[at - 1] == ',')) {
      for (size_t i = at + start.size(); i < labels.size() && labels[i] != '"'; ++i) {
        if (labels[i] == '\\' && i + 1 < labels.size()) {
          ++i;
          value += labels[i] == 'n' ? '\n' : labels[i];
        } else {
          value += labels[i];
        }
      }
    }
    out[value] += v;
  }
  return out;
}

void Metrics::Set(const std::string& name, const Labels& labels, double value) {
  std::lock_guard lock(mu_);
  families_[name].series[RenderLabels(labels)] = value;
}

namespace {

// The shortest text that reads back as the same double (12345.678, not a stream's
// six-digit 12345.7), in Prometheus' spelling of the special values.
std::string NumberText(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return ec == std::errc() ? std::string(buf, end) : "NaN";
}

void Number(std::ostringstream& out, double v) { out << NumberText(v); }

// Adds le="…" to a rendered label set.
std::string WithLe(const std::string& labels, const std::string& le) {
  std::string item = "le=\"" + le + "\"";
  if (labels.empty()) return "{" + item + "}";
  return labels.substr(0, labels.size() - 1) + "," + item + "}";
}

}  // namespace

std::string Metrics::Render() {
  std::vector<std::function<void(Metrics&)>> hooks;
  {
    std::lock_guard lock(mu_);
    hooks = on_render_;
  }
  for (auto& hook : hooks) hook(*this);  // outside the lock: hooks call Set()

  std::lock_guard lock(mu_);
  std::ostringstream out;
  for (const auto& [name, f] : families_) {
    static const char* kTypes[] = {"counter", "gauge", "histogram"};
    out << "# HELP " << name << ' ' << f.help << '\n';
    out << "# TYPE " << name << ' ' << kTypes[static_cast<int>(f.kind)] << '\n';
    for (const auto& [labels, v] : f.series) {
      out << name << labels << ' ';
      Number(out, v);
      out << '\n';
    }
    for (const auto& [labels, h] : f.histograms) {
      uint64_t cumulative = 0;
      for (size_t i = 0; i < f.buckets.size(); ++i) {
        cumulative += h.counts[i];
        out << name << "_bucket" << WithLe(labels, NumberText(f.buckets[i])) << ' ' << cumulative << '\n';
      }
      out << name << "_bucket" << WithLe(labels, "+Inf") << ' ' << h.count << '\n';
      out << name << "_sum" << labels << ' ';
      Number(out, h.sum);
      out << '\n' << name << "_count" << labels << ' ' << h.count << '\n';
    }
  }
  return out.str();
}

}  // namespace argus::http
