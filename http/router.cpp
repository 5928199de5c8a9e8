#include "http/router.h"

#include <boost/url/parse.hpp>
#include <boost/url/pct_string_view.hpp>
#include <spdlog/spdlog.h>

namespace argus::http {

Response Json(bhttp::status status, const nlohmann::json& body) {
  Response res{status, 11};
  res.set(bhttp::field::content_type, "application/json");
  res.body() = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  res.prepare_payload();
  return res;
}

Response JsonError(bhttp::status status, std::string_view message) {
  return Json(status, nlohmann::json{{"error", message}});
}

Response Unavailable(std::string_view message, int retry_after_s) {
  auto res = JsonError(bhttp::status::service_unavailable, message);
  res.set(bhttp::field::retry_after, std::to_string(retry_after_s));
  return res;
}

std::string_view TargetPath(std::string_view target) {
  return target.substr(0, target.find('?'));
}

base::Status PathRest(std::string_view target, std::string_view prefix, std::string* out) {
  std::string_view path = TargetPath(target);
  if (!path.starts_with(prefix)) return base::Status::Invalid("the path does not start with " + std::string(prefix));
  auto rest = boost::urls::make_pct_string_view(path.substr(prefix.size()));
  if (!rest) return base::Status::Invalid("the path is not a valid URL path (" + rest.error().message() + ")");
  *out = rest->decode();
  return {};
}

base::Status QueryParams(std::string_view target, std::map<std::string, std::string>* out) {
  out->clear();
  auto url = boost::urls::parse_uri_reference(target);
  if (!url) return base::Status::Invalid("the request target is not a valid URL (" + url.error().message() + ")");
  boost::urls::encoding_opts opts;
  opts.space_as_plus = true;  // as HTML forms send them
  for (const auto& p : url->params(opts)) (*out)[std::string(p.key)] = p.has_value ? std::string(p.value) : "";
  return {};
}

bool SecretEquals(std::string_view a, std::string_view b) {
  // Length is not secret enough to hide behind extra work; content is.
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

std::string_view BearerToken(const Request& req) {
  auto it = req.find(bhttp::field::authorization);
  if (it == req.end()) return {};
  std::string_view v(it->value().data(), it->value().size());
  constexpr std::string_view kPrefix = "Bearer ";
  if (v.size() <= kPrefix.size()) return {};
  for (size_t i = 0; i < kPrefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(v[i])) !=
        std::tolower(static_cast<unsigned char>(kPrefix[i]))) {
      return {};
    }
  }
  return v.substr(kPrefix.size());
}

Response MetricsResponse(Metrics& metrics) {
  Response res{bhttp::status::ok, 11};
  res.set(bhttp::field::content_type, "text/plain; version=0.0.4");
  res.body() = metrics.Render();
  res.prepare_payload();
  return res;
}

void Router::Add(bhttp::verb method, std::string path, Handler handler) {
  routes_[std::move(path)].push_back({method, std::move(handler)});
}

void Router::CountRequests(Metrics* metrics, std::string metric) {
  metrics_ = metrics;
  metric_ = std::move(metric);
  metrics_->Describe(metric_, Metrics::Kind::kCounter, "HTTP requests by route and status.");
}

Response Router::Dispatch(const Request& req, const Peer& peer) const {
  std::string_view path = TargetPath(std::string_view(req.target().data(), req.target().size()));
  Response res = Answer(req, peer, path);
  if (metrics_) {
    auto it = Match(path);
    std::string route = it != routes_.end() ? it->first : "other";
    metrics_->Add(metric_, {{"route", route}, {"status", std::to_string(res.result_int())}});
  }
  spdlog::log(access_log_ ? spdlog::level::info : spdlog::level::debug, "{} {} {} -> {}", peer.addr,
              std::string(req.method_string()), path.substr(0, 200), res.result_int());
  return res;
}

Router::Routes::const_iterator Router::Match(std::string_view path) const {
  if (auto it = routes_.find(path); it != routes_.end()) return it;
  auto best = routes_.end();
  for (auto it = routes_.begin(); it != routes_.end(); ++it) {
    std::string_view pattern = it->first;
    if (!pattern.ends_with("/*")) continue;
    pattern.remove_suffix(1);  // keeps the slash: "/a/*" takes "/a/x", not "/a" or "/a/"
    if (path.size() > pattern.size() && path.starts_with(pattern) &&
        (best == routes_.end() || it->first.size() > best->first.size())) {
      best = it;
    }
  }
  return best;
}

Response Router::Answer(const Request& req, const Peer& peer, std::string_view path) const {
  auto it = Match(path);
  if (it == routes_.end()) {
    return JsonError(bhttp::status::not_found, "no such path: " + std::string(path.substr(0, 200)));
  }
  std::string allow;
  for (const auto& route : it->second) {
    if (route.method == req.method() ||
        (req.method() == bhttp::verb::head && route.method == bhttp::verb::get)) {
      try {
        return route.handler(req, peer);
      } catch (const std::exception& e) {
        spdlog::error("handler for {} {} failed: {}", std::string(req.method_string()), path, e.what());
        return JsonError(bhttp::status::internal_server_error, "internal error; see the server log");
      }
    }
    if (!allow.empty()) allow += ", ";
    allow += std::string(bhttp::to_string(route.method));
  }
  auto res = JsonError(bhttp::status::method_not_allowed,
                       std::string(req.method_string()) + " is not allowed on " +
                           std::string(path) + "; allowed: " + allow);
  res.set(bhttp::field::allow, allow);
  return res;
}

}  // namespace argus::http
