// The agent process: a tail loop, a cron loop and a sampler (system samples and the
// heartbeat) feed the outbox; the shipper drains it; a config loop pulls the remote
// config and reloads the local one on SIGHUP, and the other loops pick the result up.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/checkpoints.h"
#include "agent/cron.h"
#include "agent/outbox.h"
#include "agent/rules.h"
#include "agent/shipper.h"
#include "agent/tailer.h"
#include "base/clock.h"

namespace argus::agent {

// A followed file (a path or a glob) and the rules its lines go through.
struct FileSpec {
  std::string path;  // a path or a glob
  std::optional<bool> from_head;  // unset: AgentOptions::from_head
  std::vector<Rule> rules = {DefaultLogRule()};
};

struct AgentOptions {
  std::string host;
  std::map<std::string, std::string> labels;  // sent in the heartbeat
  std::vector<FileSpec> files;
  bool from_head = false;  // for files found by the first look at a pattern
  std::string state_dir;
  std::chrono::milliseconds poll_interval{250};
  CronOptions cron;
  ShipperOptions ship;
  // Queues, batches, read buffers and script output together stay within this.
  size_t memory_budget_bytes = 64 * 1024 * 1024;
  std::chrono::seconds system_interval{60}, heartbeat_interval{30};
  std::chrono::seconds config_pull_interval{300};
  TailerOptions tail;
};

// What the agent rebuilds its options from while it runs: the local config file
// (re-read on SIGHUP), the remote config (pulled from the proxies), and the command
// line, which overrides both.
struct ConfigSources {
  std::string local_path;  // empty: no local file
  nlohmann::json local = nlohmann::json::object();
  std::function<void(AgentOptions*)> flags = [](AgentOptions*) {};
};

// Event id of a log line: derived from where the line is, so a re-read repeats it.
std::string LineEventId(const std::string& host, const Line& line);

class Agent {
 public:
  // Every decision by time (heartbeats, samples, cron slots, backoff, rotation grace)
  // is made on `clock`.
  Agent(AgentOptions options, ConfigSources sources = {}, const base::Clock& clock = base::SystemClock());
  ~Agent();
  // Runs until `stop`, then flushes within the shipper's flush timeout. `reload` set
  // (by SIGHUP) re-reads the local config file.
  void Run(const std::atomic<bool>& stop, std::atomic<bool>* reload = nullptr);
  // The heartbeat's content: version, uptime and every counter.
  nlohmann::json Heartbeat() const;

 private:
  void TailLoop(const std::atomic<bool>& stop);
  void CronLoop(const std::atomic<bool>& stop);
  void SamplerLoop(const std::atomic<bool>& stop);
  void ConfigLoop(const std::atomic<bool>& stop, std::atomic<bool>* reload);
  // Pulls the remote config; the new one when it changed.
  std::optional<nlohmann::json> Pull(std::string* etag);
  // Rebuilds the options from the sources; keeps the last good ones (and says why)
  // and returns false when they do not build.
  bool Rebuild(const std::string& why);
  std::shared_ptr<const AgentOptions> live() const;

  const base::Clock& clock_;
  const AgentOptions initial_;
  ConfigSources sources_;
  nlohmann::json remote_ = nlohmann::json::object();
  mutable std::mutex live_mu_;  // guards live_
  std::shared_ptr<const AgentOptions> live_;
  std::atomic<uint64_t> generation_{0};  // bumped on every new live_

  Checkpoints checkpoints_;
  Outbox outbox_;
  Tailer tailer_;
  RuleCounters rule_counters_;
  std::unique_ptr<CronRunner> cron_;
  std::unique_ptr<Shipper> shipper_;
  std::atomic<uint64_t> config_reloads_{0}, config_errors_{0};
  std::atomic<uint64_t> disk_timeouts_{0};  // samples sent without disks: they did not answer in time
  const base::Clock::SteadyTime started_ = clock_.Steady();
};

}  // namespace argus::agent
