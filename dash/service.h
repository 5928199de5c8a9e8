// The dash's HTTP API over the store: read-only queries rendered as JSON. The server
// calls Handle() from its threads; each request leases its own SQLite connection, and
// no query runs longer than the query timeout.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

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
  // Set: every /api/ call needs `Authorization: Bearer <read_token>`.
  std::string read_token;
  // A query still running after this is stopped and answered 503.
  std::chrono::milliseconds query_timeout{5000};
};

class DashService {
 public:
  explicit DashService(DashOptions options);
  http::Response Handle(const http::Request& req, const http::Peer& peer);
  http::Metrics& metrics() { return metrics_; }
  void set_access_log(bool on) { router_.set_access_log(on); }

 private:
  // GET /api/v1/types -> {"types":[{type, first_seen, last_seen, events}]}
  // GET /api/v1/hosts -> {"hosts":[{host, first_seen, last_seen, events, and with an
  //   agent: state, state_since, agent_version, timeout_ms, last_heartbeat}]}
  http::Response Registry(const http::Request& req, store::Registry which);
  // GET /api/v1/events?type=&host=&since=&until=&limit=&cursor=
  //   -> {"events":[...newest first], "next_cursor": "..." | null}
  http::Response Events(const http::Request& req, const http::Peer& peer);
  // GET /api/v1/pipeline -> {"types":[{type, length, unread, pending, backlog,
  //   dead_letters}], "consumers":[{name, type, updated_ms, read, stored, ...}]}
  http::Response Pipeline(const http::Request& req, const http::Peer& peer);
  // GET /api/v1/dead_letters?type=&limit= -> {"dead_letters":[{dead_id, stream, id,
  //   error, consumer, event}]}, newest first
  http::Response DeadLetters(const http::Request& req, const http::Peer& peer);
  // GET /healthz -> 200 when the store answers a query
  http::Response Healthz(const http::Request& req, const http::Peer& peer);
  // Sets the deadline of the request's queries on a leased store connection.
  void StartQuery(store::Database& db) const;
  // Runs a route; a query stopped at its deadline becomes 503 (and is counted).
  http::Response Bounded(const std::function<http::Response()>& route);

  DashOptions options_;
  http::Pool<store::Database> pool_;
  std::unique_ptr<http::Pool<queue::Redis>> redis_;  // null without --redis
  http::Metrics metrics_;  // before router_, which counts into it
  http::Router router_;
};

}  // namespace argus::dash
