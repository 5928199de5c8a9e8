// argus-alert: evaluates alert rules over the store and delivers their notifications.
#include <csignal>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <thread>

#include "alert/evaluator.h"
#include "alert/notifier.h"
#include "base/logging.h"
#include "http/endpoint.h"
#include "http/server.h"
#include "queue/redis_address.h"

namespace {
std::atomic<bool> g_stop{false};
std::atomic<int> g_reloads{0};
void OnStop(int) { g_stop.store(true); }
void OnHangup(int) { g_reloads.fetch_add(1); }
}  // namespace

int main(int argc, char** argv) {
  using namespace argus;
  CLI::App app{
      "argus-alert: evaluates the alert rules (the store's, and --rules FILE's) against the Argus store, and delivers\n"
      "their notifications exactly once per key through a Redis stream (DESIGN.md, \"Alert\"; docs/alerting.md).\n"
      "Several can run at once: evaluators share the (rule, host) pairs by a hash ring, notifiers share the stream."};
  alert::EvaluatorOptions eval;
  alert::NotifierOptions notify;
  base::LogFlags log;
  queue::RedisFlags redis;
  std::string role = "all";
  std::string listen;
  app.add_option("--db", eval.db_path, "SQLite store the consumers write (rules, states and history live there too)")
      ->required();
  redis.Add(app, "for the evaluator ring, the consumers' progress and the notification stream");
  app.add_option("--rules", eval.rules_path,
                 "rules file (JSON: rules, receivers, route); its rules are read-only through the API; SIGHUP reloads it")
      ->check(CLI::ExistingFile);
  app.add_option("--name", eval.name, "this process on the evaluator ring and in the notifier group; keep it stable "
                                      "across restarts (default: <hostname>-alert)");
  app.add_option("--listen", listen, "HOST:PORT to serve /healthz and /metrics on");
  app.add_option("--role", role, "evaluate (rules to notifications), notify (notifications to receivers), or all")
      ->check(CLI::IsMember({"evaluate", "notify", "all"}))
      ->capture_default_str();
  app.add_option("--shards", eval.shards, "streams per type; must match the proxy")->capture_default_str();
  app.add_option("--max-lag-ms", eval.max_lag_ms,
                 "a type whose consumer has stored less than this far behind arrival is judged insufficient_data")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1000}, int64_t{3600000}));
  app.add_option("--heartbeat-ttl-ms", eval.heartbeat_ttl_ms,
                 "an evaluator silent this long leaves the ring and its pairs move to the others")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1000}, int64_t{600000}));
  int64_t give_up_s = notify.give_up_after_ms / 1000;
  app.add_option("--give-up-after-s", give_up_s,
                 "a notification no receiver took for this long goes to the dead-letter stream argus:{alert}:dead")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{30 * 86400}));
  int64_t backoff_max_ms = notify.backoff_max_ms;
  app.add_option("--backoff-max-ms", backoff_max_ms, "the longest wait between two delivery attempts")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{100}, int64_t{600000}));
  std::string check_rules;
  app.add_option("--check-rules", check_rules,
                 "check a rules file (rules, receivers, route, flapping) and exit: 0 when good, 2 with the bad key named")
      ->check(CLI::ExistingFile);
  log.Add(app);
  // --check-rules needs nothing else: --db is required only to run.
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]).starts_with("--check-rules")) app.get_option("--db")->required(false);
  }
  CLI11_PARSE(app, argc, argv);
  log.Start("argus-alert");
  if (!check_rules.empty()) {
    alert::AlertConfig checked;
    if (base::Status s = alert::LoadConfig(check_rules, &checked); !s.ok()) {
      std::fprintf(stderr, "%s\n", s.message().c_str());
      return 2;
    }
    std::printf("%s: %zu rules, %zu receivers: good\n", check_rules.c_str(), checked.rules.size(),
                checked.receivers.size());
    return 0;
  }

  if (base::Status s = redis.Apply(&eval.redis); !s.ok()) {
    spdlog::error("{}", s.message());
    return 2;
  }
  if (eval.name.empty()) eval.name = base::HostName() + "-alert";
  notify.redis = eval.redis;
  notify.name = eval.name;
  notify.rules_path = eval.rules_path;
  notify.db_path = eval.db_path;
  notify.give_up_after_ms = give_up_s * 1000;
  notify.backoff_max_ms = backoff_max_ms;
  notify.backoff_min_ms = std::min(notify.backoff_min_ms, backoff_max_ms);
  notify.claim_idle_ms = std::max(notify.claim_idle_ms, 2 * backoff_max_ms);
  const bool evaluate = role != "notify", deliver = role != "evaluate";

  alert::AlertConfig config;
  if (!eval.rules_path.empty()) {
    if (base::Status s = alert::LoadConfig(eval.rules_path, &config); !s.ok()) {
      spdlog::error("--rules {}", s.message());
      return 2;
    }
  } else {
    alert::ParseConfig(nlohmann::json{{"rules", nlohmann::json::array()}}, &config).IgnoreError();  // log receiver
  }
  std::signal(SIGINT, OnStop);
  std::signal(SIGTERM, OnStop);
  std::signal(SIGHUP, OnHangup);
  try {
    std::unique_ptr<alert::Evaluator> evaluator;
    std::unique_ptr<alert::Notifier> notifier;
    if (evaluate) {
      evaluator = std::make_unique<alert::Evaluator>(eval);
      if (base::Status s = evaluator->Reload(); !s.ok()) throw std::runtime_error("--rules " + s.message());
    }
    if (deliver) notifier = std::make_unique<alert::Notifier>(notify, config);

    std::unique_ptr<http::Server> server;
    std::thread server_thread;
    http::Router router;
    if (!listen.empty()) {
      http::Endpoint ep;
      if (base::Status s = http::ParseEndpoint(listen, &ep); !s.ok()) throw std::runtime_error("--listen: " + s.message());
      router.Add(boost::beast::http::verb::get, "/metrics", [&](const http::Request&, const http::Peer&) {
        // One exposition: the two roles' families have distinct names.
        http::Response res = http::MetricsResponse(evaluator ? evaluator->metrics() : notifier->metrics());
        if (evaluator && notifier) {
          res.body() += notifier->metrics().Render();
          res.prepare_payload();
        }
        return res;
      });
      router.Add(boost::beast::http::verb::get, "/healthz", [&](const http::Request&, const http::Peer&) {
        const bool ok = (!evaluator || evaluator->healthy()) && (!notifier || notifier->healthy());
        if (!ok) return http::Unavailable("the last round failed (store or redis); see the log");
        nlohmann::json j = {{"status", "ok"}, {"role", role}, {"name", eval.name}};
        if (evaluator) j["ring"] = evaluator->ring().members();
        if (notifier) j["in_flight"] = notifier->in_flight();
        return http::Json(boost::beast::http::status::ok, j);
      });
      http::ServerOptions so;
      so.listen = ep;
      so.threads = 1;
      so.name = "argus-alert";
      server = std::make_unique<http::Server>(
          so, [&router](const http::Request& r, const http::Peer& p) { return router.Dispatch(r, p); });
      server->Start();
      server_thread = std::thread([&] { server->Run(); });
      spdlog::info("argus-alert {}: /healthz and /metrics on {}:{}", eval.name, ep.host, server->port());
    }
    spdlog::info("argus-alert {}: role {}, store {}, redis {}", eval.name, role, eval.db_path, eval.redis.ToString());
    std::thread notify_thread;
    if (notifier) notify_thread = std::thread([&] { notifier->Run(g_stop, g_reloads); });
    if (evaluator) {
      evaluator->Run(g_stop, g_reloads);
      evaluator->Leave();
    }
    if (notify_thread.joinable()) notify_thread.join();
    if (server) {
      server->Stop();
      server_thread.join();
    }
    spdlog::info("argus-alert {} stopped", eval.name);
  } catch (const std::exception& e) {
    spdlog::error("argus-alert: {}", e.what());
    return 1;
  }
  return 0;
}
