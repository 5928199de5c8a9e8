// The agent process: a tail loop and a cron loop feed the outbox, the shipper drains it.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "agent/cron.h"
#include "agent/rules.h"
#include "agent/shipper.h"

namespace argus::agent {

// A followed file (a path or a glob) and the rules its lines go through.
struct FileSpec {
  std::string path;  // a path or a glob
  std::optional<bool> from_head;  // unset: AgentOptions::from_head
  std::vector<Rule> rules = {DefaultLogRule()};
};

struct AgentOptions {
  std::string host;
  std::vector<FileSpec> files;
  bool from_head = false;  // for files found by the first look at a pattern
  std::string state_dir;
  std::chrono::milliseconds poll_interval{250};
  CronOptions cron;
  ShipperOptions ship;
  size_t outbox_items = 20000;
  size_t outbox_bytes = 32 * 1024 * 1024;
};

// Event id of a log line: derived from where the line is, so a re-read repeats it.
std::string LineEventId(const std::string& host, const Line& line);

class Agent {
 public:
  explicit Agent(AgentOptions options);
  // Runs until `stop`, then flushes within the shipper's flush timeout.
  void Run(const std::atomic<bool>& stop);

 private:
  void TailLoop(const std::atomic<bool>& stop);
  void CronLoop(const std::atomic<bool>& stop);

  AgentOptions options_;
  Checkpoints checkpoints_;
  Outbox outbox_;
};

}  // namespace argus::agent
