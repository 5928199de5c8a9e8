#include "agent/shipper.h"

#include <thread>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace argus::agent {

using Clock = std::chrono::steady_clock;

Shipper::Shipper(ShipperOptions options, Outbox& outbox, Checkpoints& checkpoints)
    : options_(std::move(options)), outbox_(outbox), checkpoints_(checkpoints) {
  for (const auto& p : options_.proxies) {
    clients_.push_back(std::make_unique<http::Client>(p, options_.request_timeout, options_.tls));
  }
}

Shipper::Outcome Shipper::Send(const std::string& body, size_t events, std::chrono::milliseconds* retry_after) {
  auto& client = *clients_[current_];
  auto res = client.Request("POST", "/api/v1/events", body,
                            {{"Authorization", "Bearer " + options_.token}});
  *retry_after = std::chrono::milliseconds(0);
  if (!res.ok()) {
    spdlog::warn("ship: {}", res.error);
    return Outcome::kRetry;
  }
  if (auto it = res.headers.find("retry-after"); it != res.headers.end()) {
    try {
      *retry_after = std::chrono::seconds(std::min(std::stol(it->second), 300L));
    } catch (...) {
    }
  }
  if (res.status == 200) {
    auto j = nlohmann::json::parse(res.body, nullptr, false);
    if (!j.is_discarded() && j.contains("rejected") && j["rejected"].is_array()) {
      for (const auto& r : j["rejected"]) {
        ++counters_.rejected;
        spdlog::warn("ship: proxy refused event {} of a batch: {}", r.value("index", -1), r.value("error", ""));
      }
    }
    counters_.sent += events;
    return Outcome::kDone;
  }
  std::string error = res.body.substr(0, 300);
  if (res.status == 401 || res.status == 403) {
    // A wrong token is an operator's fix away; keep the data and wait for it.
    spdlog::error("ship: {} refuses our token ({}): {}", client.server().ToString(), res.status, error);
    *retry_after = std::max<std::chrono::milliseconds>(*retry_after, std::chrono::seconds(30));
    return Outcome::kRetry;
  }
  if (res.status == 408 || res.status == 429 || res.status >= 500) {
    spdlog::warn("ship: {} answered {}: {}", client.server().ToString(), res.status, error);
    return Outcome::kRetry;
  }
  spdlog::error("ship: {} refused a batch of {} events for good ({}): {}", client.server().ToString(),
                events, res.status, error);
  return Outcome::kDrop;
}

void Shipper::Acknowledge(const std::vector<Item>& batch) {
  for (const auto& item : batch) {
    if (!item.progress) continue;
    if (item.progress->retire) {
      checkpoints_.Retire(item.progress->cp.id);
    } else {
      checkpoints_.Advance(item.progress->cp);
    }
  }
  checkpoints_.Save();
}

void Shipper::Run(const std::atomic<bool>& stop) {
  std::chrono::milliseconds backoff = options_.min_backoff;
  std::optional<Clock::time_point> flush_deadline;
  while (true) {
    if (stop.load() && !flush_deadline) {
      flush_deadline = Clock::now() + options_.flush_timeout;
      outbox_.Close();
    }
    auto batch = outbox_.PopBatch(options_.max_events, options_.max_bytes, options_.max_delay);
    if (batch.empty()) {
      if (flush_deadline) return;  // closed and drained
      continue;
    }
    std::string body = "{\"events\":[";
    size_t events = 0;
    for (const auto& item : batch) {
      if (!item.event) continue;
      if (events++) body += ',';
      body += item.serialized;
    }
    body += "]}";
    while (events > 0) {
      std::chrono::milliseconds retry_after{0};
      Outcome outcome = Send(body, events, &retry_after);
      if (outcome == Outcome::kDone) {
        ++counters_.batches;
        backoff = options_.min_backoff;
        break;
      }
      if (outcome == Outcome::kDrop) {
        counters_.dropped += events;
        break;
      }
      ++counters_.retries;
      current_ = (current_ + 1) % clients_.size();
      // Full jitter keeps a thousand agents from returning in step.
      auto jitter = std::uniform_int_distribution<int64_t>(backoff.count() / 2, backoff.count())(rng_);
      auto wait = std::max(retry_after, std::chrono::milliseconds(jitter));
      backoff = std::min(backoff * 2, options_.max_backoff);
      if (flush_deadline && Clock::now() + wait > *flush_deadline) {
        spdlog::warn("ship: stopping with {} events unsent; log lines among them are read again on restart", events);
        return;
      }
      // Sleep in slices so a stop request is noticed.
      auto until = Clock::now() + wait;
      while (Clock::now() < until && !(stop.load() && !flush_deadline)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (stop.load() && !flush_deadline) {
        flush_deadline = Clock::now() + options_.flush_timeout;
        outbox_.Close();
      }
    }
    Acknowledge(batch);
  }
}

}  // namespace argus::agent
