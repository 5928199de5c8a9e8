// The dash's HTTP API over the store: read-only queries rendered as JSON. The server
// calls Handle() from its threads; each request leases its own read-only SQLite
// connection, and no query runs longer than the query timeout. All SQL is in store/.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "base/clock.h"
#include "http/answer_cache.h"
#include "http/static_files.h"
#include "http/metrics.h"
#include "http/pool.h"
#include "http/router.h"
#include "queue/redis.h"
#include "store/database.h"
#include "store/reader.h"

namespace argus::dash {

struct DashOptions {
  std::string db_path;
  size_t connections = 4;
  std::optional<queue::RedisOptions> redis;  // for /api/v1/pipeline and dead letters
  int shards = 4;                            // streams per type, as the proxy writes them
  // Set: every /api/ call needs `Authorization: Bearer <read_token>` (or the admin token).
  std::string read_token;
  // Set: calls that write (rules) need `Authorization: Bearer <admin_token>`; unset, the
  // dash takes no writes.
  std::string admin_token;
  // A query still running after this is stopped and answered 503.
  std::chrono::milliseconds query_timeout{5000};
  // The built web UI (web/dist: index.html and assets/), served at / and /assets/.
  // Empty or missing: / says how to build it; the API works without it.
  std::string web_root;
  // Live tails (events/stream) open at once; more are answered 503.
  int max_streams = 64;
  // Answers kept for repeated queries (0 bytes: none), and for how long.
  size_t cache_bytes = 32 << 20;
  std::chrono::milliseconds cache_ttl{2000};
  // What `now` and relative times (`-15m`) mean; the cache's time too.
  const base::Clock* clock = &base::SystemClock();
};

class DashService {
 public:
  explicit DashService(DashOptions options);
  http::Response Handle(const http::Request& req, const http::Peer& peer);
  http::Metrics& metrics() { return metrics_; }
  void set_access_log(bool on) { router_.set_access_log(on); }

 private:
  // A store connection, opened read-only on first use (the consumers create the file).
  struct Connection {
    std::unique_ptr<store::Database> db;
  };
  using Lease = http::Pool<Connection>::Lease;
  // The leased connection, opened if need be, with its query deadline started. Throws
  // StoreError (SQLITE_CANTOPEN) when the file cannot be opened yet.
  store::Database& Ready(Lease& lease) const;
  // Runs a route; a query stopped at its deadline, or a store that cannot be opened,
  // becomes 503 (and is counted).
  http::Response Bounded(const std::function<http::Response()>& route);
  // Answers from the cache, or runs `route` and keeps a 200; either way with an ETag,
  // 304 when the client has it, gzip when it takes it.
  http::Response Cached(const http::Request& req, const std::function<http::Response()>& route);

  // The routes; docs/api.md has their parameters and answers.
  http::Response Types(const http::Request& req, const http::Peer& peer);
  http::Response Hosts(const http::Request& req, const http::Peer& peer);
  http::Response Host(const http::Request& req, const http::Peer& peer);
  http::Response Events(const http::Request& req, const http::Peer& peer);
  http::Response EventStream(const http::Request& req, const http::Peer& peer);
  http::Response Rates(const http::Request& req, const http::Peer& peer);
  http::Response Fields(const http::Request& req, const http::Peer& peer);
  http::Response Series(const http::Request& req, const http::Peer& peer);
  http::Response Top(const http::Request& req, const http::Peer& peer);
  http::Response System(const http::Request& req, const http::Peer& peer);
  http::Response Packet(const http::Request& req, const http::Peer& peer);
  http::Response PacketMessages(const http::Request& req, const http::Peer& peer);
  http::Response Pipeline(const http::Request& req, const http::Peer& peer);
  // GET /api/v1/rules, GET|PUT|DELETE /api/v1/rules/{name}, POST /api/v1/rules.
  http::Response Rules(const http::Request& req, const http::Peer& peer);
  http::Response Rule(const http::Request& req, const http::Peer& peer);
  http::Response AddRule(const http::Request& req, const http::Peer& peer);
  http::Response Alarms(const http::Request& req, const http::Peer& peer);
  http::Response AlarmHistory(const http::Request& req, const http::Peer& peer);
  http::Response Silences(const http::Request& req, const http::Peer& peer);
  http::Response AddSilence(const http::Request& req, const http::Peer& peer);
  http::Response ExpireSilence(const http::Request& req, const http::Peer& peer);
  // Runs `fn` on the one read-write connection (opened on first use), serialised.
  http::Response Writing(const std::function<http::Response(store::Database&)>& fn);
  // The agents part of the pipeline, from the store's host status.
  nlohmann::json Agents();
  http::Response DeadLetters(const http::Request& req, const http::Peer& peer);
  // GET / (the UI's page) and /assets/* (its scripts and styles).
  http::Response WebPage(const http::Request& req, const http::Peer& peer);
  http::Response WebAsset(const http::Request& req, const http::Peer& peer);
  // 200 when the store answers a query.
  http::Response Healthz(const http::Request& req, const http::Peer& peer);

  // A live tail: the events stored since the last poll, as Server-Sent Events.
  class Tail;

  DashOptions options_;
  std::atomic<int> streams_{0};  // live tails open
  std::mutex write_mu_;          // guards writer_
  std::unique_ptr<store::Database> writer_;
  http::Pool<Connection> pool_;
  std::unique_ptr<http::Pool<queue::Redis>> redis_;  // null without --redis
  http::AnswerCache cache_;
  http::StaticFiles web_;
  http::Metrics metrics_;  // before router_, which counts into it
  http::Router router_;
};

}  // namespace argus::dash
