// The proxy's request handling, apart from sockets: authenticate, decode, stamp, append
// to Redis, answer. The HTTP server calls Handle() from its threads.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <functional>
#include <string>
#include <thread>

#include "base/clock.h"
#include "http/metrics.h"
#include "http/router.h"
#include "proxy/config.h"
#include "proxy/rate_limiter.h"
#include "http/pool.h"
#include "queue/redis.h"

namespace argus::proxy {

class ProxyService {
 public:
  // `redis_connections`: pool size; normally the server's thread count.
  // Rate limits, backlog polls and receive times follow `clock`.
  ProxyService(ProxyOptions options, size_t redis_connections, const base::Clock& clock = base::SystemClock());
  ~ProxyService();

  http::Response Handle(const http::Request& req, const http::Peer& peer);
  http::Metrics& metrics() { return metrics_; }
  void set_access_log(bool on) { router_.set_access_log(on); }

 private:
  // POST /api/v1/events {"events":[...]} -> 200 {"accepted":n,"rejected":[{index,error}]}
  http::Response PostEvents(const http::Request& req, const http::Peer& peer);
  // POST /api/alarm {"token":T,"data":[{"alarm_type":…,"alarm_content":{…}}]}
  //   -> 200 {"status":0,"error":"OK"}; status -1 (token, some items bad), -2 (no data)
  http::Response PostAlarm(const http::Request& req, const http::Peer& peer);
  // GET /api/v1/config -> {"version":N,"config":{…}} with ETag; 304 on If-None-Match
  http::Response GetConfig(const http::Request& req, const http::Peer& peer);
  // PUT /api/v1/config[?dry_run=1] {config} (admin) -> {"version":N,"changes":[…]}
  http::Response PutConfig(const http::Request& req, const http::Peer& peer);
  // GET /api/config -> {"status":0,"error":"OK","config":{topargus section},"ip":peer}
  http::Response GetConfigCompat(const http::Request& req, const http::Peer& peer);

  // What ingesting validated events came to: 200, or why not (429, 503).
  struct Outcome {
    int status = 200;
    std::string error;
    int retry_after_s = 0;
  };
  // Flow control, stamping (recv_ts, addr, host, id, ts) and the append to Redis.
  Outcome Ingest(const Token& token, std::vector<proto::Event>& events, const http::Peer& peer);
  // GET /healthz -> 200 {"status":"ok"} when Redis answers PING, else 503
  http::Response Healthz(const http::Request& req, const http::Peer& peer);

  // The matching token (an agent token or the admin token), or nullptr. Every
  // configured token is compared, in constant time.
  const Token* Authenticate(std::string_view presented) const;
  // Moves the events that `check` fails to the rejected ones (with its message),
  // counted under `reason`.
  void Refuse(proto::BatchResult& batch, const char* reason, const std::function<base::Status(const proto::Event&)>& check);
  // What every ingest path does after decoding: counts the invalid events, then
  // refuses reserved types (MaySend) and events over the limits on types and hosts.
  // Fails (the 400 answer) when nothing of a non-empty batch is left and a limit was
  // the reason.
  base::Status Admit(proto::BatchResult& batch, bool agent_path, const Token& token, const http::Peer& peer);
  // Ok when `e` stays within the type and host limits (and counts it), else TooLarge
  // naming the limit. Called with limits_mu_ held.
  base::Status WithinLimits(const Token& token, const proto::Event& e, const http::Peer& peer);
  std::string AssignId();
  // Once a period: every type's backlog, for the 503 decision and /metrics; and trims
  // acknowledged entries.
  void PollBacklog(std::stop_token stop);
  int64_t Backlog(const std::string& type) const;
  // Every publish_every: the counters to argus:proxy:<name> (from the poll thread).
  void Publish(queue::Redis& redis);

  ProxyOptions options_;
  const base::Clock& clock_;
  Token admin_;  // options_.admin_token as a sender; never matches when that is empty
  http::Pool<queue::Redis> pool_;
  http::Metrics metrics_;  // before router_, which counts into it
  http::Router router_;
  std::string id_prefix_;          // random per process, so assigned ids never collide
  std::atomic<uint64_t> id_seq_{0};
  RateLimiter rate_limiter_;
  mutable std::mutex backlog_mu_;  // guards backlog_
  std::map<std::string, int64_t> backlog_;
  std::mutex limits_mu_;  // guards the three below
  std::set<std::string> known_types_;                              // argus:types, as of the last poll
  std::map<const Token*, std::set<std::string>> token_types_, token_hosts_;  // what each token introduced
  std::string name_;  // where the counters are published: argus:proxy:<name_>
  base::Clock::SteadyTime next_publish_{};  // the poll thread's
  std::jthread backlog_thread_;    // last: stops first
};

}  // namespace argus::proxy
