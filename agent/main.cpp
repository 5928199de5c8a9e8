// argus-agent: tails logs and runs drop-in scripts on a host, and ships the events.
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "agent/agent.h"

namespace {
std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop.store(true); }

std::vector<std::string> SplitCommas(const std::vector<std::string>& in) {
  std::vector<std::string> out;
  for (const auto& s : in) {
    size_t start = 0;
    while (start <= s.size()) {
      size_t comma = s.find(',', start);
      std::string part = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!part.empty()) out.push_back(part);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return out;
}
}  // namespace

int main(int argc, char** argv) {
  using namespace argus;
  CLI::App app{"argus-agent: tails log files and runs drop-in scripts, and ships events to argus-proxy"};
  agent::AgentOptions opts;
  std::vector<std::string> proxies;
  std::string from = "end", level = "info";
  int cron_interval = 60, cron_timeout = 10, batch_delay_ms = 1000;
  app.add_option("-a,--proxy", proxies,
                 "proxy [https://]HOST:PORT; several (comma-separated or repeated) fail over")
      ->required();
  app.add_option("--token", opts.ship.token, "agent token for the proxy")->required();
  app.add_option("--ca-file", opts.ship.tls.ca_file,
                 "PEM CAs that https:// proxies' certificates must chain to (default: the system's)")
      ->check(CLI::ExistingFile);
  app.add_option("--host", opts.host, "host name stamped on events (default: this machine's hostname)");
  app.add_option("-f,--log", opts.logs, "log file to follow (repeatable); lines with [metrics]{json} become events");
  app.add_option("--cron-dir", opts.cron.dir, "folder of executable scripts to run on an interval");
  app.add_option("--cron-interval", cron_interval, "seconds between runs of each script")->capture_default_str()->check(CLI::Range(1, 86400));
  app.add_option("--cron-timeout", cron_timeout, "seconds before a script is killed")->capture_default_str()->check(CLI::Range(1, 3600));
  app.add_option("--state-dir", opts.state_dir, "folder for checkpoints (created if missing)")->required();
  app.add_option("--from", from, "where to start a log file seen for the first time: head or end")
      ->capture_default_str()->check(CLI::IsMember({"head", "end"}));
  app.add_option("--batch-max-events", opts.ship.max_events, "events per batch")->capture_default_str()->check(CLI::Range(1, 10000));
  app.add_option("--batch-max-delay-ms", batch_delay_ms, "longest wait to fill a batch")->capture_default_str()->check(CLI::Range(1, 60000));
  app.add_option("--log-level", level, "trace, debug, info, warn, error")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  // Logs go to stderr: stdout stays free for what a program is asked to print.
  spdlog::set_default_logger(spdlog::stderr_color_mt("argus-agent"));
  spdlog::set_level(spdlog::level::from_str(level));

  for (const auto& p : SplitCommas(proxies)) {
    std::string err;
    auto ep = http::ParseEndpoint(p, &err);
    if (!ep) {
      spdlog::error("--proxy: {}", err);
      return 2;
    }
    opts.ship.proxies.push_back(*ep);
  }
  if (opts.ship.proxies.empty()) {
    spdlog::error("--proxy: no proxy address given");
    return 2;
  }
  if (opts.host.empty()) {
    char name[256] = {0};
    gethostname(name, sizeof(name) - 1);
    opts.host = name;
  }
  std::error_code ec;
  std::filesystem::create_directories(opts.state_dir, ec);
  if (ec) {
    spdlog::error("--state-dir {}: {}", opts.state_dir, ec.message());
    return 2;
  }
  opts.from_head = from == "head";
  opts.cron.interval = std::chrono::seconds(cron_interval);
  opts.cron.timeout = std::chrono::seconds(cron_timeout);
  opts.cron.host = opts.host;
  opts.ship.max_delay = std::chrono::milliseconds(batch_delay_ms);

  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGPIPE, SIG_IGN);
  try {
    agent::Agent agent(opts);
    spdlog::info("argus-agent on {}: {} log files, cron dir '{}', {} proxies", opts.host, opts.logs.size(),
                 opts.cron.dir, opts.ship.proxies.size());
    agent.Run(g_stop);
  } catch (const std::exception& e) {
    spdlog::error("argus-agent: {}", e.what());
    return 1;
  }
  return 0;
}
