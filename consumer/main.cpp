// argus-consumer: stores one event type's stream (or every type's) into SQLite.
#include <csignal>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <thread>

#include "base/logging.h"
#include "consumer/consumer.h"
#include "queue/redis_address.h"
#include "http/endpoint.h"
#include "http/server.h"
#include "proto/event.h"

namespace {
std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop.store(true); }
}  // namespace

int main(int argc, char** argv) {
  using namespace argus;
  CLI::App app{"argus-consumer: reads a type's Redis streams through its consumer group into SQLite"};
  consumer::ConsumerOptions opts;
  base::LogFlags log;
  queue::RedisFlags redis;
  app.add_option("--type", opts.type, "event type to consume, or 'all' to follow every type")->required();
  redis.Add(app, "the streams are read from");
  app.add_option("--db", opts.db_path, "SQLite database file (created if missing)")->required();
  app.add_option("--name", opts.name,
                 "consumer name in the group; keep it stable across restarts so pending "
                 "entries are resumed (default: <hostname>-<type>)");
  app.add_option("--shards", opts.shards, "streams per type; must match the proxy")->capture_default_str();
  app.add_option("--batch", opts.batch, "entries read per shard per round")->capture_default_str();
  app.add_option("--aggregators", opts.aggregators, "aggregators run for every type (comma-separated)")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--retention-days", opts.retention.raw_days,
                 "days raw events and one-minute rollups are kept")
      ->capture_default_str()
      ->check(CLI::Range(1, 3650));
  app.add_option("--hourly-days", opts.retention.hourly_days, "days one-hour rollups are kept")
      ->capture_default_str()
      ->check(CLI::Range(1, 36500));
  std::string config_path;
  app.add_option("--config", config_path,
                 "JSON file: {\"aggregators\": {\"<type>\": [names], \"*\": [names]}} (\"*\": every other type)")
      ->check(CLI::ExistingFile);
  std::string metrics_listen;
  app.add_option("--metrics", metrics_listen, "HOST:PORT to serve /metrics (Prometheus) and /healthz on");
  int claim_idle_s = 60;
  app.add_option("--claim-idle-s", claim_idle_s,
                 "take over entries pending this long in another consumer (a crashed one)")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400));
  app.add_option("--max-attempts", opts.max_attempts,
                 "times an entry may fail on its own before it goes to the dead-letter stream")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  log.Add(app);
  CLI11_PARSE(app, argc, argv);
  log.Start("argus-consumer");
  opts.claim_idle = std::chrono::seconds(claim_idle_s);
  if (!config_path.empty()) {
    if (base::Status s = consumer::LoadConsumerConfig(config_path, &opts); !s.ok()) {
      spdlog::error("--config {}: {}", config_path, s.message());
      return 2;
    }
  }

  if (opts.type != "all" && !proto::IsValidType(opts.type)) {
    spdlog::error("--type '{}' is not a valid type ([a-z0-9][a-z0-9_.-]{{0,63}}) nor 'all'", opts.type);
    return 2;
  }
  if (base::Status s = redis.Apply(&opts.redis); !s.ok()) {
    spdlog::error("{}", s.message());
    return 2;
  }
  if (opts.name.empty()) opts.name = base::HostName() + "-" + opts.type;
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  try {
    consumer::Consumer c(opts);
    // Optional: the consumer's counters for Prometheus, served beside the work loop.
    std::unique_ptr<http::Server> metrics_server;
    std::thread metrics_thread;
    http::Router router;
    if (!metrics_listen.empty()) {
      http::Endpoint mep;
      if (base::Status s = http::ParseEndpoint(metrics_listen, &mep); !s.ok()) {
        throw std::runtime_error("--metrics: " + s.message());
      }
      router.Add(boost::beast::http::verb::get, "/metrics",
                 [&c](const http::Request&, const http::Peer&) { return http::MetricsResponse(c.metrics()); });
      router.Add(boost::beast::http::verb::get, "/healthz", [&c](const http::Request&, const http::Peer&) {
        return c.healthy() ? http::Json(boost::beast::http::status::ok, {{"status", "ok"}})
                           : http::Unavailable("the last round failed; see the log");
      });
      http::ServerOptions so;
      so.listen = mep;
      so.threads = 1;
      so.name = "argus-consumer";
      metrics_server = std::make_unique<http::Server>(
          so, [&router](const http::Request& r, const http::Peer& p) { return router.Dispatch(r, p); });
      metrics_server->Start();
      metrics_server->ExportMetrics(c.metrics(), "argus_consumer");
      metrics_thread = std::thread([&] { metrics_server->Run(); });
      spdlog::info("argus-consumer {}: metrics on {}:{}", opts.name, mep.host, metrics_server->port());
    }
    spdlog::info("argus-consumer {}: type {} from redis {} into {}", opts.name, opts.type,
                 opts.redis.ToString(), opts.db_path);
    c.Run(g_stop);
    if (metrics_server) {
      metrics_server->Stop();
      metrics_thread.join();
    }
    const auto& s = c.stats();
    spdlog::info("argus-consumer {} stopped: read {}, stored {}, duplicates {}, invalid {}, claimed {}, "
                 "dead-lettered {}",
                 opts.name, s.read, s.stored, s.duplicates, s.invalid, s.claimed, s.dead_lettered);
  } catch (const std::exception& e) {
    spdlog::error("argus-consumer: {}", e.what());
    return 1;
  }
  return 0;
}
