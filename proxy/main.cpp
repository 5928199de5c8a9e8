// argus-proxy: accepts events from agents over HTTP and appends them to Redis streams.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "http/server.h"
#include "http/server_flags.h"
#include "proxy/config.h"
#include "proxy/service.h"
#include "queue/redis_address.h"

int main(int argc, char** argv) {
  using namespace argus;
  CLI::App app{"argus-proxy: validates agents' events and appends them to Redis streams"};
  std::string listen = "127.0.0.1:9090", config;
  queue::RedisFlags redis;
  std::vector<std::string> tokens;
  std::string admin_token;
  int threads = 0, shards = 0;
  double rate = -1, burst = -1;
  int64_t backlog_limit = -1;
  app.add_option("--listen", listen, "HOST:PORT to serve HTTP on")->capture_default_str();
  redis.Add(app, "the streams are appended to");
  app.add_option("--token", tokens, "agent token accepted as 'Authorization: Bearer T' (repeatable)");
  app.add_option("--admin-token", admin_token, "token for admin calls (PUT /api/v1/config)");
  app.add_option("--config", config, "JSON config file (tokens, limits, ...); flags override it");
  app.add_option("--threads", threads,
                 "handler threads, each with its own Redis connection (default: two per core, since a "
                 "request holds its handler thread while Redis appends its batch); connections are "
                 "accepted and read on one thread per core besides");
  app.add_option("--shards", shards, "streams per event type (default 4); consumers must agree");
  app.add_option("--rate-limit", rate, "events per second each token may send on average (0: unlimited, the default)");
  app.add_option("--rate-burst", burst, "events a token may send at once (default: one second's worth)");
  app.add_option("--backlog-limit", backlog_limit,
                 "events of one type waiting in Redis before the proxy answers 503 (default 1000000; 0: none)");
  std::string name;
  app.add_option("--name", name,
                 "name this proxy publishes its counters under (argus:proxy:NAME, for the dash's pipeline view); "
                 "default HOSTNAME:PORT");
  http::ServerFlags flags;
  flags.Add(app);
  CLI11_PARSE(app, argc, argv);
  flags.StartLogging("argus-proxy");
  try {
    proxy::ProxyOptions opts;
    if (!config.empty()) {
      if (base::Status s = proxy::LoadConfigFile(config, &opts); !s.ok()) throw std::runtime_error(s.message());
    }
    if (app.count("--listen") || config.empty()) {
      if (base::Status s = http::ParseEndpoint(listen, &opts.listen); !s.ok()) {
        throw std::runtime_error("--listen: " + s.message());
      }
    }
    // The config file's "redis" stands unless --redis is given.
    if (base::Status s = redis.Apply(&opts.redis, app.count("--redis") || config.empty()); !s.ok()) {
      throw std::runtime_error(s.message());
    }
    for (auto& t : tokens) opts.tokens.push_back({t, ""});
    if (!admin_token.empty()) opts.admin_token = admin_token;
    if (threads > 0) opts.threads = threads;
    if (shards > 0) opts.shards = shards;
    if (rate >= 0) opts.rate.events_per_s = rate;
    if (burst >= 0) opts.rate.burst = burst;
    if (backlog_limit >= 0) opts.backlog_limit = backlog_limit;
    if (!name.empty()) opts.name = name;
    if (opts.tokens.empty()) {
      throw std::runtime_error("no agent token: give --token T or 'tokens' in --config");
    }
    for (const auto& t : opts.tokens) {
      if (t.token.empty()) throw std::runtime_error("an agent token must not be empty");
    }

    http::ServerOptions sopts;
    sopts.listen = opts.listen;
    // Handlers run on a pool of their own: a batch waiting on Redis never holds a thread
    // that accepts and reads connections. Measured (docs/performance.md): a handler
    // waits out each batch's Redis round trip, so two per core keep the cores busy.
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const int nthreads = opts.threads > 0 ? opts.threads : 2 * cores;
    sopts.threads = std::min(cores, nthreads);
    sopts.handler_threads = nthreads;
    sopts.name = "argus-proxy";
    // Room for the envelope; the batch limit itself is enforced with a clear message.
    sopts.body_limit = opts.limits.max_batch_bytes;
    // One Redis connection per handler thread: a handler holds at most one lease.
    proxy::ProxyService service(opts, static_cast<size_t>(nthreads));
    flags.Serve(sopts, service, "argus_proxy", [&](uint16_t port) {
      spdlog::info("argus-proxy listening on {}://{}:{} (redis {}, {} tokens, {} network and {} handler threads, "
                   "{} shards)",
                   flags.scheme(), opts.listen.host, port, opts.redis.ToString(), opts.tokens.size(), sopts.threads,
                   nthreads, opts.shards);
    });
    spdlog::info("argus-proxy stopped");
  } catch (const std::exception& e) {
    spdlog::error("argus-proxy: {}", e.what());
    return 1;
  }
  return 0;
}
