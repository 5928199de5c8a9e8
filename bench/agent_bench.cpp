// Helper for bench/agent.sh: writes the synthetic log, and runs the agent's own tail +
// rules + extraction path over it (what the tail loop does, up to the outbox).
//
//   argus_agent_bench gen --file F --lines N   # ~150-byte lines, 20% [metrics]{json}
//   argus_agent_bench tail --file F            # prints "seconds lines events bytes event_bytes"
#include <chrono>
#include <cstdio>
#include <iostream>
#include <random>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "base/clock.h"
#include "agent/agent.h"
#include "agent/outbox.h"
#include "agent/rules.h"
#include "agent/tailer.h"

using namespace argus;

namespace {

int Generate(const std::string& path, int64_t lines) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) {
    std::cerr << "cannot write " << path << "\n";
    return 1;
  }
  std::mt19937_64 rng(42);
  const char* paths[] = {"/api/v1/items", "/api/v1/users/42", "/healthz", "/api/v1/orders?page=3", "/static/app.js"};
  for (int64_t i = 0; i < lines; ++i) {
    int ms = static_cast<int>(rng() % 900), status = rng() % 20 == 0 ? 500 : 200;
    const char* p = paths[rng() % 5];
    if (i % 5 == 0) {
      std::fprintf(f,
                   "2026-11-21T10:%02d:%02d.%03dZ INFO [metrics]{\"seq\":%lld,\"path\":\"%s\",\"status\":%d,"
                   "\"ms\":%d,\"bytes\":%d,\"worker\":%d,\"trace\":\"%016llx\"}\n",
                   static_cast<int>(i / 60000 % 60), static_cast<int>(i / 1000 % 60), static_cast<int>(i % 1000),
                   static_cast<long long>(i), p, status, ms, static_cast<int>(rng() % 100000),
                   static_cast<int>(rng() % 16), static_cast<unsigned long long>(rng()));
    } else {
      std::fprintf(f,
                   "2026-11-21T10:%02d:%02d.%03dZ INFO [worker-%d] handled GET %s status=%d in %d ms "
                   "client=10.%d.%d.%d agent=curl/8.5 req=%016llx\n",
                   static_cast<int>(i / 60000 % 60), static_cast<int>(i / 1000 % 60), static_cast<int>(i % 1000),
                   static_cast<int>(rng() % 16), p, status, ms, static_cast<int>(rng() % 256),
                   static_cast<int>(rng() % 256), static_cast<int>(rng() % 256),
                   static_cast<unsigned long long>(rng()));
    }
  }
  std::fclose(f);
  return 0;
}

int Tail(const std::string& path, const std::string& state_dir) {
  agent::Checkpoints checkpoints(state_dir);
  agent::Tailer tailer(checkpoints);
  tailer.SetSources({{path, /*from_head=*/true}});
  std::vector<agent::Rule> rules = {agent::DefaultLogRule()};
  agent::RuleCounters counters;
  std::vector<agent::Line> lines;
  std::vector<agent::Progress> progress;
  uint64_t events = 0, event_bytes = 0;
  auto start = std::chrono::steady_clock::now();
  while (true) {
    lines.clear();
    progress.clear();
    tailer.Poll(&lines, &progress, 4 * 1024 * 1024);
    if (lines.empty()) break;  // the file is read to its end
    for (const auto& line : lines) {
      auto m = agent::Apply(rules, line.text, &counters);
      if (!m) continue;
      proto::Event e;
      e.type = m->rule->type;
      e.host = "bench-host";
      e.ts = base::SystemClock().WallMs();
      e.id = agent::LineEventId(e.host, line);
      e.priority = m->rule->priority;
      e.content = std::move(m->content);
      auto item = agent::EventItem(e);
      event_bytes += item.serialized.size();
      ++events;
    }
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << seconds << ' ' << tailer.counters().lines.load() << ' ' << events << ' '
            << tailer.counters().bytes.load() << ' ' << event_bytes << '\n';
  return events == counters.matched.load() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"argus agent benchmark helper"};
  app.require_subcommand(1);
  std::string file, state_dir = "/tmp";
  int64_t lines = 1000000;
  auto* gen = app.add_subcommand("gen", "write the synthetic log");
  gen->add_option("--file", file)->required();
  gen->add_option("--lines", lines);
  auto* tail = app.add_subcommand("tail", "tail + rules + extraction over the file, from its head");
  tail->add_option("--file", file)->required();
  tail->add_option("--state-dir", state_dir);
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);
  if (gen->parsed()) return Generate(file, lines);
  return Tail(file, state_dir);
}
