#include "proxy/service.h"

#include <unistd.h>

#include <chrono>
#include <random>
#include <set>

#include <spdlog/spdlog.h>

#include "base/logging.h"
#include "http/encoding.h"
#include "proto/hash.h"
#include "queue/inspect.h"
#include "queue/streams.h"

namespace argus::proxy {

namespace bhttp = boost::beast::http;
using http::Json;
using http::JsonError;

ProxyService::ProxyService(ProxyOptions options, size_t redis_connections, const base::Clock& clock)
    : options_(std::move(options)),
      clock_(clock),
      admin_(options_.admin_token),
      pool_(redis_connections, [this] { return std::make_unique<queue::Redis>(options_.redis); }) {
  admin_.admin = true;
  name_ = options_.name;
  if (name_.empty()) {
    // Port 0 (a test's) is not unique on the host: the process id is.
    name_ = base::HostName() + ":" +
            (options_.listen.port != 0 ? std::to_string(options_.listen.port) : "pid" + std::to_string(::getpid()));
  }
  std::random_device rd;
  id_prefix_ = "p" + proto::Hex64((static_cast<uint64_t>(rd()) << 32) ^ rd() ^
                                  static_cast<uint64_t>(base::SystemClock().WallMs()));
  using K = http::Metrics::Kind;
  metrics_.Describe("argus_proxy_events_accepted_total", K::kCounter, "Events appended to Redis.");
  metrics_.Describe("argus_proxy_events_rejected_total", K::kCounter, "Events refused, by reason.");
  metrics_.Describe("argus_proxy_future_ts_clamped_total", K::kCounter,
                    "Events whose ts was further in the future than limits.max_future_skew_ms: set to the receive time.");
  metrics_.Describe("argus_proxy_redis_errors_total", K::kCounter, "Failed Redis appends.");
  metrics_.Describe("argus_proxy_poll_errors_total", K::kCounter,
                    "Failed Redis reads or trims of the once-a-second backlog poll (last backlogs kept).");
  metrics_.Describe("argus_proxy_backlog_events", K::kGauge,
                    "Events of a type in Redis not yet stored by a consumer (unread + unacknowledged).");
  metrics_.Describe("argus_proxy_throttled_total", K::kCounter,
                    "Batches refused for flow control, by reason (rate, backlog).");
  metrics_.DescribeHistogram("argus_proxy_batch_events", "Events per accepted batch.",
                             {1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000});
  metrics_.DescribeHistogram("argus_proxy_redis_append_seconds", "Time for Redis to acknowledge a batch's appends.",
                             {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5});

  router_.CountRequests(&metrics_, "argus_proxy_requests_total");
  router_.Add(bhttp::verb::post, "/api/v1/events", http::Member(this, &ProxyService::PostEvents));
  router_.Add(bhttp::verb::get, "/healthz", http::Member(this, &ProxyService::Healthz));
  router_.Add(bhttp::verb::get, "/api/v1/config", http::Member(this, &ProxyService::GetConfig));
  router_.Add(bhttp::verb::put, "/api/v1/config", http::Member(this, &ProxyService::PutConfig));
  // TOP-Argus agents call these with and without a trailing slash.
  for (const char* path : {"/api/alarm", "/api/alarm/"}) {
    router_.Add(bhttp::verb::post, path, http::Member(this, &ProxyService::PostAlarm));
  }
  for (const char* path : {"/api/config", "/api/config/"}) {
    router_.Add(bhttp::verb::get, path, http::Member(this, &ProxyService::GetConfigCompat));
  }
  router_.Add(bhttp::verb::get, "/metrics",
              [this](const http::Request&, const http::Peer&) { return http::MetricsResponse(metrics_); });
  // Last: the poller uses everything above.
  backlog_thread_ = std::jthread([this](std::stop_token stop) { PollBacklog(stop); });
}

http::Response ProxyService::Handle(const http::Request& req, const http::Peer& peer) {
  return router_.Dispatch(req, peer);
}

ProxyService::~ProxyService() = default;

void ProxyService::PollBacklog(std::stop_token stop) {
  queue::Redis redis(options_.redis);
  bool poll_failing = false;  // said once when it starts failing, once when it recovers
  while (!stop.stop_requested()) {
    auto types = redis.Run({"SMEMBERS", std::string(queue::kTypesKey)});
    if (!types.ok()) {
      metrics_.Add("argus_proxy_poll_errors_total");
      if (!std::exchange(poll_failing, true)) {
        spdlog::warn("backlog poll: {}; flow control keeps the last backlogs it read", types.error);
      }
    } else {
      if (std::exchange(poll_failing, false)) spdlog::info("backlog poll: Redis answers again");
      std::map<std::string, int64_t> fresh;
      std::string failed;  // the first error of this round, logged once
      for (const auto& type : types.strings()) {
        int64_t n = 0;
        if (base::Status s = queue::TypeBacklog(redis, type, options_.shards, &n); !s.ok()) {
          // The type keeps its last backlog: an error must not read as "nothing waiting"
          // and turn flow control off for it.
          metrics_.Add("argus_proxy_poll_errors_total");
          if (failed.empty()) failed = s.message();
          fresh[type] = Backlog(type);
          continue;
        }
        fresh[type] = n;
        metrics_.Set("argus_proxy_backlog_events", {{"type", type}}, static_cast<double>(n));
      }
      {
        std::lock_guard lock(backlog_mu_);
        backlog_ = std::move(fresh);
      }
      if (!failed.empty()) spdlog::warn("backlog poll: {} (and maybe more this round); last backlogs kept", failed);
      auto names = types.strings();
      std::lock_guard lock(limits_mu_);
      known_types_ = std::set<std::string>(names.begin(), names.end());
    }
    Publish(redis);
    // Sleep in slices so destruction does not wait a whole period, and a test's clock
    // is seen moving.
    base::SleepFor(clock_, options_.backlog_poll, [&stop] { return stop.stop_requested(); },
                   std::chrono::milliseconds(20));
  }
}

void ProxyService::Publish(queue::Redis& redis) {
  const auto now = clock_.Steady();
  if (now < next_publish_) return;
  next_publish_ = now + options_.publish_every;
  auto count = [](const std::map<std::string, double>& by) {
    double n = 0;
    for (const auto& [k, v] : by) n += v;
    return n;
  };
  auto text = [](double v) { return std::to_string(static_cast<int64_t>(v)); };
  const auto rejected = metrics_.ByLabel("argus_proxy_events_rejected_total", "reason");
  const auto throttled = metrics_.ByLabel("argus_proxy_throttled_total", "reason");
  const double redis_errors = count(metrics_.ByLabel("argus_proxy_redis_errors_total", ""));
  std::vector<std::pair<std::string, std::string>> fields = {
      {"listen", options_.listen.ToString()},
      {"accepted", text(count(metrics_.ByLabel("argus_proxy_events_accepted_total", "")))},
      {"rejected", text(count(rejected))},
      {"answered_429", text(throttled.count("rate") ? throttled.at("rate") : 0)},
      {"answered_503", text((throttled.count("backlog") ? throttled.at("backlog") : 0) + redis_errors)},
      {"redis_errors", text(redis_errors)}};
  for (const auto& [reason, n] : rejected) fields.emplace_back("rejected_" + reason, text(n));
  const auto ttl_s = std::chrono::duration_cast<std::chrono::seconds>(options_.publish_every * 6).count();
  if (base::Status s = queue::PublishStats(redis, "proxy", name_, clock_.WallMs(), fields, ttl_s); !s.ok()) {
    spdlog::debug("publishing counters: {}", s.message());  // the backlog poll says when Redis is away
  }
}

int64_t ProxyService::Backlog(const std::string& type) const {
  std::lock_guard lock(backlog_mu_);
  auto it = backlog_.find(type);
  return it == backlog_.end() ? 0 : it->second;
}

const Token* ProxyService::Authenticate(std::string_view presented) const {
  const Token* found = nullptr;
  for (const auto& t : options_.tokens) {
    // No early exit: the time taken does not tell which token matched.
    if (http::SecretEquals(presented, t.token) && !found) found = &t;
  }
  if (!admin_.token.empty() && http::SecretEquals(presented, admin_.token) && !found) found = &admin_;
  return found;
}

void ProxyService::Refuse(proto::BatchResult& batch, const char* reason,
                          const std::function<base::Status(const proto::Event&)>& check) {
  size_t kept = 0;
  bool refused = false;
  for (size_t i = 0; i < batch.events.size(); ++i) {
    base::Status problem = check(batch.events[i]);
    if (problem.ok()) {
      if (kept != i) {
        batch.events[kept] = std::move(batch.events[i]);
        batch.event_index[kept] = batch.event_index[i];
      }
      ++kept;
      continue;
    }
    metrics_.Add("argus_proxy_events_rejected_total", {{"reason", reason}});
    batch.rejected.push_back({batch.event_index[i], problem.message()});
    refused = true;
  }
  batch.events.resize(kept);
  batch.event_index.resize(kept);
  if (refused) {
    std::sort(batch.rejected.begin(), batch.rejected.end(),
              [](const proto::Rejection& a, const proto::Rejection& b) { return a.index < b.index; });
  }
}

base::Status ProxyService::Admit(proto::BatchResult& batch, bool agent_path, const Token& token,
                                 const http::Peer& peer) {
  for (size_t i = 0; i < batch.rejected.size(); ++i) {
    metrics_.Add("argus_proxy_events_rejected_total", {{"reason", "invalid_event"}});
  }
  Refuse(batch, "reserved_type", [&](const proto::Event& e) {
    if (MaySend(e.type, agent_path, token)) return base::Status::Ok();
    return base::Status::Invalid("type '" + e.type + "' is reserved for Argus itself" +
                                 (agent_path ? "" : " (send it to /api/v1/events)"));
  });
  const bool had_events = !batch.events.empty();
  base::Status last;
  std::lock_guard lock(limits_mu_);  // once per batch, not per event
  Refuse(batch, "limit", [&](const proto::Event& e) {
    base::Status within = WithinLimits(token, e, peer);
    if (!within.ok()) last = within;
    return within;
  });
  if (had_events && batch.events.empty()) return last;
  return {};
}

base::Status ProxyService::WithinLimits(const Token& token, const proto::Event& e, const http::Peer& peer) {
  const std::string& host = !token.host.empty() ? token.host : !e.host.empty() ? e.host : peer.addr;
  if (!known_types_.count(e.type)) {
    auto& mine = token_types_[&token];
    if (!mine.count(e.type)) {
      if (known_types_.size() >= options_.max_types) {
        return base::Status::TooLarge("type '" + e.type + "' would be new, and the proxy already has " +
                                      std::to_string(known_types_.size()) + " types (limits.max_types)");
      }
      if (mine.size() >= options_.max_types_per_token) {
        return base::Status::TooLarge("type '" + e.type + "' would be new, and this token already introduced " +
                                      std::to_string(mine.size()) + " types (limits.max_types_per_token)");
      }
      mine.insert(e.type);
    }
    known_types_.insert(e.type);  // until the next poll reads argus:types again
  }
  auto& hosts = token_hosts_[&token];
  if (!hosts.count(host)) {
    if (hosts.size() >= options_.max_hosts_per_token) {
      return base::Status::TooLarge("host '" + host.substr(0, 64) + "' would be new, and this token already sent " +
                                    std::to_string(hosts.size()) + " hosts (limits.max_hosts_per_token)");
    }
    hosts.insert(host);
  }
  return {};
}

std::string ProxyService::AssignId() {
  return id_prefix_ + "-" + std::to_string(id_seq_.fetch_add(1));
}

http::Response ProxyService::PostEvents(const http::Request& req, const http::Peer& peer) {
  std::string_view presented = http::BearerToken(req);
  if (presented.empty()) {
    return JsonError(bhttp::status::unauthorized, "missing 'Authorization: Bearer <token>' header");
  }
  const Token* token = Authenticate(presented);
  if (!token) return JsonError(bhttp::status::unauthorized, "invalid token");

  auto body = http::DecodeBody(req, options_.limits.max_batch_bytes);
  if (body.status != 200) {
    metrics_.Add("argus_proxy_events_rejected_total", {{"reason", "bad_request"}});
    return JsonError(static_cast<bhttp::status>(body.status), body.error);
  }
  auto batch = proto::DecodeBatch(body.View(req), options_.limits);
  if (!batch.error.empty()) {
    metrics_.Add("argus_proxy_events_rejected_total", {{"reason", "bad_request"}});
    return JsonError(static_cast<bhttp::status>(batch.status), batch.error);
  }
  if (base::Status s = Admit(batch, /*agent_path=*/true, *token, peer); !s.ok()) {
    return JsonError(bhttp::status::bad_request, "nothing accepted: " + s.message());
  }
  Outcome outcome = Ingest(*token, batch.events, peer);
  if (outcome.status != 200) {
    auto res = JsonError(static_cast<bhttp::status>(outcome.status), outcome.error);
    res.set(bhttp::field::retry_after, std::to_string(outcome.retry_after_s));
    return res;
  }
  nlohmann::json rejected = nlohmann::json::array();
  for (const auto& r : batch.rejected) {
    rejected.push_back({{"index", r.index}, {"error", r.error}});
  }
  return Json(bhttp::status::ok, {{"accepted", batch.events.size()}, {"rejected", rejected}});
}

ProxyService::Outcome ProxyService::Ingest(const Token& token, std::vector<proto::Event>& events,
                                           const http::Peer& peer) {
  // Flow control: the whole batch waits, so the agent keeps it and nothing is lost.
  if (options_.backlog_limit > 0) {
    std::set<std::string_view> checked;  // batches usually carry one type: look it up once
    for (const auto& e : events) {
      if (!checked.insert(e.type).second) continue;
      int64_t backlog = Backlog(e.type);
      if (backlog > options_.backlog_limit) {
        metrics_.Add("argus_proxy_throttled_total", {{"reason", "backlog"}});
        return {503,
                "type '" + e.type + "' has " + std::to_string(backlog) + " events waiting for a consumer (limit " +
                    std::to_string(options_.backlog_limit) + "); retry later",
                5};
      }
    }
  }
  const RateLimit& rate = token.rate ? *token.rate : options_.rate;
  if (int64_t wait = rate_limiter_.Admit(token.admin ? "admin" : std::to_string(&token - options_.tokens.data()), rate,
                                         static_cast<double>(events.size()), clock_.Steady());
      wait > 0) {
    metrics_.Add("argus_proxy_throttled_total", {{"reason", "rate"}});
    return {429,
            "this token is over its rate of " + std::to_string(static_cast<int64_t>(rate.events_per_s)) +
                " events/s; retry in " + std::to_string(wait) + " s",
            static_cast<int>(wait)};
  }

  const int64_t now = clock_.WallMs();
  for (auto& e : events) {
    e.recv_ts = now;
    e.addr = peer.addr;
    if (!token.host.empty()) e.host = token.host;
    if (e.host.empty()) e.host = peer.addr;
    if (e.id.empty()) {
      // A client that sets ts gets an id derived from what the event is, so its
      // retries collapse; without ts nothing tells a retry from a new event.
      e.id = e.ts ? "h" + proto::Hex64(proto::HashParts({e.type, e.host, std::to_string(*e.ts), e.content}))
                  : AssignId();
    }
    if (!e.ts) e.ts = now;
    if (*e.ts - now > options_.max_future_skew.count()) {
      metrics_.Add("argus_proxy_future_ts_clamped_total");
      e.ts = now;
    }
  }

  if (!events.empty()) {
    auto redis = pool_.Acquire();
    auto started = std::chrono::steady_clock::now();
    base::Status s = queue::AppendEvents(*redis, events, options_.shards);
    metrics_.Observe("argus_proxy_redis_append_seconds", {},
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    if (!s.ok()) {
      metrics_.Add("argus_proxy_redis_errors_total");
      spdlog::warn("append of {} events failed: {}", events.size(), s.message());
      return {503, "the event queue (redis) is unavailable; retry later", 1};
    }
  }
  metrics_.Add("argus_proxy_events_accepted_total", {}, static_cast<double>(events.size()));
  metrics_.Observe("argus_proxy_batch_events", {}, static_cast<double>(events.size()));
  return {};
}

http::Response ProxyService::Healthz(const http::Request&, const http::Peer&) {
  auto redis = pool_.Acquire();
  auto reply = redis->Run({"PING"});
  if (!reply.ok()) return http::Unavailable("redis does not answer: " + reply.error);
  return Json(bhttp::status::ok, {{"status", "ok"}});
}

}  // namespace argus::proxy
