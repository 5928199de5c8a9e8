// argus-dash: answers queries over the SQLite store.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "dash/service.h"
#include "http/server.h"
#include "http/server_flags.h"
#include "queue/redis_address.h"

int main(int argc, char** argv) {
  using namespace argus;
  CLI::App app{"argus-dash: the query API over the Argus store (docs/api.md). It opens the SQLite file\n"
               "read-only and answers 503 until the consumers have created it."};
  std::string listen = "127.0.0.1:8080";
  dash::DashOptions opts;
  int threads = 2;
  app.add_option("--listen", listen, "HOST:PORT to serve HTTP on")->capture_default_str();
  app.add_option("--db", opts.db_path, "SQLite database file the consumers write (opened read-only)")->required();
  app.add_option("--threads", threads, "server threads")->capture_default_str();
  queue::RedisFlags redis;
  redis.address.clear();  // optional here: without it the pipeline routes answer 503
  redis.Add(app, "for /api/v1/pipeline and /api/v1/dead_letters");
  app.add_option("--shards", opts.shards, "streams per type; must match the proxy")->capture_default_str();
  app.add_option("--read-token", opts.read_token,
                 "require 'Authorization: Bearer T' on every /api/ call (/healthz and /metrics stay open)");
  app.add_option("--admin-token", opts.admin_token,
                 "require 'Authorization: Bearer T' on calls that write (POST/PUT/DELETE /api/v1/rules); without it the "
                 "dash takes no writes");
  int64_t query_timeout_ms = opts.query_timeout.count();
  app.add_option("--query-timeout-ms", query_timeout_ms, "a query running longer is stopped and answered 503")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{10}, int64_t{600000}));
  opts.web_root = ARGUS_WEB_ROOT;
  app.add_option("--web-root", opts.web_root, "the built web UI (web/dist), served at /")->capture_default_str();
  app.add_option("--max-streams", opts.max_streams, "live tails (events/stream) open at once; more get 503")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  size_t cache_mb = opts.cache_bytes >> 20;
  app.add_option("--cache-mb", cache_mb, "memory for answers kept for repeated queries (0: no cache)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{0}, size_t{65536}));
  int64_t cache_ttl_ms = opts.cache_ttl.count();
  app.add_option("--cache-ttl-ms", cache_ttl_ms,
                 "how long a kept answer is served again before the query runs anew (0: no cache)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{600000}));
  http::ServerFlags flags;
  flags.Add(app);
  CLI11_PARSE(app, argc, argv);
  flags.StartLogging("argus-dash");
  try {
    http::Endpoint ep;
    if (base::Status s = http::ParseEndpoint(listen, &ep); !s.ok()) throw std::runtime_error("--listen: " + s.message());
    opts.connections = static_cast<size_t>(std::max(threads, 1));
    opts.query_timeout = std::chrono::milliseconds(query_timeout_ms);
    opts.cache_bytes = cache_mb << 20;
    opts.cache_ttl = std::chrono::milliseconds(cache_ttl_ms);
    if (!redis.address.empty()) {
      queue::RedisOptions r;
      if (base::Status s = redis.Apply(&r); !s.ok()) throw std::runtime_error(s.message());
      opts.redis = r;
    }
    dash::DashService service(opts);
    http::ServerOptions sopts;
    sopts.listen = ep;
    // Queries run on handler threads of their own (one per store connection); the I/O
    // threads only accept, read and write.
    sopts.threads = threads;
    sopts.handler_threads = static_cast<int>(opts.connections);
    sopts.name = "argus-dash";
    sopts.body_limit = 64 * 1024;
    flags.Serve(sopts, service, "argus_dash", [&](uint16_t port) {
      spdlog::info("argus-dash listening on {}://{}:{} over {}", flags.scheme(), ep.host, port, opts.db_path);
    });
  } catch (const std::exception& e) {
    spdlog::error("argus-dash: {}", e.what());
    return 1;
  }
  return 0;
}
