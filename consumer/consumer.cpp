#include "consumer/consumer.h"

#include <thread>

#include <spdlog/spdlog.h>

#include "proto/event.h"

namespace argus::consumer {

Consumer::Consumer(ConsumerOptions options)
    : options_(std::move(options)), redis_(options_.redis) {
  db_ = store::Database::Open(options_.db_path);
  writer_ = std::make_unique<store::EventWriter>(*db_);
  for (const auto& name : options_.aggregators) {
    auto it = Registry().find(name);
    if (it == Registry().end()) {
      std::string known;
      for (const auto& [n, f] : Registry()) known += (known.empty() ? "" : ", ") + n;
      throw std::runtime_error("unknown aggregator '" + name + "' (known: " + known + ")");
    }
    aggregators_.push_back(it->second(*db_));
  }
  if (options_.type != "all") {
    readers_.emplace(options_.type, queue::GroupReader(options_.type, options_.shards, options_.name));
  }
}

void Consumer::RefreshTypes() {
  auto now = std::chrono::steady_clock::now();
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
    if (auto err = reader.EnsureGroups(redis_); !err.empty()) throw std::runtime_error(err);
  }
}

size_t Consumer::RunOnce() {
  ++stats_.rounds;
  std::vector<queue::Entry> entries;
  std::map<std::string, std::vector<queue::Entry>> by_type;
  try {
    RefreshTypes();
    for (auto& [type, reader] : readers_) {
      std::vector<queue::Entry> got;
      if (auto err = reader.Read(redis_, options_.batch, &got); !err.empty()) {
        throw std::runtime_error(err);
      }
      if (!got.empty()) by_type[type] = std::move(got);
    }
    std::vector<proto::Event> events;
    size_t handled = 0;
    for (auto& [type, got] : by_type) {
      for (const auto& entry : got) {
        ++handled;
        proto::Event e;
        std::string err = entry.payload.empty() ? "entry has no event field"
                                                : proto::Deserialize(entry.payload, &e);
        if (!err.empty()) {
          // The proxy validated it, so this is corruption or a foreign writer: keep
          // the evidence in the log and move on rather than block the type.
          ++stats_.invalid;
          spdlog::error("consumer {}: skipping entry {} of {}: {}", options_.name, entry.id,
                        entry.stream, err);
          continue;
        }
        events.push_back(std::move(e));
      }
    }
    stats_.read += handled;
    if (!events.empty()) {
      // Raw rows and every aggregate in one transaction: all of the batch or none.
      store::Transaction tx(*db_);
      std::vector<size_t> fresh_index;
      auto result = writer_->Insert(events, &fresh_index);
      std::vector<const proto::Event*> fresh;
      fresh.reserve(fresh_index.size());
      for (size_t i : fresh_index) fresh.push_back(&events[i]);
      for (auto& aggregator : aggregators_) aggregator->Apply(fresh);
      tx.Commit();
      stats_.stored += result.stored;
      stats_.duplicates += result.duplicates;
    }
    // Only now, with the transaction committed, may Redis forget the entries.
    for (auto& [type, got] : by_type) {
      if (auto err = readers_.at(type).Ack(redis_, got); !err.empty()) throw std::runtime_error(err);
    }
    consecutive_errors_ = 0;
    return handled;
  } catch (const std::exception& e) {
    ++stats_.errors;
    ++consecutive_errors_;
    spdlog::warn("consumer {}: {} (entries stay pending and will be read again)", options_.name,
                 e.what());
    for (auto& [type, reader] : readers_) reader.RereadPending();
    return 0;
  }
}

void Consumer::Run(const std::atomic<bool>& stop) {
  while (!stop.load()) {
    size_t n = RunOnce();
    if (consecutive_errors_ > 0) {
      // Back off 100 ms, 200 ms, ... up to 5 s: no crash loop while Redis or the disk is away.
      auto wait = std::chrono::milliseconds(100) * (1 << std::min(consecutive_errors_ - 1, 6));
      std::this_thread::sleep_for(std::min(wait, std::chrono::milliseconds(5000)));
    } else if (n == 0) {
      std::this_thread::sleep_for(options_.idle_poll);
    }
  }
}

}  // namespace argus::consumer
