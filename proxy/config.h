// The proxy's settings: command-line flags over an optional JSON config file.
#pragma once

#include <string>
#include <vector>

#include <chrono>
#include <optional>

#include "http/endpoint.h"
#include "proxy/rate_limiter.h"
#include "proto/agent_config.h"
#include "proto/event.h"
#include "queue/redis.h"

namespace argus::proxy {

// An agent token. With `host` set, events sent with it are stamped with that host,
// so one host cannot pose as another.
struct Token {
  Token(std::string token_, std::string host_ = {}, std::optional<RateLimit> rate_ = {})
      : token(std::move(token_)), host(std::move(host_)), rate(rate_) {}
  std::string token;
  std::string host;
  std::optional<RateLimit> rate;  // overrides ProxyOptions::rate for this token
  bool admin = false;             // the admin token: may also send Argus' reserved types
};

// Whether an event of `type` may come from this sender. Types under "argus." are Argus'
// own: an agent sends its heartbeat (argus.agent) and script errors (argus.cron_error)
// on its own path, POST /api/v1/events (`agent_path`); the rest (argus.host is made by
// the consumer) and any of them on the TOP-Argus path only with the admin token.
bool MaySend(std::string_view type, bool agent_path, const Token& token);

struct ProxyOptions {
  http::Endpoint listen{"127.0.0.1", 9090};
  queue::RedisOptions redis;  // 127.0.0.1:6379, no password
  std::vector<Token> tokens;
  std::string admin_token;
  int threads = 0;  // handler threads; 0: two per core (see argus-proxy --help)
  int shards = 4;
  proto::Limits limits;
  RateLimit rate;                       // per token, in events; 0 = unlimited
  int64_t backlog_limit = 1000000;      // per type, events not yet stored; 0 = none
  std::chrono::milliseconds backlog_poll{1000};
  // The proxy's counters go to Redis (argus:proxy:<name>) this often, for the dash's
  // pipeline view; empty name: <hostname>:<listen port>.
  std::string name;
  std::chrono::milliseconds publish_every{5000};
  // What one client can create (config "limits"): distinct types in all, distinct types
  // and hosts one token may introduce (counted by this proxy since it started). A
  // client over them is refused by name, and the per-second poll and the consumers'
  // work stay bounded however many types it invents.
  size_t max_types = 1000;
  size_t max_types_per_token = 200;
  size_t max_hosts_per_token = 10000;
  // An event time further ahead of the proxy's clock than this is set to the receive
  // time (and counted): a row dated in the future would outlive its retention.
  std::chrono::milliseconds max_future_skew{5 * 60 * 1000};
  // What PUT /api/v1/config lets a remote config name (config key allow_remote_files).
  proto::RemotePolicy remote_policy;
};

// Reads a config file into `opts` (fields present override the defaults). Unknown
// keys are errors that name the key.
base::Status LoadConfigFile(const std::string& path, ProxyOptions* opts);

}  // namespace argus::proxy
