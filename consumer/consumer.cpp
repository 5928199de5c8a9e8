#include "consumer/consumer.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include <spdlog/spdlog.h>

#include "base/file.h"
#include "proto/event.h"
#include "queue/inspect.h"

namespace argus::consumer {
namespace {

// A round stops at its first Redis error: entries stay pending and are read again, and
// RunOnce counts and logs the error once.
void OrAbandonRound(const base::Status& s) {
  if (!s.ok()) throw std::runtime_error(s.message());
}

}  // namespace

base::Status LoadConsumerConfig(const std::string& path, ConsumerOptions* options) {
  nlohmann::json j;
  if (base::Status s = base::ReadJsonFile(path, &j); !s.ok()) return s;
  if (!j.is_object()) return base::Status::Invalid("not a JSON object");
  for (const auto& [key, v] : j.items()) {
    if (key == "settings") {
      if (!v.is_object()) return base::Status::Invalid("'settings' must be an object of aggregator name -> settings object");
      for (const auto& [name, object] : v.items()) {
        if (!Registry().count(name)) return base::Status::Invalid("settings." + name + ": no aggregator has that name");
        if (!object.is_object()) return base::Status::Invalid("settings." + name + " must be an object");
      }
      options->settings = v;
      continue;
    }
    if (key != "aggregators") return base::Status::Invalid("unknown key '" + key + "' (allowed: aggregators, settings)");
    if (!v.is_object()) return base::Status::Invalid("'aggregators' must be an object of type -> [names]");
    for (const auto& [type, names] : v.items()) {
      if (type != "*" && !proto::IsValidType(type)) return base::Status::Invalid("aggregators." + type + ": not an event type nor \"*\"");
      if (!names.is_array()) return base::Status::Invalid("aggregators." + type + ": must be an array of aggregator names");
      std::vector<std::string> list;
      for (const auto& n : names) {
        if (!n.is_string()) return base::Status::Invalid("aggregators." + type + ": names must be strings");
        list.push_back(n.get<std::string>());
      }
      if (type == "*") {
        options->aggregators = list;
      } else {
        options->aggregators_by_type[type] = list;
      }
    }
  }
  return {};
}

Consumer::Consumer(ConsumerOptions options, const base::Clock& clock)
    : options_(std::move(options)), clock_(clock), redis_(options_.redis) {
  // Housekeeping waits one period: a consumer restarted in a loop does not repeat it.
  next_housekeeping_ = clock_.Steady() + options_.housekeeping_every;
  using K = http::Metrics::Kind;
  for (const char* name :
       {"read", "stored", "duplicates", "invalid", "errors", "claimed", "dead_lettered", "trimmed"}) {
    metrics_.Describe(std::string("argus_consumer_") + name + "_total", K::kCounter,
                      std::string("Stream entries ") + name + " by this consumer.");
  }
  metrics_.Describe("argus_consumer_last_batch_seconds", K::kGauge, "Time to store the last batch.");
  metrics_.Describe("argus_consumer_events_expired_total", K::kCounter, "Raw events removed by retention.");
  metrics_.Describe("argus_consumer_lag", K::kGauge, "Events of this consumer's types not yet stored.");
  metrics_.Describe("argus_consumer_derived_total", K::kCounter,
                    "Events the aggregators derived and stored (argus.host changes).");
  metrics_.Describe("argus_consumer_aggregate_rows_expired_total", K::kCounter,
                    "Rows of aggregators' tables removed by retention.");
  db_ = store::Database::Open(options_.db_path);
  writer_ = std::make_unique<store::EventWriter>(*db_);
  std::vector<std::string> names = options_.aggregators;
  for (const auto& [type, list] : options_.aggregators_by_type) names.insert(names.end(), list.begin(), list.end());
  auto emit = [this](const proto::Event& e) {
    if (writer_->InsertDerived(e)) ++stats_.derived;
  };
  for (const auto& name : names) {
    if (aggregators_.count(name)) continue;
    static const nlohmann::json kNone = nlohmann::json::object();
    const nlohmann::json& settings = options_.settings.contains(name) ? options_.settings.at(name) : kNone;
    aggregators_.emplace(name, BuildAggregator(name, {*db_, settings, emit, clock_}));
  }
  if (options_.type != "all") {
    readers_.emplace(options_.type, queue::GroupReader(options_.type, options_.shards, options_.name));
  }
}

void Consumer::RefreshTypes() {
  auto now = clock_.Steady();
  if (now < next_refresh_) return;
  next_refresh_ = now + options_.types_refresh;
  if (options_.type == "all") {
    auto reply = redis_.Run({"SMEMBERS", std::string(queue::kTypesKey)});
    if (!reply.ok()) throw std::runtime_error(reply.error);
    for (const auto& type : reply.strings()) {
      if (!proto::IsValidType(type) || readers_.count(type)) continue;
      spdlog::info("consumer {}: following new type '{}'", options_.name, type);
      readers_.emplace(type, queue::GroupReader(type, options_.shards, options_.name));
    }
  }
  // Groups may vanish (Redis restarted without persistence): make sure they exist.
  for (auto& [type, reader] : readers_) {
    OrAbandonRound(reader.EnsureGroups(redis_));
  }
}

void Consumer::Publish() {
  auto now = clock_.Steady();
  if (now < next_publish_) return;
  next_publish_ = now + options_.publish_every;
  int64_t lag = 0;
  for (auto& [type, reader] : readers_) {
    int64_t n = 0;
    OrAbandonRound(queue::TypeBacklog(redis_, type, options_.shards, &n));
    lag += n;
  }
  stats_.lag = lag;
  const auto& s = stats_;
  metrics_.Set("argus_consumer_events_expired_total", {}, double(s.events_expired));
  metrics_.Set("argus_consumer_aggregate_rows_expired_total", {}, double(s.aggregate_rows_expired));
  std::vector<std::pair<std::string, double>> values = {
      {"read", double(s.read)},         {"stored", double(s.stored)},   {"duplicates", double(s.duplicates)},
      {"invalid", double(s.invalid)},   {"errors", double(s.errors)},   {"claimed", double(s.claimed)},
      {"dead_lettered", double(s.dead_lettered)}, {"trimmed", double(s.trimmed)}, {"derived", double(s.derived)},
      {"last_batch_seconds", s.last_batch_seconds}, {"lag", double(s.lag)}};
  std::vector<std::pair<std::string, std::string>> fields = {{"type", options_.type}};
  for (const auto& [k, v] : values) {
    // Counts as integers; only the latency has a fraction.
    fields.emplace_back(k, k == "last_batch_seconds" ? std::to_string(v) : std::to_string(static_cast<int64_t>(v)));
    if (k == "last_batch_seconds" || k == "lag") {
      metrics_.Set("argus_consumer_" + k, {}, v);
    } else {
      metrics_.Set("argus_consumer_" + k + "_total", {}, v);
    }
  }
  const auto ttl_s = std::chrono::duration_cast<std::chrono::seconds>(options_.publish_every * 6).count();
  OrAbandonRound(queue::PublishStats(redis_, "consumer", options_.name, clock_.WallMs(), fields, ttl_s));
}

void Consumer::Housekeeping() {
  auto now = clock_.Steady();
  if (now < next_housekeeping_) return;
  next_housekeeping_ = now + options_.housekeeping_every;
  try {
    const int64_t now_ms = clock_.WallMs();
    auto r = store::RunRetention(*db_, options_.retention, now_ms);
    stats_.events_expired += static_cast<uint64_t>(r.events_deleted);
    if (r.events_deleted) {
      spdlog::info("consumer {}: retention removed {} events{}", options_.name, r.events_deleted,
                   r.done ? "" : " (more next time)");
    }
    // Aggregators' own tables (rollups folded and expired among them), a small
    // transaction at a time.
    constexpr int64_t kDay = 86400000;
    const int64_t raw_cutoff = now_ms - options_.retention.raw_days * kDay;
    const int64_t summary_cutoff = now_ms - options_.retention.hourly_days * kDay;
    for (auto& [name, aggregator] : aggregators_) {
      for (int64_t step = 0; step < options_.retention.max_steps; ++step) {
        store::Transaction tx(*db_);
        int64_t n = aggregator->Expire(raw_cutoff, summary_cutoff);
        tx.Commit();
        stats_.aggregate_rows_expired += static_cast<uint64_t>(n);
        if (n == 0) break;
        if (step + 1 == options_.retention.max_steps) r.done = false;
      }
    }
    if (!r.done) next_housekeeping_ = now;  // a backlog of old data: go on next round
  } catch (const std::exception& e) {
    spdlog::warn("consumer {}: housekeeping failed, will try again: {}", options_.name, e.what());
  }
}

void Consumer::Tick(bool drained) {
  auto now = clock_.Steady();
  // Only with the streams drained is an aggregator's view current: a consumer catching
  // up after downtime must not judge hosts silent whose heartbeats it has not read yet.
  if (!drained || now < next_tick_) return;
  next_tick_ = now + options_.tick_every;
  const int64_t now_ms = clock_.WallMs();
  for (auto& [name, aggregator] : aggregators_) {
    try {
      store::Transaction tx(*db_);
      aggregator->Tick(now_ms);
      tx.Commit();
    } catch (const std::exception& e) {
      spdlog::warn("consumer {}: aggregator {}: tick failed, will try again: {}", options_.name, name, e.what());
    }
  }
}

void Consumer::ClaimIdle() {
  auto now = clock_.Steady();
  if (now < next_claim_) return;
  next_claim_ = now + options_.claim_every;
  for (auto& [type, reader] : readers_) {
    int64_t n = 0;
    OrAbandonRound(reader.ClaimIdle(redis_, options_.claim_idle, &n));
    if (n > 0) {
      stats_.claimed += static_cast<uint64_t>(n);
      spdlog::info("consumer {}: took over {} entries of '{}' idle in other consumers", options_.name, n, type);
    }
    // Keep Redis memory bounded: drop what every consumer of the type acknowledged.
    int64_t trimmed = 0;
    OrAbandonRound(queue::TrimAcknowledged(redis_, type, options_.shards, &trimmed));
    stats_.trimmed += static_cast<uint64_t>(trimmed);
  }
}

void Consumer::Isolate(const std::vector<proto::Event>& events, const std::vector<Source>& sources,
                       std::vector<bool>* stored, std::vector<Dead>* dead) {
  // The batch failed: store its events one by one to find those that fail on their own.
  for (size_t i = 0; i < events.size(); ++i) {
    try {
      Store({events[i]});
    } catch (const store::StoreError& e) {
      if (e.transient()) throw;
      Failed(sources[i], e.what(), stored, i, dead);
    } catch (const std::exception& e) {
      Failed(sources[i], e.what(), stored, i, dead);
    }
  }
}

void Consumer::Failed(const Source& source, const std::string& error, std::vector<bool>* stored, size_t i,
                      std::vector<Dead>* dead) {
  (*stored)[i] = false;
  const auto& [type, entry] = source;
  int& n = failures_[entry->stream + " " + entry->id];
  ++n;
  spdlog::warn("consumer {}: entry {} of {} failed ({} of {} tries): {}", options_.name, entry->id, entry->stream, n,
               options_.max_attempts, error);
  if (n >= options_.max_attempts) dead->push_back({type, entry, error});
}

const std::vector<std::string>& Consumer::AggregatorsFor(const std::string& type) const {
  auto it = options_.aggregators_by_type.find(type);
  return it == options_.aggregators_by_type.end() ? options_.aggregators : it->second;
}

void Consumer::Store(const std::vector<proto::Event>& events) {
  auto started = std::chrono::steady_clock::now();  // a measurement: real time, whatever the clock
  // Raw rows and every aggregate in one transaction: all of the batch or none.
  store::Transaction tx(*db_);
  std::vector<size_t> fresh_index;
  auto result = writer_->Insert(events, &fresh_index);
  // Each aggregator sees the fresh events of the types it is configured for.
  std::map<std::string, std::vector<const proto::Event*>> fresh;
  for (size_t i : fresh_index) {
    for (const auto& name : AggregatorsFor(events[i].type)) fresh[name].push_back(&events[i]);
  }
  for (auto& [name, list] : fresh) aggregators_.at(name)->Apply(list);
  tx.Commit();
  stats_.stored += result.stored;
  stats_.duplicates += result.duplicates;
  stats_.last_batch_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

size_t Consumer::RunOnce() {
  ++stats_.rounds;
  try {
    RefreshTypes();
    ClaimIdle();
    Publish();
    std::map<std::string, std::vector<queue::Entry>> by_type;
    bool drained = true;  // every shard returned less than a full read
    for (auto& [type, reader] : readers_) {
      std::vector<queue::Entry> got;
      OrAbandonRound(reader.Read(redis_, options_.batch, &got));
      drained = drained && got.size() < options_.batch;
      if (!got.empty()) by_type[type] = std::move(got);
    }
    std::vector<Dead> dead;
    std::vector<proto::Event> events;
    std::vector<Source> sources;  // per event: its type and entry
    size_t handled = 0;
    for (auto& [type, got] : by_type) {
      for (const auto& entry : got) {
        ++handled;
        proto::Event e;
        std::string err = entry.payload.empty() ? "entry has no event field" : proto::Deserialize(entry.payload, &e).message();
        if (!err.empty()) {
          // The proxy validated it, so this is corruption or a foreign writer: no retry
          // will help. Keep it, with why, where an operator can look.
          ++stats_.invalid;
          dead.push_back({type, &entry, err});
          continue;
        }
        events.push_back(std::move(e));
        sources.emplace_back(type, &entry);
      }
    }
    stats_.read += handled;
    std::vector<bool> stored(events.size(), true);
    if (!events.empty()) {
      try {
        Store(events);
      } catch (const store::StoreError& e) {
        if (e.transient()) throw;  // the database, not the data: keep all pending, back off
        Isolate(events, sources, &stored, &dead);
      } catch (const std::exception&) {
        Isolate(events, sources, &stored, &dead);
      }
    }
    for (const auto& d : dead) {
      OrAbandonRound(readers_.at(d.type).DeadLetter(redis_, *d.entry, d.error));
      failures_.erase(d.entry->stream + " " + d.entry->id);
      ++stats_.dead_lettered;
      spdlog::error("consumer {}: entry {} of {} moved to {}: {}", options_.name, d.entry->id, d.entry->stream,
                    queue::DeadLetterKey(d.type), d.error);
    }
    // Only now, with the transaction committed, may Redis forget the entries. Entries
    // that failed stay pending and are read again.
    std::map<std::string, std::vector<queue::Entry>> done;
    for (size_t i = 0; i < events.size(); ++i) {
      if (!stored[i]) continue;
      const auto& [type, entry] = sources[i];
      done[type].push_back(*entry);
      failures_.erase(entry->stream + " " + entry->id);
    }
    for (auto& [type, entries] : done) {
      OrAbandonRound(readers_.at(type).Ack(redis_, entries));
    }
    if (std::find(stored.begin(), stored.end(), false) != stored.end()) {
      for (auto& [type, reader] : readers_) reader.RereadPending();
    }
    consecutive_errors_ = 0;
    Tick(drained && std::find(stored.begin(), stored.end(), false) == stored.end());
    Housekeeping();
    return handled;
  } catch (const std::exception& e) {
    ++stats_.errors;
    ++consecutive_errors_;
    spdlog::warn("consumer {}: {} (entries stay pending and will be read again)", options_.name, e.what());
    for (auto& [type, reader] : readers_) reader.RereadPending();
    return 0;
  }
}

void Consumer::Run(const std::atomic<bool>& stop) {
  while (!stop.load()) {
    size_t n = RunOnce();
    if (consecutive_errors_ > 0) {
      // Back off 100 ms, 200 ms, ... up to 5 s: no crash loop while Redis or the disk is away.
      auto wait = std::chrono::milliseconds(100) * (1 << std::min(consecutive_errors_.load() - 1, 6));
      std::this_thread::sleep_for(std::min(wait, std::chrono::milliseconds(5000)));
    } else if (n == 0) {
      std::this_thread::sleep_for(options_.idle_poll);
    }
  }
}

}  // namespace argus::consumer
