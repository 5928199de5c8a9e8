#include "agent/agent.h"

#include <algorithm>
#include <thread>

#include <spdlog/spdlog.h>

#include "agent/config.h"
#include "agent/system.h"
#include "base/file.h"
#include "http/client.h"
#include "proto/hash.h"

#ifndef ARGUS_VERSION
#define ARGUS_VERSION "dev"
#endif

namespace argus::agent {

using nlohmann::json;

namespace {

// Sleeps until `clock` has moved on by `d`, looking at `stop` every 200 ms: prompt
// enough for a stop, and few wake-ups for an idle agent (the flag is set by a signal
// handler, which cannot notify a condition variable).
void SleepFor(const base::Clock& clock, std::chrono::steady_clock::duration d, const std::atomic<bool>& stop) {
  base::SleepFor(clock, d, [&stop] { return stop.load(); }, std::chrono::milliseconds(200));
}

// Sizes that follow from the memory budget, and settings every part shares.
AgentOptions Derive(AgentOptions o) {
  const size_t budget = o.memory_budget_bytes;
  // Half for the queues, an eighth per batch in flight, a quarter for script output.
  o.ship.max_bytes = std::min(o.ship.max_bytes, budget / 8);
  o.cron.max_output_bytes = std::min<size_t>(1024 * 1024, budget / 4 / std::max<size_t>(o.cron.max_parallel, 1));
  o.cron.host = o.host;
  return o;
}

// Bytes the tail loop reads in one pass: a sixteenth of the budget, 64 KiB to 4 MiB.
size_t ReadChunk(const AgentOptions& o) {
  return std::clamp<size_t>(o.memory_budget_bytes / 16, 64 * 1024, 4 * 1024 * 1024);
}

// An id that repeats within one interval slot, so a restarted agent does not double it.
std::string SlotId(char prefix, const std::string& host, const std::string& type, int64_t slot) {
  return std::string(1, prefix) + proto::Hex64(proto::HashParts({host, type})) + "-" + std::to_string(slot);
}

int64_t SlotOf(int64_t now_ms, std::chrono::seconds interval) {
  int64_t ms = std::max<int64_t>(interval.count(), 1) * 1000;
  return now_ms - now_ms % ms;
}

}  // namespace

std::string LineEventId(const std::string& host, const Line& line) {
  // The hash depends on the file only; lines come file by file, so keep the last one.
  thread_local std::string last_host, prefix;
  thread_local FileIdentity last_id;
  if (prefix.empty() || line.id != last_id || host != last_host) {
    prefix = "l" +
             proto::Hex64(proto::HashParts({host, std::to_string(line.id.dev), std::to_string(line.id.ino),
                                            std::to_string(line.id.gen)})) +
             "-";
    last_id = line.id;
    last_host = host;
  }
  return prefix + std::to_string(line.offset);
}

Agent::Agent(AgentOptions options, ConfigSources sources, const base::Clock& clock)
    : clock_(clock),
      initial_(Derive(std::move(options))),
      sources_(std::move(sources)),
      live_(std::make_shared<const AgentOptions>(initial_)),
      checkpoints_(initial_.state_dir),
      outbox_(std::max<size_t>(1000, initial_.memory_budget_bytes / 256), initial_.memory_budget_bytes / 2),
      tailer_(checkpoints_, initial_.tail, clock_) {}

Agent::~Agent() = default;

std::shared_ptr<const AgentOptions> Agent::live() const {
  std::lock_guard lock(live_mu_);
  return live_;
}

void Agent::TailLoop(const std::atomic<bool>& stop) {
  uint64_t generation = UINT64_MAX;
  std::shared_ptr<const AgentOptions> o;
  std::vector<Line> lines;
  std::vector<Progress> progress;
  while (!stop.load()) {
    if (generation != generation_.load()) {
      generation = generation_.load();
      o = live();
      std::vector<TailSource> sources;
      for (const auto& f : o->files) sources.push_back({f.path, f.from_head.value_or(o->from_head)});
      tailer_.SetSources(std::move(sources));
    }
    lines.clear();
    progress.clear();
    tailer_.Poll(&lines, &progress, ReadChunk(*o));
    const int64_t now = clock_.WallMs();
    for (const auto& line : lines) {
      if (line.source >= o->files.size()) continue;  // from a file the config no longer follows
      auto m = Apply(o->files[line.source].rules, line.text, &rule_counters_);
      if (!m) continue;
      proto::Event e;
      e.type = m->rule->type;
      e.host = o->host;
      e.ts = now;
      e.id = LineEventId(o->host, line);
      e.priority = m->rule->priority;
      e.content = std::move(m->content);
      if (!outbox_.Push(EventItem(e))) return;
    }
    for (auto& p : progress) {
      Item marker;
      marker.progress = std::move(p);
      if (!outbox_.Push(std::move(marker))) return;
    }
    // Keep reading without a pause while a file has a backlog.
    if (lines.empty()) SleepFor(clock_, o->poll_interval, stop);
  }
}

void Agent::CronLoop(const std::atomic<bool>& stop) {
  uint64_t generation = generation_.load();
  while (!stop.load()) {
    if (generation != generation_.load()) {
      generation = generation_.load();
      cron_->SetOptions(live()->cron);
    }
    for (auto& e : cron_->RunDue(clock_.Wall())) {
      if (!outbox_.Push(EventItem(e))) break;
    }
    // New scripts are noticed within a second.
    SleepFor(clock_, std::chrono::seconds(1), stop);
  }
  // A bounded stop: scripts still running are stopped, not waited for.
  cron_->Cancel();
}

json Agent::Heartbeat() const {
  auto o = live();
  const auto& t = tailer_.counters();
  const auto& s = shipper_->counters();
  const auto& sp = shipper_->spool_counters();
  auto cron = cron_->counters();
  json counters = {
      {"lines_read", t.lines.load()},
      {"bytes_read", t.bytes.load()},
      {"matched", rule_counters_.matched.load()},
      {"sampled_out", rule_counters_.sampled_out.load()},
      {"extract_failed", rule_counters_.extract_failed.load()},
      {"queued", outbox_.counters().queued.load()},
      {"sent", s.sent.load()},
      {"batches", s.batches.load()},
      {"retried", s.retries.load()},
      {"rejected", s.rejected.load()},
      {"refused_batches", s.refused.load()},
      {"spooled", sp.spooled.load()},
      {"replayed", sp.replayed.load()},
      {"dropped", s.dropped.load() + sp.dropped.load()},
      {"read_paused", outbox_.counters().paused.load()},
      {"skipped_bytes", t.skipped_bytes.load()},
      {"long_lines", t.long_lines.load()},
      {"truncations", t.truncations.load()},
      {"rotations", t.rotations.load()},
      {"lost_files", t.lost_files.load()},
      {"refused_links", t.refused_links.load()},
      {"disk_timeouts", disk_timeouts_.load()},
      {"cron_runs", cron.runs},
      {"cron_failures", cron.failures},
      {"cron_timeouts", cron.timeouts},
      {"cron_skipped", cron.skipped},
      {"cron_refused", cron.refused},
      {"config_reloads", config_reloads_.load()},
      {"config_errors", config_errors_.load()},
  };
  return {{"version", ARGUS_VERSION},
          {"uptime_s", std::chrono::duration_cast<std::chrono::seconds>(clock_.Steady() - started_).count()},
          {"interval_s", o->heartbeat_interval.count()},
          {"labels", o->labels},
          {"files", t.files.load()},
          {"queue_events", outbox_.size()},
          {"spool_bytes", sp.bytes.load()},
          {"counters", counters}};
}

void Agent::SamplerLoop(const std::atomic<bool>& stop) {
  SystemSampler sampler("/proc", nullptr, std::chrono::seconds(5), clock_);
  sampler.Sample(0);  // the baseline for the first rates
  auto now = clock_.Steady();
  auto next_heartbeat = now;  // one at once, so the dash knows the host from the start
  auto next_system = now + live()->system_interval;
  while (!stop.load()) {
    auto o = live();
    now = clock_.Steady();
    const int64_t wall = clock_.WallMs();
    if (now >= next_heartbeat) {
      proto::Event e;
      e.type = "argus.agent";
      e.host = o->host;
      e.ts = wall;
      e.id = SlotId('a', o->host, e.type, SlotOf(wall, o->heartbeat_interval));
      e.content = Heartbeat().dump();
      if (!outbox_.Push(EventItem(e))) return;
      next_heartbeat = now + o->heartbeat_interval;
    }
    if (now >= next_system) {
      auto sample = sampler.Sample(static_cast<int>(o->system_interval.count()));
      disk_timeouts_ = sampler.disk_timeouts();
      if (sample) {
        proto::Event e;
        e.type = "system";
        e.host = o->host;
        e.ts = wall;
        e.id = SlotId('s', o->host, e.type, SlotOf(wall, o->system_interval));
        e.content = sample->dump(-1, ' ', false, json::error_handler_t::replace);
        if (!outbox_.Push(EventItem(e))) return;
      }
      next_system = now + o->system_interval;
    }
    SleepFor(clock_, std::min({next_heartbeat, next_system, now + std::chrono::seconds(1)}) - now, stop);
  }
}

std::optional<json> Agent::Pull(std::string* etag) {
  const auto& ship = initial_.ship;
  for (size_t i = 0; i < ship.proxies.size(); ++i) {
    http::Client client(ship.proxies[i], std::chrono::seconds(10), ship.tls);
    std::map<std::string, std::string> headers{{"Authorization", "Bearer " + ship.token}};
    if (!etag->empty()) headers["If-None-Match"] = *etag;
    auto res = client.Request("GET", "/api/v1/config", "", headers);
    if (res.ok() && res.status == 304) return std::nullopt;
    if (!res.ok() || res.status != 200) {
      spdlog::debug("config pull from {}: {}", ship.proxies[i].ToString(),
                    res.ok() ? std::to_string(res.status) : res.error);
      continue;
    }
    auto j = json::parse(res.body, nullptr, false);
    if (j.is_discarded() || !j.contains("config") || !j["config"].is_object()) {
      ++config_errors_;
      spdlog::error("config pull from {}: the answer is not {{\"config\":{{…}}}}; keeping the current config",
                    ship.proxies[i].ToString());
      return std::nullopt;
    }
    auto it = res.headers.find("etag");
    *etag = it == res.headers.end() ? "" : it->second;
    if (j["config"] == remote_) return std::nullopt;
    return j["config"];
  }
  return std::nullopt;  // no proxy answered: the config in use stays
}

bool Agent::Rebuild(const std::string& why) {
  AgentOptions next;
  if (base::Status s = BuildOptions(AgentOptions{}, sources_, remote_, &next); !s.ok()) {
    ++config_errors_;
    spdlog::error("config ({}): {}; keeping the last good config", why, s.message());
    return false;
  }
  next = Derive(std::move(next));
  auto current = live();
  // What the running parts were built with changes only at a restart.
  std::vector<std::pair<const char*, bool>> fixed = {
      {"host", next.host != current->host},
      {"state_dir", next.state_dir != current->state_dir},
      {"token", next.ship.token != current->ship.token},
      {"proxies", next.ship.proxies.size() != current->ship.proxies.size()},
      {"batch", next.ship.max_events != current->ship.max_events || next.ship.max_delay != current->ship.max_delay},
      {"spool", next.ship.spool_max_bytes != current->ship.spool_max_bytes},
      {"memory_budget_bytes", next.memory_budget_bytes != current->memory_budget_bytes},
  };
  for (const auto& [key, changed] : fixed) {
    if (changed) spdlog::warn("config ({}): '{}' changed; it takes effect at the next restart", why, key);
  }
  next.host = current->host;
  next.state_dir = current->state_dir;
  next.ship = current->ship;
  next.memory_budget_bytes = current->memory_budget_bytes;
  next.cron.host = current->host;
  size_t files = next.files.size();
  {
    std::lock_guard lock(live_mu_);
    live_ = std::make_shared<const AgentOptions>(std::move(next));
  }
  ++generation_;
  ++config_reloads_;
  spdlog::info("config applied ({}): {} file patterns", why, files);
  return true;
}

void Agent::ConfigLoop(const std::atomic<bool>& stop, std::atomic<bool>* reload) {
  std::string etag;
  auto next_pull = clock_.Steady();  // at once: start on the remote config if a proxy has one
  while (!stop.load()) {
    if (reload && reload->exchange(false)) {
      if (sources_.local_path.empty()) {
        spdlog::info("SIGHUP: no --config file to reload");
      } else {
        json local;
        if (base::Status s = base::ReadJsonFile(sources_.local_path, &local); !s.ok()) {
          ++config_errors_;
          spdlog::error("SIGHUP: {}; keeping the current config", s.message());
        } else {
          json previous = std::exchange(sources_.local, local);
          // A local file that does not build is not kept for later rebuilds either.
          if (!Rebuild("SIGHUP, " + sources_.local_path)) sources_.local = std::move(previous);
        }
      }
    }
    if (clock_.Steady() >= next_pull) {
      if (auto fresh = Pull(&etag)) {
        json previous = std::exchange(remote_, std::move(*fresh));
        // Not usable: the last good remote config stays the one rebuilt from.
        if (!Rebuild("remote config " + etag)) remote_ = std::move(previous);
      }
      next_pull = clock_.Steady() + live()->config_pull_interval;
    }
    SleepFor(clock_, std::chrono::milliseconds(500), stop);
  }
}

void Agent::Run(const std::atomic<bool>& stop, std::atomic<bool>* reload) {
  shipper_ = std::make_unique<Shipper>(initial_.ship, outbox_, checkpoints_, initial_.state_dir + "/spool", clock_);
  cron_ = std::make_unique<CronRunner>(initial_.cron, clock_);
  std::thread tail([&] { TailLoop(stop); });
  std::thread cron([&] { CronLoop(stop); });
  std::thread sampler([&] { SamplerLoop(stop); });
  std::thread config([&] { ConfigLoop(stop, reload); });
  shipper_->Run(stop);
  // The shipper closed the outbox, which releases producers blocked on a full queue.
  outbox_.Close();
  tail.join();
  cron.join();
  sampler.join();
  config.join();
  const auto& c = shipper_->counters();
  const auto& sp = shipper_->spool_counters();
  spdlog::info("argus-agent stopped: {} events sent in {} batches, {} retries, {} refused, {} dropped; {} batches "
               "wait in the spool",
               c.sent.load(), c.batches.load(), c.retries.load(), c.rejected.load(), c.dropped.load() + sp.dropped.load(),
               sp.batches.load());
}

}  // namespace argus::agent
