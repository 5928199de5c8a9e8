#include "agent/agent.h"

#include <thread>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "proto/hash.h"

namespace argus::agent {
namespace {

// Sleeps up to `d`, waking early on stop.
void SleepFor(std::chrono::milliseconds d, const std::atomic<bool>& stop) {
  auto until = std::chrono::steady_clock::now() + d;
  while (!stop.load() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::min(d, std::chrono::milliseconds(50)));
  }
}

}  // namespace

std::string LineEventId(const std::string& host, const Line& line) {
  return "l" +
         proto::Hex64(proto::HashParts({host, std::to_string(line.id.dev), std::to_string(line.id.ino),
                                        std::to_string(line.id.gen)})) +
         "-" + std::to_string(line.offset);
}

Agent::Agent(AgentOptions options)
    : options_(std::move(options)),
      checkpoints_(options_.state_dir),
      outbox_(options_.outbox_items, options_.outbox_bytes) {}

void Agent::TailLoop(const std::atomic<bool>& stop) {
  Tailer tailer(checkpoints_);
  std::vector<TailSource> sources;
  for (const auto& f : options_.files) sources.push_back({f.path, f.from_head.value_or(options_.from_head)});
  tailer.SetSources(sources);
  RuleCounters rule_counters;
  std::vector<Line> lines;
  std::vector<Progress> progress;
  while (!stop.load()) {
    lines.clear();
    progress.clear();
    tailer.Poll(&lines, &progress, 4 * 1024 * 1024);
    int64_t now = proto::NowMs();
    for (const auto& line : lines) {
      auto m = Apply(options_.files[line.source].rules, line.text, &rule_counters);
      if (!m) continue;
      proto::Event e;
      e.type = m->rule->type;
      e.host = options_.host;
      e.ts = now;
      e.id = LineEventId(options_.host, line);
      e.priority = m->rule->priority;
      e.content = m->content.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      if (!outbox_.Push(EventItem(e))) return;
    }
    for (auto& p : progress) {
      Item marker;
      marker.progress = std::move(p);
      if (!outbox_.Push(std::move(marker))) return;
    }
    // Keep reading without a pause while a file has a backlog.
    if (lines.empty()) SleepFor(options_.poll_interval, stop);
  }
}

void Agent::CronLoop(const std::atomic<bool>& stop) {
  CronRunner runner(options_.cron);
  while (!stop.load()) {
    for (auto& e : runner.RunDue(std::chrono::system_clock::now())) {
      if (!outbox_.Push(EventItem(e))) return;
    }
    // New scripts are noticed within a second.
    SleepFor(std::chrono::milliseconds(1000), stop);
  }
}

void Agent::Run(const std::atomic<bool>& stop) {
  Shipper shipper(options_.ship, outbox_, checkpoints_, options_.state_dir + "/spool");
  std::thread tail([&] { TailLoop(stop); });
  std::thread cron([&] { CronLoop(stop); });
  shipper.Run(stop);
  // The shipper closed the outbox, which releases producers blocked on a full queue.
  outbox_.Close();
  tail.join();
  cron.join();
  const auto& c = shipper.counters();
  spdlog::info("argus-agent stopped: {} events sent in {} batches, {} retries, {} refused, {} dropped",
               c.sent.load(), c.batches.load(), c.retries.load(), c.rejected.load(), c.dropped.load());
}

}  // namespace argus::agent
