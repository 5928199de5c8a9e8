// The proxy's settings: command-line flags over an optional JSON config file.
#pragma once

#include <string>
#include <vector>

#include "http/endpoint.h"
#include "proto/event.h"
#include "queue/redis.h"

namespace argus::proxy {

// An agent token. With `host` set, events sent with it are stamped with that host,
// so one host cannot pose as another.
struct Token {
  std::string token;
  std::string host;
};

struct ProxyOptions {
  http::Endpoint listen{"127.0.0.1", 9090};
  http::Endpoint redis{"127.0.0.1", 6379};
  std::vector<Token> tokens;
  std::string admin_token;
  int threads = 0;  // 0: two per core (see argus-proxy --help)
  int shards = 4;
  proto::Limits limits;
};

// Reads a config file into `opts` (fields present override the defaults). Unknown
// keys are errors that name the key. Throws std::runtime_error.
void LoadConfigFile(const std::string& path, ProxyOptions* opts);

}  // namespace argus::proxy
