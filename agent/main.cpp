// argus-agent: tails logs and runs drop-in scripts on a host, and ships the events.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "agent/agent.h"
#include "agent/checkpoints.h"
#include "agent/config.h"
#include "agent/tailer.h"
#include "base/file.h"
#include "base/logging.h"

namespace {
std::atomic<bool> g_stop{false}, g_reload{false};
void OnSignal(int) { g_stop.store(true); }
void OnReload(int) { g_reload.store(true); }

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

// --dry-run: every file from its start through its rules; events to stdout as JSON
// lines. The lines come from a tailer of its own, so they are split exactly as the
// agent splits them (a CR before the newline kept, a line over max_line_bytes cut, an
// unterminated last line held back), and the ids are the ones the agent would send.
int DryRun(const argus::agent::AgentOptions& opts) {
  using namespace argus;
  // Checkpoints in a scratch folder: the run must not move the agent's own.
  std::string scratch = (std::filesystem::temp_directory_path() / "argus-dry-run-XXXXXX").string();
  if (!::mkdtemp(scratch.data())) {
    spdlog::error("--dry-run: cannot make a scratch folder: {}", std::strerror(errno));
    return 2;
  }
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{scratch};
  agent::Checkpoints checkpoints(scratch);
  agent::TailerOptions to = opts.tail;
  to.rescan_interval = std::chrono::milliseconds(0);
  agent::Tailer tailer(checkpoints, to);
  std::vector<agent::TailSource> sources;
  for (const auto& f : opts.files) sources.push_back({f.path, /*from_head=*/true});
  tailer.SetSources(sources);
  agent::RuleCounters counters;
  uint64_t events = 0;
  std::vector<agent::Line> lines;
  std::vector<agent::Progress> progress;
  do {
    lines.clear();
    progress.clear();
    tailer.Poll(&lines, &progress, 4 * 1024 * 1024);
    for (const auto& line : lines) {
      if (line.source >= opts.files.size()) continue;
      auto m = agent::Apply(opts.files[line.source].rules, line.text, &counters);
      if (!m) continue;
      proto::Event e;
      e.type = m->rule->type;
      e.host = opts.host;
      e.id = agent::LineEventId(opts.host, line);
      e.priority = m->rule->priority;
      e.content = std::move(m->content);
      std::cout << proto::Serialize(e) << '\n';
      ++events;
    }
  } while (!lines.empty());
  std::cout.flush();
  const auto& t = tailer.counters();
  if (t.files.load() == 0) {
    spdlog::error("--dry-run: no readable file matches {}", opts.files.size() == 1 ? opts.files[0].path : "the config's files");
    return 2;
  }
  spdlog::info("dry run: {} files, {} lines, {} events, {} sampled out, {} failed extraction, {} long lines cut",
               t.files.load(), t.lines.load(), events, counters.sampled_out.load(), counters.extract_failed.load(),
               t.long_lines.load());
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  using namespace argus;
  CLI::App app{
      "argus-agent: tails log files and runs drop-in scripts, and ships events to argus-proxy.\n"
      "Settings come from --config FILE (JSON, see docs/operations.md); flags given on the command line "
      "override it."};
  agent::AgentOptions opts;
  std::vector<std::string> proxies, logs;
  base::LogFlags log;
  std::string from = "end", config_path, check_path, token, host, state_dir, cron_dir;
  // Flags start at the options' own defaults, so --help shows them and only flags
  // actually given override the config file.
  int64_t cron_interval = opts.cron.interval.count(), cron_timeout = opts.cron.timeout.count();
  int64_t batch_delay_ms = opts.ship.max_delay.count();
  size_t batch_events = opts.ship.max_events;
  bool dry_run = false;
  app.add_option("--config", config_path, "agent config file (JSON)")->check(CLI::ExistingFile);
  app.add_option("--check-config", check_path, "validate a config file (schema and regexes), print the verdict, exit");
  app.add_flag("--dry-run", dry_run,
               "read the --log files (or the config's files) from their start through their rules and print "
               "the events they would produce as JSON lines; sends nothing");
  app.add_option("-a,--proxy", proxies, "proxy [https://]HOST:PORT; several (comma-separated or repeated) fail over");
  app.add_option("--token", token, "agent token for the proxy");
  app.add_option("--ca-file", opts.ship.tls.ca_file,
                 "PEM CAs that https:// proxies' certificates must chain to (default: the system's)")
      ->check(CLI::ExistingFile);
  app.add_option("--host", host, "host name stamped on events (default: this machine's hostname)");
  app.add_option("-f,--log", logs, "log file or glob to follow (repeatable; quote globs); lines with [metrics]{json} become events");
  app.add_option("--cron-dir", cron_dir, "folder of executable scripts to run on an interval");
  app.add_option("--cron-interval", cron_interval, "seconds between runs of each script")->capture_default_str()->check(CLI::Range(1, 86400));
  app.add_option("--cron-timeout", cron_timeout, "seconds before a script is killed")->capture_default_str()->check(CLI::Range(1, 3600));
  app.add_option("--state-dir", state_dir, "folder for checkpoints (created if missing)");
  app.add_option("--from", from, "where to start a log file seen for the first time: head or end")
      ->capture_default_str()->check(CLI::IsMember({"head", "end"}));
  app.add_option("--batch-max-events", batch_events, "events per batch")->capture_default_str()->check(CLI::Range(1, 10000));
  app.add_option("--batch-max-delay-ms", batch_delay_ms, "longest wait to fill a batch")->capture_default_str()->check(CLI::Range(1, 60000));
  log.Add(app);
  CLI11_PARSE(app, argc, argv);
  log.Start("argus-agent");

  if (!check_path.empty()) {
    nlohmann::json config;
    base::Status s = base::ReadJsonFile(check_path, &config);
    agent::AgentOptions scratch;
    if (s.ok()) s = agent::ApplyAgentConfig(config, proto::ConfigScope::kLocal, &scratch);
    if (!s.ok()) {
      std::cout << check_path << ": " << s.message() << '\n';
      return 2;
    }
    std::cout << check_path << ": ok (" << scratch.files.size() << " files)\n";
    return 0;
  }
  std::vector<http::Endpoint> cli_proxies;
  for (const auto& p : SplitCommas(proxies)) {
    http::Endpoint ep;
    if (base::Status s = http::ParseEndpoint(p, &ep); !s.ok()) {
      spdlog::error("--proxy: {}", s.message());
      return 2;
    }
    cli_proxies.push_back(ep);
  }
  agent::ConfigSources sources;
  sources.local_path = config_path;
  if (!config_path.empty()) {
    if (base::Status s = base::ReadJsonFile(config_path, &sources.local); !s.ok()) {
      spdlog::error("--config: {}", s.message());
      return 2;
    }
  }
  // Flags given on the command line win over the config files, also on every reload.
  sources.flags = [&, tls = opts.ship.tls](agent::AgentOptions* o) {
    if (!cli_proxies.empty()) o->ship.proxies = cli_proxies;
    o->ship.tls = tls;
    if (!token.empty()) o->ship.token = token;
    if (!host.empty()) o->host = host;
    if (!state_dir.empty()) o->state_dir = state_dir;
    if (!cron_dir.empty()) o->cron.dir = cron_dir;
    if (app.count("--cron-interval")) o->cron.interval = std::chrono::seconds(cron_interval);
    if (app.count("--cron-timeout")) o->cron.timeout = std::chrono::seconds(cron_timeout);
    if (app.count("--batch-max-events")) o->ship.max_events = batch_events;
    if (app.count("--batch-max-delay-ms")) o->ship.max_delay = std::chrono::milliseconds(batch_delay_ms);
    for (const auto& l : logs) o->files.push_back(agent::FileSpec{l, std::nullopt, {agent::DefaultLogRule()}});
    o->from_head = from == "head";
    if (o->host.empty()) o->host = base::HostName();
  };
  if (base::Status s = agent::BuildOptions(agent::AgentOptions{}, sources, nlohmann::json::object(), &opts);
      !s.ok()) {
    spdlog::error("--config {}: {}", config_path, s.message());
    return 2;
  }
  if (dry_run) {
    if (opts.files.empty()) {
      spdlog::error("--dry-run: give the file with --log FILE (or files in --config)");
      return 2;
    }
    return DryRun(opts);
  }

  for (auto [missing, what] : {std::pair{opts.ship.proxies.empty(), "--proxy (or \"proxies\" in --config)"},
                               std::pair{opts.ship.token.empty(), "--token (or \"token\" in --config)"},
                               std::pair{opts.state_dir.empty(), "--state-dir (or \"state_dir\" in --config)"}}) {
    if (missing) {
      spdlog::error("{} is required", what);
      return 2;
    }
  }
  std::error_code ec;
  std::filesystem::create_directories(opts.state_dir, ec);
  if (ec) {
    spdlog::error("--state-dir {}: {}", opts.state_dir, ec.message());
    return 2;
  }

  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGHUP, OnReload);
  std::signal(SIGPIPE, SIG_IGN);
  try {
    agent::Agent agent(opts, sources);
    spdlog::info("argus-agent on {}: {} log files, cron dir '{}', {} proxies", opts.host, opts.files.size(),
                 opts.cron.dir, opts.ship.proxies.size());
    agent.Run(g_stop, &g_reload);
  } catch (const std::exception& e) {
    spdlog::error("argus-agent: {}", e.what());
    return 1;
  }
  return 0;
}
