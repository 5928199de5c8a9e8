#include "dash/service.h"

#include <charconv>
#include <cstdlib>

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include "dash/params.h"
#include "queue/inspect.h"
#include "queue/streams.h"
#include "alert/rules.h"
#include "alert/notifier.h"
#include "alert/silence.h"
#include "store/alerts.h"
#include "store/reader.h"
#include "store/series.h"
#include "store/views.h"

namespace argus::dash {

namespace bhttp = boost::beast::http;
using http::Json;
using http::JsonError;
using nlohmann::json;

namespace {

std::string Target(const http::Request& req) { return std::string(req.target()); }

// "<number>.<rest>": every page cursor this API hands out starts with a time.
bool SplitCursor(std::string_view s, int64_t* lead, std::string_view* rest) {
  const auto dot = s.find('.');
  if (dot == std::string_view::npos) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + dot, *lead);
  if (ec != std::errc() || end != s.data() + dot) return false;
  *rest = s.substr(dot + 1);
  return true;
}

// "<ts>.<seq>" of the last row of a page; opaque to clients.
std::optional<store::EventCursor> ParseCursor(const std::string& s) {
  store::EventCursor c;
  std::string_view seq;
  if (!SplitCursor(s, &c.ts, &seq)) return std::nullopt;
  auto [end, ec] = std::from_chars(seq.data(), seq.data() + seq.size(), c.seq);
  if (seq.empty() || ec != std::errc() || end != seq.data() + seq.size()) return std::nullopt;
  return c;
}

}  // namespace

DashService::DashService(DashOptions options)
    : options_(std::move(options)),
      pool_(options_.connections, [] { return std::make_unique<Connection>(); }),
      cache_(options_.cache_bytes, options_.cache_ttl, *options_.clock),
      web_(options_.web_root) {
  if (options_.redis) {
    redis_ = std::make_unique<http::Pool<queue::Redis>>(
        options_.connections, [this] { return std::make_unique<queue::Redis>(*options_.redis); });
  }
  // Every store-reading route: a query stopped at its deadline is a 503, not a 500;
  // its answers are cached, tagged and compressed.
  auto bounded = [this](http::Handler route) {
    return [this, route](const http::Request& r, const http::Peer& p) {
      return Cached(r, [&] { return Bounded([&] { return route(r, p); }); });
    };
  };
  using K = http::Metrics::Kind;
  metrics_.Describe("argus_dash_unauthorized_total", K::kCounter, "API calls refused for a missing or wrong read token.");
  metrics_.Describe("argus_dash_query_timeouts_total", K::kCounter, "Queries stopped at the query timeout (503).");
  metrics_.Describe("argus_dash_store_unavailable_total", K::kCounter,
                    "Requests answered 503 because the store file could not be opened.");
  metrics_.Describe("argus_dash_streams", K::kGauge, "Live tails (events/stream) open.");
  metrics_.Describe("argus_dash_streams_refused_total", K::kCounter, "Live tails refused at --max-streams (503).");
  metrics_.Describe("argus_dash_cache_hits_total", K::kCounter, "Answers served from the answer cache.");
  metrics_.Describe("argus_dash_cache_misses_total", K::kCounter, "Cacheable requests that ran their query.");
  metrics_.Describe("argus_dash_cache_bytes", K::kGauge, "Bytes held by the answer cache.");
  metrics_.Describe("argus_dash_cache_entries", K::kGauge, "Answers held by the answer cache.");
  metrics_.OnRender([this](http::Metrics& m) {
    m.Set("argus_dash_cache_bytes", {}, static_cast<double>(cache_.bytes()));
    m.Set("argus_dash_cache_entries", {}, static_cast<double>(cache_.entries()));
    m.Set("argus_dash_streams", {}, static_cast<double>(streams_.load()));
  });
  router_.CountRequests(&metrics_, "argus_dash_requests_total");
  const std::pair<const char*, http::Response (DashService::*)(const http::Request&, const http::Peer&)> store_routes[] = {
      {"/api/v1/types", &DashService::Types},
      {"/api/v1/hosts", &DashService::Hosts},
      {"/api/v1/hosts/*", &DashService::Host},
      {"/api/v1/events", &DashService::Events},
      {"/api/v1/rates", &DashService::Rates},
      {"/api/v1/fields", &DashService::Fields},
      {"/api/v1/series", &DashService::Series},
      {"/api/v1/top", &DashService::Top},
      {"/api/v1/system", &DashService::System},
      {"/api/v1/packet", &DashService::Packet},
      {"/api/v1/packet/messages", &DashService::PacketMessages},
  };
  for (const auto& [path, fn] : store_routes) router_.Add(bhttp::verb::get, path, bounded(http::Member(this, fn)));
  // A stream is not an answer to keep: bounded (a store not there yet is a 503), not cached.
  router_.Add(bhttp::verb::get, "/api/v1/events/stream", [this](const http::Request& r, const http::Peer& p) {
    return Bounded([&] { return EventStream(r, p); });
  });
  router_.Add(bhttp::verb::get, "/healthz", [this](const http::Request& r, const http::Peer& p) {
    return Bounded([&] { return Healthz(r, p); });
  });
  for (const auto& [path, fn] : {std::pair{"/api/v1/pipeline", &DashService::Pipeline},
                                 std::pair{"/api/v1/dead_letters", &DashService::DeadLetters}}) {
    router_.Add(bhttp::verb::get, path, [this, fn](const http::Request& r, const http::Peer& p) {
      return Cached(r, [&] { return (this->*fn)(r, p); });
    });
  }
  // Rules change through this API: never served from the cache.
  auto uncached = [this](http::Handler route) {
    return [this, route](const http::Request& r, const http::Peer& p) { return Bounded([&] { return route(r, p); }); };
  };
  router_.Add(bhttp::verb::get, "/api/v1/rules", uncached(http::Member(this, &DashService::Rules)));
  router_.Add(bhttp::verb::post, "/api/v1/rules", uncached(http::Member(this, &DashService::AddRule)));
  for (auto verb : {bhttp::verb::get, bhttp::verb::put, bhttp::verb::delete_}) {
    router_.Add(verb, "/api/v1/rules/*", uncached(http::Member(this, &DashService::Rule)));
  }
  // Alarms move with every evaluation, silences with every write: answered fresh.
  router_.Add(bhttp::verb::get, "/api/v1/alarms", uncached(http::Member(this, &DashService::Alarms)));
  router_.Add(bhttp::verb::get, "/api/v1/alarms/history", uncached(http::Member(this, &DashService::AlarmHistory)));
  router_.Add(bhttp::verb::get, "/api/v1/silences", uncached(http::Member(this, &DashService::Silences)));
  router_.Add(bhttp::verb::post, "/api/v1/silences", uncached(http::Member(this, &DashService::AddSilence)));
  router_.Add(bhttp::verb::delete_, "/api/v1/silences/*", uncached(http::Member(this, &DashService::ExpireSilence)));
  router_.Add(bhttp::verb::get, "/", http::Member(this, &DashService::WebPage));
  router_.Add(bhttp::verb::get, "/assets/*", http::Member(this, &DashService::WebAsset));
  router_.Add(bhttp::verb::get, "/metrics",
              [this](const http::Request&, const http::Peer&) { return http::MetricsResponse(metrics_); });
}

http::Response DashService::WebPage(const http::Request& req, const http::Peer&) {
  // The page's own state is in its query string (shareable URLs); any query is fine.
  http::Response res = web_.Serve(req, "index.html");
  if (res.result() != bhttp::status::not_found) return res;
  res = http::Response{bhttp::status::not_found, 11};
  res.set(bhttp::field::content_type, "text/html; charset=utf-8");
  res.body() =
      "<!doctype html><title>Argus</title><h1>The web UI is not built</h1>"
      "<p>The dash looked for it in <code>" +
      (options_.web_root.empty() ? std::string("(no --web-root)") : options_.web_root) +
      "</code>. Build it with <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code> (Node.js 18 or newer; "
      "<code>scripts/run.sh</code> does this when Node is installed), or point <code>--web-root</code> at a built "
      "copy. The API under <code>/api/v1/</code> works without it (docs/api.md).</p>";
  return res;
}

http::Response DashService::WebAsset(const http::Request& req, const http::Peer&) {
  std::string rest;
  if (base::Status s = http::PathRest(Target(req), "/assets/", &rest); !s.ok()) {
    return JsonError(bhttp::status::bad_request, s.message());
  }
  return web_.Serve(req, "assets/" + rest);
}

store::Database& DashService::Ready(Lease& lease) const {
  if (!lease->db) lease->db = store::Database::OpenReadOnly(options_.db_path);
  lease->db->SetDeadline(std::chrono::steady_clock::now() + options_.query_timeout);
  return *lease->db;
}

http::Response DashService::Handle(const http::Request& req, const http::Peer& peer) {
  std::string_view path(req.target().data(), req.target().size());
  if (!path.starts_with("/api/")) return router_.Dispatch(req, peer);
  const std::string_view token = http::BearerToken(req);
  // Both are compared, always: the time taken does not tell which one matched.
  const bool admin = !options_.admin_token.empty() & http::SecretEquals(token, options_.admin_token);
  const bool reader = !options_.read_token.empty() & http::SecretEquals(token, options_.read_token);
  const bool writes = req.method() != bhttp::verb::get && req.method() != bhttp::verb::head;
  if (writes && options_.admin_token.empty()) {
    return JsonError(bhttp::status::forbidden, "this dash has no --admin-token, so it takes no writes");
  }
  if ((writes && !admin) || (!writes && !options_.read_token.empty() && !reader && !admin)) {
    metrics_.Add("argus_dash_unauthorized_total");
    return JsonError(bhttp::status::unauthorized, writes ? "this call needs the admin token ('Authorization: Bearer <token>')"
                                                         : "this dash needs its read token ('Authorization: Bearer <token>')");
  }
  return router_.Dispatch(req, peer);
}

http::Response DashService::Bounded(const std::function<http::Response()>& route) {
  try {
    return route();
  } catch (const store::StoreError& e) {
    if (e.code() == SQLITE_INTERRUPT) {
      metrics_.Add("argus_dash_query_timeouts_total");
      return http::Unavailable("the query ran longer than " + std::to_string(options_.query_timeout.count()) +
                               " ms and was stopped: narrow it (type, host, since/until, limit)");
    }
    if ((e.code() & 0xff) == SQLITE_CANTOPEN) {
      metrics_.Add("argus_dash_store_unavailable_total");
      return http::Unavailable(std::string("store unavailable: ") + e.what(), 5);
    }
    throw;
  }
}

http::Response DashService::Cached(const http::Request& req, const std::function<http::Response()>& route) {
  // With the cache off (--cache-mb 0) no key is made and nothing is counted.
  const std::string key =
      cache_.enabled() ? http::NormalisedQuery(std::string_view(req.target().data(), req.target().size())) : "";
  if (!key.empty()) {
    if (auto hit = cache_.Get(key)) {
      metrics_.Add("argus_dash_cache_hits_total");
      return http::Deliver(req, *hit);
    }
    metrics_.Add("argus_dash_cache_misses_total");
  }
  http::Response res = route();
  if (res.result() != bhttp::status::ok) return res;  // errors are neither kept nor tagged
  auto answer = http::Finish(res, http::AcceptsGzip(req));
  if (!key.empty()) cache_.Put(key, answer);
  return http::Deliver(req, *answer);
}

namespace {

json HostJson(const store::HostRow& r) {
  json row = {{"host", r.name}, {"first_seen", r.first_seen}, {"last_seen", r.last_seen}, {"events", r.events},
              {"state", "unknown"}, {"labels", json::object()}};
  // Hosts with an agent heartbeat (or followed by the hosts aggregator) carry their state.
  if (r.status) {
    const auto& s = *r.status;
    row["state"] = s.state;
    row["state_since"] = s.state_since;
    row["agent_version"] = s.agent_version;
    row["timeout_ms"] = s.timeout_ms;
    row["last_heartbeat"] = s.last_heartbeat ? json(*s.last_heartbeat) : json(nullptr);
    if (s.heartbeat.is_object() && s.heartbeat.contains("labels") && s.heartbeat["labels"].is_object()) {
      row["labels"] = s.heartbeat["labels"];
    }
  }
  return row;
}

json EventJson(const store::EventRow& r) {
  return {{"id", r.id},       {"type", r.type},         {"host", r.host}, {"ts", r.ts},
          {"recv_ts", r.recv_ts}, {"priority", r.priority}, {"addr", r.addr}, {"content", r.content}};
}

json Optional(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }
json Optional(const std::optional<int64_t>& v) { return v ? json(*v) : json(nullptr); }
json Ratio(int64_t num, int64_t den) { return den > 0 ? json(static_cast<double>(num) / static_cast<double>(den)) : json(nullptr); }

http::Response BadRequest(const Params& p) { return JsonError(bhttp::status::bad_request, p.status().message()); }

// A required parameter: records "parameter 'x' is required" when it is absent.
template <class T>
T Required(Params& p, const std::string& name, std::optional<T> v) {
  if (!v && p.status().ok() && !p.Has(name)) p.Fail("parameter '" + name + "' is required");
  return v.value_or(T{});
}

// The hosts a series or a ranking covers: `host=` one, `hosts=` a comma list or a
// `prefix*`; neither: all.
store::HostFilter ReadHosts(Params& p) {
  store::HostFilter f;
  auto host = p.Text("host", 255);
  auto hosts = p.Text("hosts", 64 * 1024);
  if (host && hosts) p.Fail("parameters 'host' and 'hosts' exclude each other: give one");
  if (host) f.hosts = {*host};
  if (hosts) {
    if (hosts->back() == '*' && hosts->find(',') == std::string::npos) {
      f.prefix = hosts->substr(0, hosts->size() - 1);
      if (f.prefix.empty()) hosts.reset();  // "*": all
    } else {
      for (size_t start = 0; start <= hosts->size();) {
        size_t comma = std::min(hosts->find(',', start), hosts->size());
        std::string h = hosts->substr(start, comma - start);
        if (h.empty() || h.size() > 255 || h.find('*') != std::string::npos) {
          p.Fail("parameter 'hosts' must be host names separated by commas, or one prefix ending in '*'");
          break;
        }
        f.hosts.push_back(std::move(h));
        start = comma + 1;
      }
      if (f.hosts.size() > 1000) p.Fail("parameter 'hosts' lists more than 1000 hosts; use a prefix*");
    }
  }
  return f;
}

std::vector<std::string> AggNames() { return {"avg", "min", "max", "sum", "count", "last"}; }

// A page of a list in name order: `limit` (1 to 1000, default 1000) names after `cursor`.
struct Page {
  int64_t limit;
  std::string after;
};
Page ReadPage(Params& p, size_t cursor_chars) {
  return {p.Int("limit", 1, 1000).value_or(1000), p.Text("cursor", cursor_chars).value_or("")};
}
// The cursor of the next page: the last name of a full page, else null.
json NextCursor(size_t rows, const Page& page, const std::string& last) {
  return static_cast<int64_t>(rows) == page.limit ? json(last) : json(nullptr);
}

}  // namespace

http::Response DashService::Types(const http::Request& req, const http::Peer&) {
  Params p(Target(req), {"limit", "cursor"});
  const Page page = ReadPage(p, 255);
  if (!p.status().ok()) return BadRequest(p);
  auto lease = pool_.Acquire();
  const auto rows = store::Reader(Ready(lease)).List(store::Registry::kTypes, page.after, page.limit);
  json out = json::array();
  for (const auto& r : rows) {
    out.push_back({{"type", r.name}, {"first_seen", r.first_seen}, {"last_seen", r.last_seen}, {"events", r.events}});
  }
  return Json(bhttp::status::ok, {{"types", out}, {"next_cursor", NextCursor(rows.size(), page, rows.empty() ? "" : rows.back().name)}});
}

http::Response DashService::Hosts(const http::Request& req, const http::Peer&) {
  Params p(Target(req), {"limit", "cursor", "state", "label", "prefix"});
  store::HostQuery q;
  const Page page = ReadPage(p, 255);
  q.limit = page.limit;
  q.after = page.after;
  q.state = p.Choice("state", {"online", "offline", "unknown"});
  q.label = p.Label("label");
  q.prefix = p.Text("prefix", 255).value_or("");
  if (!p.status().ok()) return BadRequest(p);
  auto lease = pool_.Acquire();
  const auto rows = store::Reader(Ready(lease)).Hosts(q);
  json out = json::array();
  for (const auto& r : rows) out.push_back(HostJson(r));
  return Json(bhttp::status::ok, {{"hosts", out}, {"next_cursor", NextCursor(rows.size(), page, rows.empty() ? "" : rows.back().name)}});
}

http::Response DashService::Host(const http::Request& req, const http::Peer&) {
  std::string host;
  if (base::Status s = http::PathRest(Target(req), "/api/v1/hosts/", &host); !s.ok()) {
    return JsonError(bhttp::status::bad_request, s.message());
  }
  if (host.empty() || host.size() > 255 || host.find('/') != std::string::npos) {
    return JsonError(bhttp::status::bad_request, "the path must be /api/v1/hosts/{host}, a host name of 1 to 255 characters");
  }
  Params p(Target(req), {"since"});
  const int64_t now = options_.clock->WallMs();
  const int64_t since = p.Time("since", now).value_or(now - 24 * 3600 * 1000);
  if (!p.status().ok()) return BadRequest(p);
  auto lease = pool_.Acquire();
  store::Database& db = Ready(lease);
  store::Reader reader(db);
  auto row = reader.Host(host);
  if (!row) return JsonError(bhttp::status::not_found, "no host '" + host.substr(0, 255) + "' in the store");
  json out = HostJson(*row);
  json agent = nullptr;
  if (row->status && row->status->heartbeat.is_object()) {
    agent = row->status->heartbeat;
    agent.erase("labels");  // shown once, above
  }
  out["agent"] = agent;
  json types = json::array();
  for (const auto& t : reader.HostTypes(host, since)) {
    types.push_back({{"type", t.type}, {"events", t.events}, {"last_ts", t.last_ts}});
  }
  out["types"] = {{"since", since}, {"types", types}};
  json system = nullptr;
  if (auto sample = store::ViewReader(db).LatestSystem(host)) {
    system = {{"ts", sample->ts}};
    for (const auto& [k, v] : sample->metrics) system[k] = Optional(v);
    json disks = json::array();
    for (const auto& d : sample->disks) {
      disks.push_back({{"mount", d.mount}, {"total_bytes", Optional(d.total_bytes)},
                       {"used_bytes", Optional(d.used_bytes)}, {"pct", Optional(d.pct)}});
    }
    system["disks"] = disks;
  }
  out["system"] = system;
  return Json(bhttp::status::ok, out);
}

http::Response DashService::Rates(const http::Request& req, const http::Peer&) {
  constexpr int64_t kMaxRange = 7 * 24 * 3600 * 1000LL;  // counted from raw events
  Params p(Target(req), {"type", "since", "until", "step"});
  auto type = p.Type("type");
  Window w = ReadWindow(p, options_.clock->WallMs(), 3600 * 1000, 60000);
  if (p.status().ok() && w.until - w.since > kMaxRange) {
    p.Fail("parameter 'since': events are counted over at most 7 days");
  }
  if (!p.status().ok()) return BadRequest(p);
  auto lease = pool_.Acquire();
  json out = json::array();
  for (const auto& [t, points] : store::Reader(Ready(lease)).EventRates(w.since, w.until, w.step, type)) {
    json pts = json::array();
    for (const auto& [ts, n] : points) pts.push_back({ts, n});
    out.push_back({{"type", t}, {"points", std::move(pts)}});
  }
  return Json(bhttp::status::ok, {{"step", w.step}, {"since", w.since}, {"until", w.until}, {"series", out}});
}

http::Response DashService::Fields(const http::Request& req, const http::Peer&) {
  Params p(Target(req), {"type", "limit", "cursor"});
  const std::string type = Required(p, "type", p.Type("type"));
  const Page page = ReadPage(p, 512);
  if (!p.status().ok()) return BadRequest(p);
  auto lease = pool_.Acquire();
  const auto rows = store::SeriesReader(Ready(lease)).Fields(type, page.after, page.limit);
  json out = json::array();
  for (const auto& r : rows) out.push_back({{"field", r.field}, {"first_seen", r.first_seen}, {"last_seen", r.last_seen}});
  return Json(bhttp::status::ok, {{"type", type}, {"fields", out},
                                  {"next_cursor", NextCursor(rows.size(), page, rows.empty() ? "" : rows.back().field)}});
}

http::Response DashService::Series(const http::Request& req, const http::Peer&) {
  constexpr int64_t kMinute = 60000, kHour = 60 * kMinute, kRawRange = 6 * kHour;
  Params p(Target(req), {"type", "field", "agg", "step", "since", "until", "host", "hosts", "group", "limit", "cursor"});
  store::SeriesQuery q;
  q.type = Required(p, "type", p.Type("type"));
  q.field = Required(p, "field", p.Text("field", 512));
  q.agg = *store::ParseAgg(p.Choice("agg", AggNames()).value_or("avg"));
  q.hosts = ReadHosts(p);
  q.per_host = p.Choice("group", {"host"}).has_value();
  q.max_series = p.Int("limit", 1, 500).value_or(50);
  q.after_host = p.Text("cursor", 255).value_or("");
  if (q.per_host == false && p.Has("cursor")) p.Fail("parameter 'cursor' pages hosts: it needs group=host");
  Window w = ReadWindow(p, options_.clock->WallMs(), kHour, 1000);
  if (!p.status().ok()) return BadRequest(p);
  auto lease = pool_.Acquire();
  store::SeriesReader reader(Ready(lease));
  // A chosen step under an hour over a range reaching back to where the minutes were
  // folded into hours (as they age) becomes whole hours, so the chart has no hole.
  if (!w.step_given && w.step % kHour != 0) {
    if (auto folded = reader.FoldedUntil(); folded && w.since < *folded) {
      w = AlignWindow(w, (w.step + kHour - 1) / kHour * kHour);
    }
  }
  q.source = w.step % kHour == 0 ? store::Source::kHour : w.step % kMinute == 0 ? store::Source::kMinute : store::Source::kRaw;
  if (q.source == store::Source::kRaw && w.until - w.since > kRawRange) {
    return JsonError(bhttp::status::bad_request,
                     "parameter 'step': a step that is not a whole number of minutes reads raw events, which is "
                     "allowed over at most 6 h; use a multiple of 60000 ms for this range");
  }
  q.step = w.step;
  q.since = w.since;
  q.until = w.until;
  bool more = false;
  const auto series = reader.Read(q, &more);
  json out = json::array();
  for (const auto& s : series) {
    json points = json::array();
    for (const auto& [ts, v] : s.points) points.push_back({ts, v});
    out.push_back({{"host", s.host ? json(*s.host) : json(nullptr)}, {"points", std::move(points)}});
  }
  json next = more && !series.empty() ? json(*series.back().host) : json(nullptr);
  return Json(bhttp::status::ok, {{"type", q.type}, {"field", q.field}, {"agg", store::AggName(q.agg)},
                                  {"step", q.step}, {"since", q.since}, {"until", q.until},
                                  {"source", store::SourceName(q.source)}, {"series", out}, {"next_cursor", next}});
}

http::Response DashService::Top(const http::Request& req, const http::Peer&) {
  Params p(Target(req), {"type", "field", "agg", "since", "until", "n", "order", "hosts"});
  store::SeriesQuery q;
  q.type = Required(p, "type", p.Type("type"));
  q.field = Required(p, "field", p.Text("field", 512));
  q.agg = *store::ParseAgg(p.Choice("agg", AggNames()).value_or("avg"));
  q.hosts = ReadHosts(p);
  const int64_t n = p.Int("n", 1, 1000).value_or(10);
  const bool ascending = p.Choice("order", {"desc", "asc"}).value_or("desc") == "asc";
  const int64_t now = options_.clock->WallMs();
  q.until = p.Time("until", now).value_or(now);
  q.since = p.Time("since", now).value_or(q.until - 3600 * 1000);
  if (p.status().ok() && q.since >= q.until) p.Fail("parameter 'since' must be before 'until'");
  if (!p.status().ok()) return BadRequest(p);
  auto lease = pool_.Acquire();
  json out = json::array();
  for (const auto& r : store::SeriesReader(Ready(lease)).Top(q, n, ascending)) {
    out.push_back({{"host", r.host}, {"value", r.value}, {"count", r.count}});
  }
  return Json(bhttp::status::ok, {{"type", q.type}, {"field", q.field}, {"agg", store::AggName(q.agg)},
                                  {"since", q.since}, {"until", q.until}, {"order", ascending ? "asc" : "desc"},
                                  {"hosts", out}});
}

http::Response DashService::System(const http::Request& req, const http::Peer&) {
  Params p(Target(req), {"host", "since", "until", "step", "agg"});
  auto host = p.Text("host", 255);
  const std::string agg = p.Choice("agg", {"avg", "min", "max"}).value_or("avg");
  // Whole minutes: agents sample once a minute by default, and finer buckets would be
  // mostly empty.
  Window w = ReadWindow(p, options_.clock->WallMs(), 3600 * 1000, 60000);
  if (!p.status().ok()) return BadRequest(p);
  auto lease = pool_.Acquire();
  const auto points = store::ViewReader(Ready(lease))
                          .System(host, w.since, w.until, w.step,
                                  agg == "min" ? store::SystemAgg::kMin
                                               : agg == "max" ? store::SystemAgg::kMax : store::SystemAgg::kAvg);
  json series = json::array();
  for (size_t i = 0; i < store::SystemMetrics().size(); ++i) {
    json pts = json::array();
    for (const auto& pt : points) {
      if (pt.values[i]) pts.push_back({pt.ts, *pt.values[i]});
    }
    series.push_back({{"metric", store::SystemMetrics()[i]}, {"points", std::move(pts)}});
  }
  return Json(bhttp::status::ok, {{"host", host ? json(*host) : json(nullptr)}, {"agg", agg}, {"step", w.step},
                                  {"since", w.since}, {"until", w.until}, {"series", series}});
}

http::Response DashService::Packet(const http::Request& req, const http::Peer&) {
  Params p(Target(req), {"network", "since", "until", "step"});
  auto network = p.Text("network", 512);
  Window w = ReadWindow(p, options_.clock->WallMs(), 3600 * 1000, 60000);
  if (!p.status().ok()) return BadRequest(p);
  auto lease = pool_.Acquire();
  json out = json::array();
  for (const auto& n : store::ViewReader(Ready(lease)).Packet(network, w.since, w.until, w.step)) {
    json points = json::array();
    for (const auto& pt : n.points) {
      json delivery = Ratio(pt.received, pt.expected);
      points.push_back({{"ts", pt.ts}, {"sent", pt.sent}, {"expected", pt.expected}, {"received", pt.received},
                        {"delivery_rate", delivery},
                        {"drop_rate", delivery.is_null() ? json(nullptr) : json(1.0 - delivery.get<double>())},
                        {"hops_avg", Ratio(pt.hops_sum, pt.received)},
                        {"delay_avg_ms", Ratio(pt.delay_sum, pt.received)},
                        {"delay_max_ms", pt.received > 0 ? json(pt.delay_max) : json(nullptr)}});
    }
    out.push_back({{"network", n.network}, {"points", std::move(points)}});
  }
  return Json(bhttp::status::ok, {{"step", w.step}, {"since", w.since}, {"until", w.until}, {"networks", out}});
}

http::Response DashService::PacketMessages(const http::Request& req, const http::Peer&) {
  Params p(Target(req), {"network", "limit", "cursor"});
  auto network = p.Text("network", 512);
  const int64_t limit = p.Int("limit", 1, 500).value_or(50);
  std::optional<store::MessageCursor> after;
  if (auto c = p.Text("cursor", 1024)) {
    // "<seen>.<msg>" of the last message of a page; the message key may hold dots.
    int64_t seen = 0;
    std::string_view msg;
    if (SplitCursor(*c, &seen, &msg)) {
      after = store::MessageCursor{seen, std::string(msg)};
    } else {
      p.Fail("parameter 'cursor' is not a cursor this API returned (next_cursor)");
    }
  }
  if (!p.status().ok()) return BadRequest(p);
  auto lease = pool_.Acquire();
  const auto messages = store::ViewReader(Ready(lease)).Messages(network, after, limit, 100);
  json out = json::array();
  for (const auto& m : messages) {
    json receipts = json::array();
    for (const auto& r : m.receipts) {
      receipts.push_back({{"host", r.host}, {"ts", r.ts}, {"hops", r.hops},
                          {"delay_ms", m.sent_ts ? json(r.ts - *m.sent_ts) : json(nullptr)}});
    }
    out.push_back({{"msg", m.msg}, {"network", m.network}, {"sender", m.sender.empty() ? json(nullptr) : json(m.sender)},
                   {"sent_ts", Optional(m.sent_ts)}, {"expected", m.expected}, {"receivers", m.receivers},
                   {"delivery_rate", Ratio(m.receivers, m.expected)}, {"first_recv_ts", Optional(m.first_recv_ts)},
                   {"last_recv_ts", Optional(m.last_recv_ts)}, {"hops_avg", Ratio(m.hops_sum, m.receivers)},
                   {"max_hops", m.max_hops}, {"receipts", std::move(receipts)}});
  }
  json next = static_cast<int64_t>(messages.size()) == limit
                  ? json(std::to_string(messages.back().seen) + "." + messages.back().msg)
                  : json(nullptr);
  return Json(bhttp::status::ok, {{"messages", out}, {"next_cursor", next}});
}

http::Response DashService::Events(const http::Request& req, const http::Peer&) {
  Params p(Target(req), {"type", "host", "since", "until", "limit", "cursor"});
  store::EventQuery q;
  q.type = p.Type("type");
  q.host = p.Text("host", 255);
  const int64_t now = options_.clock->WallMs();
  q.since = p.Time("since", now);
  q.until = p.Time("until", now);
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
  auto lease = pool_.Acquire();
  auto rows = store::Reader(Ready(lease)).Events(q);
  json out = json::array();
  for (const auto& r : rows) out.push_back(EventJson(r));
  json next = nullptr;
  if (static_cast<int64_t>(rows.size()) == q.limit && !rows.empty()) {
    next = std::to_string(rows.back().ts) + "." + std::to_string(rows.back().seq);
  }
  return Json(bhttp::status::ok, {{"events", out}, {"next_cursor", next}});
}

class DashService::Tail final : public http::EventStream {
 public:
  Tail(DashService& dash, std::optional<std::string> type, std::optional<std::string> host, int64_t after)
      : dash_(dash), type_(std::move(type)), host_(std::move(host)), after_(after) {}
  ~Tail() override { --dash_.streams_; }

  bool Poll(std::string* out) override {
    constexpr int64_t kPage = 500;
    try {
      auto lease = dash_.pool_.Acquire();
      store::Reader reader(dash_.Ready(lease));
      const int64_t upto = reader.LastSeq();
      // At most a few pages a poll: a burst goes out over the next polls, in order.
      for (int page = 0; page < 8; ++page) {
        const auto rows = reader.Tail(after_, upto, type_, host_, kPage);
        for (const auto& r : rows) {
          *out += "id: " + std::to_string(r.seq) + "\nevent: event\ndata: " + EventJson(r).dump() + "\n\n";
          after_ = r.seq;
        }
        if (static_cast<int64_t>(rows.size()) < kPage) {
          after_ = std::max(after_, upto);  // nothing else up to upto matches the filter
          break;
        }
      }
    } catch (const store::StoreError& e) {
      // The store is away or slow: say so, and try again at the next poll.
      spdlog::debug("argus-dash: live tail poll failed: {}", e.what());
      *out += "event: unavailable\ndata: " + json({{"error", e.what()}}).dump() + "\n\n";
    }
    return true;
  }

 private:
  DashService& dash_;
  const std::optional<std::string> type_, host_;
  int64_t after_;  // the seq of the last event sent, or seen past
};

http::Response DashService::EventStream(const http::Request& req, const http::Peer& peer) {
  Params p(Target(req), {"type", "host"});
  auto type = p.Type("type");
  auto host = p.Text("host", 255);
  // EventSource sends the id of the last event it got when it reconnects.
  std::optional<int64_t> resume;
  if (auto it = req.find("Last-Event-ID"); it != req.end()) {
    int64_t id = -1;
    const std::string_view v = it->value();
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), id);
    if (ec != std::errc() || end != v.data() + v.size() || id < 0) {
      p.Fail("header 'Last-Event-ID' must be the id of an event this stream sent");
    }
    resume = id;
  }
  if (!p.status().ok()) return BadRequest(p);
  if (!peer.stream) return JsonError(bhttp::status::not_implemented, "this server cannot stream answers");
  if (streams_.fetch_add(1) >= options_.max_streams) {
    --streams_;
    metrics_.Add("argus_dash_streams_refused_total");
    return http::Unavailable("too many live tails are open (" + std::to_string(options_.max_streams) +
                                 ", --max-streams); try again later",
                             5);
  }
  int64_t after = resume.value_or(0);
  if (!resume) {
    try {
      auto lease = pool_.Acquire();
      after = store::Reader(Ready(lease)).LastSeq();  // from now on
    } catch (...) {
      --streams_;
      throw;
    }
  }
  *peer.stream = std::make_shared<Tail>(*this, type, host, after);  // counted out when it goes
  http::Response res{bhttp::status::ok, 11};
  res.set(bhttp::field::content_type, "text/event-stream");
  res.set(bhttp::field::cache_control, "no-cache");
  res.set("X-Accel-Buffering", "no");  // nginx in front: pass each event on at once
  return res;
}

http::Response DashService::Pipeline(const http::Request& req, const http::Peer&) {
  // A publisher that has not written for three of its 5 s periods is shown, marked stale.
  constexpr int64_t kStaleMs = 15000;
  Params p(Target(req), {});
  if (base::Status s = p.status(); !s.ok()) return JsonError(bhttp::status::bad_request, s.message());
  if (!redis_) return JsonError(bhttp::status::service_unavailable, "the dash was started without --redis");
  const int64_t now = options_.clock->WallMs();
  std::vector<queue::TypeView> types;
  std::map<std::string, std::map<std::string, std::string>> consumers, proxies;
  alert::NotificationQueue notes;
  {
    auto redis = redis_->Acquire();
    base::Status s = queue::ReadPipeline(*redis, options_.shards, &types);
    if (s.ok()) s = queue::ReadPublished(*redis, "consumer", &consumers);
    if (s.ok()) s = queue::ReadPublished(*redis, "proxy", &proxies);
    if (s.ok()) s = alert::ReadNotificationQueue(*redis, &notes);
    if (!s.ok()) return http::Unavailable("redis: " + s.message());
  }
  json t = json::array();
  for (const auto& v : types) {
    t.push_back({{"type", v.type}, {"length", v.length}, {"unread", v.unread}, {"pending", v.pending},
                 {"backlog", v.backlog}, {"dead_letters", v.dead_letters}});
  }
  auto published = [&](const std::map<std::string, std::map<std::string, std::string>>& all) {
    json out = json::array();
    for (const auto& [name, fields] : all) {
      json row = {{"name", name}};
      for (const auto& [k, v] : fields) {
        // Published as text; numbers go back out as numbers.
        char* end = nullptr;
        double d = std::strtod(v.c_str(), &end);
        row[k] = (k != "type" && k != "listen" && !v.empty() && end && *end == '\0') ? json(d) : json(v);
      }
      row["stale"] = !row.contains("updated_ms") || !row["updated_ms"].is_number() ||
                     now - row["updated_ms"].get<double>() > kStaleMs;
      out.push_back(std::move(row));
    }
    return out;
  };
  const json notifications = {{"stream", std::string(alert::kNotificationStream)}, {"length", notes.length},
                               {"unread", notes.unread}, {"pending", notes.pending}, {"dead_letters", notes.dead_letters}};
  return Json(bhttp::status::ok, {{"types", t}, {"consumers", published(consumers)}, {"proxies", published(proxies)},
                                  {"agents", Agents()}, {"notifications", notifications}, {"now", now}});
}

namespace {

json StoredRuleJson(const store::StoredRule& r) {
  return {{"name", r.name}, {"source", r.source}, {"version", r.version}, {"updated_ms", r.updated_ms},
          {"rule", json::parse(r.body, nullptr, false)}};
}

// A rule from a request body, checked; `name` (from the path) must agree with it.
base::Status ReadRuleBody(const http::Request& req, const std::string* name, alert::Rule* out) {
  const json body = json::parse(req.body(), nullptr, false);
  if (body.is_discarded()) return base::Status::Invalid("the body is not JSON (a rule object)");
  if (base::Status s = alert::ParseRule(body, "rule", out); !s.ok()) return s;
  if (name && out->name != *name) {
    return base::Status::Invalid("rule.name: \"" + out->name + "\" is not the name in the path (\"" + *name + "\")");
  }
  return {};
}

}  // namespace

http::Response DashService::Writing(const std::function<http::Response(store::Database&)>& fn) {
  std::lock_guard lock(write_mu_);
  if (!writer_) writer_ = store::Database::Open(options_.db_path, /*create=*/false);
  writer_->SetDeadline(std::chrono::steady_clock::now() + options_.query_timeout);
  return fn(*writer_);
}

http::Response DashService::Rules(const http::Request& req, const http::Peer&) {
  Params p(Target(req), {"limit", "cursor"});
  const Page page = ReadPage(p, 128);
  if (!p.status().ok()) return BadRequest(p);
  auto lease = pool_.Acquire();
  const auto rows = store::AlertStore(Ready(lease)).Rules(page.after, page.limit);
  json out = json::array();
  for (const auto& r : rows) out.push_back(StoredRuleJson(r));
  return Json(bhttp::status::ok, {{"rules", out}, {"next_cursor", NextCursor(rows.size(), page, rows.empty() ? "" : rows.back().name)}});
}

http::Response DashService::AddRule(const http::Request& req, const http::Peer&) {
  Params p(Target(req), {});
  if (!p.status().ok()) return BadRequest(p);
  alert::Rule rule;
  if (base::Status s = ReadRuleBody(req, nullptr, &rule); !s.ok()) return JsonError(bhttp::status::bad_request, s.message());
  return Writing([&](store::Database& db) {
    store::AlertStore rules(db);
    if (!rules.Insert(rule.name, alert::RuleJson(rule).dump(), "api", options_.clock->WallMs())) {
      return JsonError(bhttp::status::conflict, "a rule named \"" + rule.name + "\" exists: PUT /api/v1/rules/" +
                                                    rule.name + " replaces it");
    }
    return Json(bhttp::status::created, StoredRuleJson(*rules.Rule(rule.name)));
  });
}

http::Response DashService::Rule(const http::Request& req, const http::Peer&) {
  std::string name;
  if (base::Status s = http::PathRest(Target(req), "/api/v1/rules/", &name); !s.ok()) {
    return JsonError(bhttp::status::bad_request, s.message());
  }
  Params p(Target(req), {});
  if (!p.status().ok()) return BadRequest(p);
  const auto missing = [&] { return JsonError(bhttp::status::not_found, "no rule named \"" + name.substr(0, 128) + "\""); };
  if (req.method() == bhttp::verb::get || req.method() == bhttp::verb::head) {
    auto lease = pool_.Acquire();
    auto rule = store::AlertStore(Ready(lease)).Rule(name);
    return rule ? Json(bhttp::status::ok, StoredRuleJson(*rule)) : missing();
  }
  alert::Rule rule;
  if (req.method() == bhttp::verb::put) {
    if (base::Status s = ReadRuleBody(req, &name, &rule); !s.ok()) return JsonError(bhttp::status::bad_request, s.message());
  }
  return Writing([&](store::Database& db) {
    store::AlertStore rules(db);
    store::Transaction tx(db);
    auto existing = rules.Rule(name);
    if (existing && existing->source != "api") {
      return JsonError(bhttp::status::forbidden, "rule \"" + name + "\" comes from the alert evaluator's rules file (" +
                                                     existing->source + "): change it there");
    }
    if (req.method() == bhttp::verb::delete_) {
      if (!rules.Delete(name)) return missing();
      tx.Commit();
      http::Response res{bhttp::status::no_content, 11};
      return res;
    }
    rules.Put(name, alert::RuleJson(rule).dump(), "api", options_.clock->WallMs());
    tx.Commit();
    return Json(existing ? bhttp::status::ok : bhttp::status::created, StoredRuleJson(*rules.Rule(name)));
  });
}

namespace {

json AlarmJson(const store::AlertStateRow& r) {
  const json memo = json::parse(r.memo, nullptr, false);
  json j = {{"rule", r.rule},
            {"host", r.host},
            {"state", r.state},
            {"since", r.since_ms},
            {"value", r.value ? json(*r.value) : json(nullptr)},
            {"severity", r.severity},
            {"labels", json::parse(r.labels, nullptr, false)},
            {"transitions", r.transitions},
            {"evaluated_at", r.evaluated_ms},
            {"flapping", memo.is_object() && memo.value("flapping", false)}};
  if (memo.is_object() && memo.contains("fired") && r.state == "alarm") j["fired_at"] = memo["fired"];
  return j;
}

const std::vector<std::string> kAlarmStates = {"active", "alarm", "pending", "insufficient_data", "ok", "all"};

}  // namespace

http::Response DashService::Alarms(const http::Request& req, const http::Peer&) {
  Params p(Target(req), {"state", "severity", "host", "rule", "label", "limit", "cursor"});
  store::AlarmQuery q;
  const std::string state = p.Choice("state", kAlarmStates).value_or("active");
  if (state == "active") {
    q.states = {"alarm", "pending", "insufficient_data"};
  } else if (state != "all") {
    q.states = {state};
  }
  q.severity = p.Choice("severity", {"critical", "warning", "info"});
  q.host = p.Text("host", 255);
  q.rule = p.Text("rule", 128);
  q.label = p.Label("label");
  q.limit = p.Int("limit", 1, 1000).value_or(100);
  if (auto c = p.Text("cursor", 512)) {
    const auto slash = c->find('/');
    if (slash == std::string::npos) {
      p.Fail("parameter 'cursor' is not a cursor this route gave");
    } else {
      q.after_rule = c->substr(0, slash);
      q.after_host = c->substr(slash + 1);
    }
  }
  if (!p.status().ok()) return BadRequest(p);
  auto lease = pool_.Acquire();
  store::AlertStore alerts(Ready(lease));
  const auto rows = alerts.Alarms(q);
  json out = json::array();
  for (const auto& r : rows) out.push_back(AlarmJson(r));
  // Pairs in alarm per severity, and per state: the badges (of the host, with host=).
  json alarms = {{"critical", 0}, {"warning", 0}, {"info", 0}}, states = json::object();
  for (const auto& [key, n] : alerts.Counts(q.host)) {
    if (key.first == "alarm") alarms[key.second] = alarms.value(key.second, 0) + n;
    states[key.first] = states.value(key.first, 0) + n;
  }
  const bool full = static_cast<int64_t>(rows.size()) == q.limit;
  return Json(bhttp::status::ok, {{"alarms", out},
                                  {"counts", {{"alarm", alarms}, {"states", states}}},
                                  {"next_cursor", full ? json(rows.back().rule + "/" + rows.back().host) : json(nullptr)}});
}

http::Response DashService::AlarmHistory(const http::Request& req, const http::Peer&) {
  Params p(Target(req), {"rule", "host", "since", "until", "limit", "cursor"});
  const int64_t now = options_.clock->WallMs();
  store::HistoryQuery q;
  q.rule = p.Text("rule", 128);
  q.host = p.Text("host", 255);
  q.since = p.Time("since", now);
  q.until = p.Time("until", now);
  q.limit = p.Int("limit", 1, 1000).value_or(100);
  q.before_seq = p.Int("cursor", 1, INT64_MAX);
  if (!p.status().ok()) return BadRequest(p);
  auto lease = pool_.Acquire();
  const auto rows = store::AlertStore(Ready(lease)).History(q);
  json out = json::array();
  for (const auto& h : rows) {
    out.push_back({{"seq", h.seq}, {"rule", h.rule}, {"host", h.host}, {"from", h.from}, {"to", h.to}, {"at", h.at_ms},
                   {"value", h.value ? json(*h.value) : json(nullptr)}, {"why", h.why}, {"transition", h.transition}});
  }
  const bool full = static_cast<int64_t>(rows.size()) == q.limit;
  return Json(bhttp::status::ok, {{"history", out}, {"next_cursor", full ? json(std::to_string(rows.back().seq)) : json(nullptr)}});
}

http::Response DashService::Silences(const http::Request& req, const http::Peer&) {
  Params p(Target(req), {"state", "limit", "cursor"});
  const bool all = p.Choice("state", {"active", "all"}).value_or("active") == "all";
  const int64_t limit = p.Int("limit", 1, 1000).value_or(100);
  const int64_t after = p.Int("cursor", 0, INT64_MAX).value_or(0);
  if (!p.status().ok()) return BadRequest(p);
  const int64_t now = options_.clock->WallMs();
  auto lease = pool_.Acquire();
  const auto rows = store::AlertStore(Ready(lease)).Silences(all ? std::nullopt : std::optional(now), after, limit);
  json out = json::array();
  for (const auto& r : rows) out.push_back(alert::SilenceJson(r, now));
  const bool full = static_cast<int64_t>(rows.size()) == limit;
  return Json(bhttp::status::ok, {{"silences", out}, {"next_cursor", full ? json(std::to_string(rows.back().id)) : json(nullptr)}});
}

http::Response DashService::AddSilence(const http::Request& req, const http::Peer&) {
  Params p(Target(req), {});
  if (!p.status().ok()) return BadRequest(p);
  const json body = json::parse(req.body(), nullptr, false);
  if (body.is_discarded()) return JsonError(bhttp::status::bad_request, "the body is not JSON (a silence object)");
  const int64_t now = options_.clock->WallMs();
  store::SilenceRow row;
  if (base::Status s = alert::ParseSilence(body, now, &row); !s.ok()) return JsonError(bhttp::status::bad_request, s.message());
  return Writing([&](store::Database& db) {
    row.id = store::AlertStore(db).AddSilence(row);
    return Json(bhttp::status::created, alert::SilenceJson(row, now));
  });
}

http::Response DashService::ExpireSilence(const http::Request& req, const http::Peer&) {
  std::string rest;
  if (base::Status s = http::PathRest(Target(req), "/api/v1/silences/", &rest); !s.ok()) {
    return JsonError(bhttp::status::bad_request, s.message());
  }
  int64_t id = 0;
  const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), id);
  if (ec != std::errc() || end != rest.data() + rest.size() || id <= 0) {
    return JsonError(bhttp::status::bad_request, "the path must end in a silence id (a number)");
  }
  const int64_t now = options_.clock->WallMs();
  return Writing([&](store::Database& db) {
    store::AlertStore alerts(db);
    if (!alerts.ExpireSilence(id, now)) return JsonError(bhttp::status::not_found, "no active silence " + std::to_string(id));
    for (const auto& r : alerts.Silences(std::nullopt, id - 1, 1)) return Json(bhttp::status::ok, alert::SilenceJson(r, now));
    return JsonError(bhttp::status::not_found, "no silence " + std::to_string(id));
  });
}

json DashService::Agents() {
  // The agents as their heartbeats last told (the hosts aggregator keeps the latest):
  // totals, and the ones most in trouble first. A silent agent is offline, and stale.
  constexpr size_t kListed = 50;
  try {
    auto lease = pool_.Acquire();
    store::HostQuery q;
    q.limit = 100000;
    const auto hosts = store::Reader(Ready(lease)).Hosts(q);
    json totals = {{"agents", 0}, {"online", 0}, {"offline", 0}, {"spool_bytes", 0}, {"queue_events", 0},
                   {"spooled", 0}, {"dropped", 0}, {"retried", 0}};
    std::vector<json> rows;
    for (const auto& h : hosts) {
      if (!h.status || !h.status->last_heartbeat) continue;  // no agent (a TOP-Argus sender, say)
      const json& hb = h.status->heartbeat.is_object() ? h.status->heartbeat : json::object();
      const json counters = hb.value("counters", json::object());
      auto num = [](const json& j, const char* k) { return j.contains(k) && j[k].is_number() ? j[k].get<int64_t>() : 0; };
      json row = {{"host", h.name}, {"state", h.status->state}, {"stale", h.status->state != "online"},
                  {"version", h.status->agent_version}, {"last_heartbeat", *h.status->last_heartbeat},
                  {"spool_bytes", num(hb, "spool_bytes")}, {"queue_events", num(hb, "queue_events")},
                  {"spooled", num(counters, "spooled")}, {"dropped", num(counters, "dropped")},
                  {"retried", num(counters, "retried")}};
      totals["agents"] = totals["agents"].get<int64_t>() + 1;
      const char* state = h.status->state == "online" ? "online" : "offline";
      totals[state] = totals[state].get<int64_t>() + 1;
      for (const char* k : {"spool_bytes", "queue_events", "spooled", "dropped", "retried"}) {
        totals[k] = totals[k].get<int64_t>() + row[k].get<int64_t>();
      }
      rows.push_back(std::move(row));
    }
    auto trouble = [](const json& r) {
      return std::make_tuple(r["stale"].get<bool>(), r["dropped"].get<int64_t>(), r["spool_bytes"].get<int64_t>());
    };
    std::sort(rows.begin(), rows.end(), [&](const json& a, const json& b) { return trouble(a) > trouble(b); });
    if (rows.size() > kListed) rows.resize(kListed);
    totals["list"] = rows;
    return totals;
  } catch (const store::StoreError& e) {
    return {{"error", std::string("store unavailable: ") + e.what()}};
  }
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
  // A store that cannot be opened, or a query past its deadline, is a 503 (Bounded).
  auto lease = pool_.Acquire();
  store::Reader(Ready(lease)).List(store::Registry::kTypes, "", 1);
  return Json(bhttp::status::ok, {{"status", "ok"}});
}

}  // namespace argus::dash
