// The proxy's request handling, apart from sockets: authenticate, decode, stamp, append
// to Redis, answer. The HTTP server calls Handle() from its threads.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

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
  ProxyService(ProxyOptions options, size_t redis_connections);
  ~ProxyService();

  http::Response Handle(const http::Request& req, const http::Peer& peer);
  const http::Metrics& metrics() const { return metrics_; }

 private:
  // POST /api/v1/events {"events":[...]} -> 200 {"accepted":n,"rejected":[{index,error}]}
  http::Response PostEvents(const http::Request& req, const http::Peer& peer);
  // GET /healthz -> 200 {"status":"ok"} when Redis answers PING, else 503
  http::Response Healthz(const http::Request& req, const http::Peer& peer);

  // The matching token, or nullptr. Every configured token is compared, in constant time.
  const Token* Authenticate(std::string_view presented) const;
  std::string AssignId();
  // Once a period: every type's backlog, for the 503 decision and /metrics.
  void PollBacklog(std::stop_token stop);
  int64_t Backlog(const std::string& type) const;

  ProxyOptions options_;
  http::Pool<queue::Redis> pool_;
  http::Metrics metrics_;  // before router_, which counts into it
  http::Router router_;
  std::string id_prefix_;          // random per process, so assigned ids never collide
  std::atomic<uint64_t> id_seq_{0};
  RateLimiter rate_limiter_;
  mutable std::mutex backlog_mu_;  // guards backlog_
  std::map<std::string, int64_t> backlog_;
  std::jthread backlog_thread_;    // last: stops first
};

}  // namespace argus::proxy
