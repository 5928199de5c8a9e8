#include "dash/service.h"

#include <cstdlib>

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include "dash/params.h"
#include "queue/inspect.h"
#include "queue/streams.h"
#include "store/reader.h"

namespace argus::dash {

namespace bhttp = boost::beast::http;
using http::Json;
using http::JsonError;
using nlohmann::json;

namespace {

constexpr int64_t kMaxTs = int64_t{1} << 53;

std::string Target(const http::Request& req) { return std::string(req.target()); }

// "<ts>.<seq>" of the last row of a page; opaque to clients.
std::optional<store::EventCursor> ParseCursor(const std::string& s) {
  auto dot = s.find('.');
  if (dot == std::string::npos) return std::nullopt;
  store::EventCursor c;
  try {
    size_t n1 = 0, n2 = 0;
    c.ts = std::stoll(s.substr(0, dot), &n1);
    c.seq = std::stoll(s.substr(dot + 1), &n2);
    if (n1 != dot || n2 != s.size() - dot - 1) return std::nullopt;
  } catch (...) {
    return std::nullopt;
  }
  return c;
}

}  // namespace

DashService::DashService(DashOptions options)
    : options_(std::move(options)),
      pool_(options_.connections, [this] { return store::Database::Open(options_.db_path); }) {
  if (options_.redis) {
    redis_ = std::make_unique<http::Pool<queue::Redis>>(
        options_.connections, [this] { return std::make_unique<queue::Redis>(*options_.redis); });
  }
  // Every store-reading route: a query stopped at its deadline is a 503, not a 500.
  auto bounded = [this](http::Handler route) {
    return [this, route](const http::Request& r, const http::Peer& p) { return Bounded([&] { return route(r, p); }); };
  };
  using K = http::Metrics::Kind;
  metrics_.Describe("argus_dash_unauthorized_total", K::kCounter, "API calls refused for a missing or wrong read token.");
  metrics_.Describe("argus_dash_query_timeouts_total", K::kCounter, "Queries stopped at the query timeout (503).");
  router_.CountRequests(&metrics_, "argus_dash_requests_total");
  router_.Add(bhttp::verb::get, "/api/v1/types", bounded([this](const http::Request& r, const http::Peer&) {
                return Registry(r, store::Registry::kTypes);
              }));
  router_.Add(bhttp::verb::get, "/api/v1/hosts", bounded([this](const http::Request& r, const http::Peer&) {
                return Registry(r, store::Registry::kHosts);
              }));
  router_.Add(bhttp::verb::get, "/api/v1/events", bounded(http::Member(this, &DashService::Events)));
  router_.Add(bhttp::verb::get, "/api/v1/pipeline", bounded(http::Member(this, &DashService::Pipeline)));
  router_.Add(bhttp::verb::get, "/api/v1/dead_letters", bounded(http::Member(this, &DashService::DeadLetters)));
  router_.Add(bhttp::verb::get, "/healthz", bounded(http::Member(this, &DashService::Healthz)));
  router_.Add(bhttp::verb::get, "/metrics",
              [this](const http::Request&, const http::Peer&) { return http::MetricsResponse(metrics_); });
}

void DashService::StartQuery(store::Database& db) const {
  db.SetDeadline(std::chrono::steady_clock::now() + options_.query_timeout);
}

http::Response DashService::Handle(const http::Request& req, const http::Peer& peer) {
  std::string_view path(req.target().data(), req.target().size());
  if (!options_.read_token.empty() && path.starts_with("/api/") &&
      !http::SecretEquals(http::BearerToken(req), options_.read_token)) {
    metrics_.Add("argus_dash_unauthorized_total");
    return JsonError(bhttp::status::unauthorized, "this dash needs its read token ('Authorization: Bearer <token>')");
  }
  return router_.Dispatch(req, peer);
}

http::Response DashService::Bounded(const std::function<http::Response()>& route) {
  try {
    return route();
  } catch (const store::StoreError& e) {
    if (e.code() != SQLITE_INTERRUPT) throw;
    metrics_.Add("argus_dash_query_timeouts_total");
    return http::Unavailable("the query ran longer than " + std::to_string(options_.query_timeout.count()) +
                             " ms and was stopped: narrow it (type, host, since/until, limit)");
  }
}

http::Response DashService::Registry(const http::Request& req, store::Registry which) {
  Params p(Target(req), {"limit", "cursor"});
  const int64_t limit = p.Int("limit", 1, 1000).value_or(1000);
  const std::string after = p.Text("cursor", 255).value_or("");
  if (base::Status s = p.status(); !s.ok()) return JsonError(bhttp::status::bad_request, s.message());
  const char* key = which == store::Registry::kTypes ? "type" : "host";
  auto db = pool_.Acquire();
  StartQuery(*db);
  json out = json::array();
  store::Reader reader(*db);
  const auto rows = reader.List(which, after, limit);
  std::map<std::string, store::HostStatusRow> status;
  if (which == store::Registry::kHosts) status = reader.HostStatuses(rows);
  for (const auto& r : rows) {
    json row = {{key, r.name}, {"first_seen", r.first_seen}, {"last_seen", r.last_seen}, {"events", r.events}};
    // Hosts with an agent heartbeat (or followed by the hosts aggregator) carry their state.
    if (auto it = status.find(r.name); it != status.end()) {
      row["state"] = it->second.state;
      row["state_since"] = it->second.state_since;
      row["agent_version"] = it->second.agent_version;
      row["timeout_ms"] = it->second.timeout_ms;
      row["last_heartbeat"] = it->second.last_heartbeat ? json(*it->second.last_heartbeat) : json(nullptr);
    }
    out.push_back(std::move(row));
  }
  // The cursor is the last name of a full page: names are the registry's order.
  json next = static_cast<int64_t>(rows.size()) == limit ? json(rows.back().name) : json(nullptr);
  return Json(bhttp::status::ok, {{std::string(key) + "s", out}, {"next_cursor", next}});
}

http::Response DashService::Events(const http::Request& req, const http::Peer&) {
  Params p(Target(req), {"type", "host", "since", "until", "limit", "cursor"});
  store::EventQuery q;
  q.type = p.Type("type");
  q.host = p.Text("host", 255);
  q.since = p.Int("since", 0, kMaxTs);
  q.until = p.Int("until", 0, kMaxTs);
  q.limit = p.Int("limit", 1, 1000).value_or(100);
  auto cursor = p.Text("cursor", 64);
  if (base::Status s = p.status(); !s.ok()) return JsonError(bhttp::status::bad_request, s.message());
  if (cursor) {
    q.after = ParseCursor(*cursor);
    if (!q.after) {
      return JsonError(bhttp::status::bad_request,
                       "parameter 'cursor' is not a cursor this API returned (next_cursor)");
    }
  }
  if (q.since && q.until && *q.since > *q.until) {
    return JsonError(bhttp::status::bad_request, "parameter 'since' is after 'until'");
  }
  auto db = pool_.Acquire();
  StartQuery(*db);
  auto rows = store::Reader(*db).Events(q);
  json out = json::array();
  for (const auto& r : rows) {
    out.push_back({{"id", r.id}, {"type", r.type}, {"host", r.host}, {"ts", r.ts},
                   {"recv_ts", r.recv_ts}, {"priority", r.priority}, {"addr", r.addr},
                   {"content", r.content}});
  }
  json next = nullptr;
  if (static_cast<int64_t>(rows.size()) == q.limit && !rows.empty()) {
    next = std::to_string(rows.back().ts) + "." + std::to_string(rows.back().seq);
  }
  return Json(bhttp::status::ok, {{"events", out}, {"next_cursor", next}});
}

http::Response DashService::Pipeline(const http::Request& req, const http::Peer&) {
  Params p(Target(req), {});
  if (base::Status s = p.status(); !s.ok()) return JsonError(bhttp::status::bad_request, s.message());
  if (!redis_) return JsonError(bhttp::status::service_unavailable, "the dash was started without --redis");
  auto redis = redis_->Acquire();
  std::vector<queue::TypeView> types;
  std::map<std::string, std::map<std::string, std::string>> consumers;
  base::Status s = queue::ReadPipeline(*redis, options_.shards, &types);
  if (s.ok()) s = queue::ReadConsumers(*redis, &consumers);
  if (!s.ok()) return http::Unavailable("redis: " + s.message());
  json t = json::array();
  for (const auto& v : types) {
    t.push_back({{"type", v.type}, {"length", v.length}, {"unread", v.unread}, {"pending", v.pending},
                 {"backlog", v.backlog}, {"dead_letters", v.dead_letters}});
  }
  json c = json::array();
  for (const auto& [name, fields] : consumers) {
    json row = {{"name", name}};
    for (const auto& [k, v] : fields) {
      // Published as text; numbers go back out as numbers.
      char* end = nullptr;
      double d = std::strtod(v.c_str(), &end);
      row[k] = (k != "type" && !v.empty() && end && *end == '\0') ? json(d) : json(v);
    }
    c.push_back(std::move(row));
  }
  return Json(bhttp::status::ok, {{"types", t}, {"consumers", c}});
}

http::Response DashService::DeadLetters(const http::Request& req, const http::Peer&) {
  Params p(Target(req), {"type", "limit"});
  auto type = p.Type("type");
  auto limit = p.Int("limit", 1, 1000).value_or(100);
  if (p.status().ok() && !type) return JsonError(bhttp::status::bad_request, "parameter 'type' is required");
  if (base::Status s = p.status(); !s.ok()) return JsonError(bhttp::status::bad_request, s.message());
  if (!redis_) return JsonError(bhttp::status::service_unavailable, "the dash was started without --redis");
  auto redis = redis_->Acquire();
  std::vector<queue::DeadLetterView> dead;
  if (base::Status s = queue::ReadDeadLetters(*redis, *type, limit, &dead); !s.ok()) {
    return http::Unavailable("redis: " + s.message());
  }
  json out = json::array();
  for (const auto& d : dead) {
    json row = {{"dead_id", d.id}};
    for (const auto& [k, v] : d.fields) {
      if (k == queue::kEventField) {
        auto event = json::parse(v, nullptr, false);
        row["event"] = event.is_discarded() ? json(v) : event;  // corrupt entries are shown as text
      } else {
        row[k] = v;
      }
    }
    out.push_back(std::move(row));
  }
  return Json(bhttp::status::ok, {{"type", *type}, {"dead_letters", out}});
}

http::Response DashService::Healthz(const http::Request&, const http::Peer&) {
  try {
    auto db = pool_.Acquire();
    StartQuery(*db);
    store::Statement(*db, "SELECT 1").Step();
  } catch (const std::exception& e) {
    return JsonError(bhttp::status::service_unavailable, std::string("store unavailable: ") + e.what());
  }
  return Json(bhttp::status::ok, {{"status", "ok"}});
}

}  // namespace argus::dash
