#include "agent/shipper.h"

#include <thread>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "http/encoding.h"

namespace argus::agent {

using std::chrono::milliseconds;

Shipper::Shipper(ShipperOptions options, Outbox& outbox, Checkpoints& checkpoints, const std::string& spool_dir,
                 const base::Clock& clock)
    : options_(std::move(options)),
      outbox_(outbox),
      checkpoints_(checkpoints),
      spool_(spool_dir, options_.spool_max_bytes),
      clock_(clock),
      backoff_(options_.min_backoff) {
  for (const auto& p : options_.proxies) {
    clients_.push_back(std::make_unique<http::Client>(p, options_.request_timeout, options_.tls));
  }
}

Shipper::Batch Shipper::Build(std::vector<Item> items) const {
  Batch b;
  b.body = "{\"events\":[";
  for (const auto& item : items) {
    if (b.events++) b.body += ',';
    b.body += item.serialized;
    b.seqs.push_back(item.seq);
  }
  b.body += "]}";
  if (b.body.size() >= options_.gzip_min_bytes) {
    // Level 1: JSON shrinks several-fold already, for a fraction of the CPU of level 6.
    // Should zlib fail, the batch goes as it is.
    // Uncompressed is still a valid body: a zlib failure only costs bandwidth.
    if (std::string z; http::Gzip(b.body, 1, &z).ok()) {
      b.body = std::move(z);
      b.gzipped = true;
    }
  }
  return b;
}

Shipper::Outcome Shipper::Send(const Batch& batch, milliseconds* retry_after) {
  auto& client = *clients_[current_];
  std::map<std::string, std::string> headers{{"Authorization", "Bearer " + options_.token}};
  if (batch.gzipped) headers["Content-Encoding"] = "gzip";
  auto res = client.Request("POST", "/api/v1/events", batch.body, headers);
  *retry_after = milliseconds(0);
  if (!res.ok()) {
    spdlog::warn("ship: {}", res.error);
    return Outcome::kRetry;
  }
  if (auto it = res.headers.find("retry-after"); it != res.headers.end()) {
    try {
      *retry_after = std::chrono::seconds(std::clamp(std::stol(it->second), 0L, 300L));
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
    counters_.sent += batch.events;
    return Outcome::kDone;
  }
  std::string error = res.body.substr(0, 300);
  if (res.status == 401 || res.status == 403) {
    // A wrong token is an operator's fix away; keep the data and wait for it.
    spdlog::error("ship: {} refuses our token ({}): {}", client.server().ToString(), res.status, error);
    *retry_after = std::max(*retry_after, options_.setup_retry);
    return Outcome::kRetry;
  }
  if (res.status == 408 || res.status == 429 || res.status >= 500) {
    spdlog::warn("ship: {} answered {}: {}", client.server().ToString(), res.status, error);
    return Outcome::kRetry;
  }
  if (res.status == 400) {
    if (batch.events > 1) return Outcome::kSplit;
    ++counters_.rejected;
    spdlog::warn("ship: {} refused an event as invalid, dropping it: {}", client.server().ToString(), error);
    return Outcome::kDone;  // settled: nothing else could make the proxy take it
  }
  // 404, 405, 413, 415, …: a proxy set up wrongly (a path, a limit), not bad data. Keep
  // the batch (the spool takes it if this lasts) until an operator fixes it.
  ++counters_.refused;
  spdlog::error("ship: {} answered {} to a batch of {} events; keeping it and retrying (is this an Argus proxy, "
                "with limits that fit the agents' batches?): {}",
                client.server().ToString(), res.status, batch.events, error);
  *retry_after = std::max(*retry_after, options_.setup_retry);
  return Outcome::kRetry;
}

Shipper::Outcome Shipper::SendAll(const Batch& batch, milliseconds* retry_after) {
  Outcome outcome = Send(batch, retry_after);
  if (outcome != Outcome::kSplit) return outcome;
  std::string plain;
  if (batch.gzipped) {
    if (base::Status s = http::Gunzip(batch.body, SIZE_MAX, &plain); !s.ok()) {
      spdlog::error("ship: a batch refused as malformed cannot be read back ({}); dropping its {} events", s.message(),
                    batch.events);
      return Outcome::kDrop;
    }
  }
  auto j = nlohmann::json::parse(batch.gzipped ? plain : batch.body, nullptr, false);
  if (j.is_discarded() || !j.contains("events") || !j["events"].is_array()) return Outcome::kDrop;
  spdlog::warn("ship: the proxy refused a batch of {} events as malformed; sending them one by one", batch.events);
  for (const auto& e : j["events"]) {
    Batch one{"{\"events\":[" + e.dump() + "]}", false, 1, {}};
    // Events accepted before a failure are sent again with the batch: their ids make
    // the second copy harmless.
    if (Send(one, retry_after) == Outcome::kRetry) return Outcome::kRetry;
  }
  return Outcome::kDone;
}

void Shipper::Failed(milliseconds retry_after) {
  auto now = clock_.Steady();
  ++counters_.retries;
  if (!down_since_) down_since_ = now;
  current_ = (current_ + 1) % clients_.size();
  // Fail over to the next proxy at once; wait only once every proxy has failed.
  if (++failures_in_row_ % clients_.size() != 0 && retry_after.count() == 0) {
    next_attempt_ = now;
    return;
  }
  // Full jitter keeps a thousand agents from returning in step.
  auto jitter = milliseconds(std::uniform_int_distribution<int64_t>(backoff_.count() / 2, backoff_.count())(rng_));
  next_attempt_ = now + std::max(retry_after, jitter);
  backoff_ = std::min(backoff_ * 2, options_.max_backoff);
}

void Shipper::Succeeded() {
  ++counters_.batches;
  failures_in_row_ = 0;
  backoff_ = options_.min_backoff;
  if (down_since_) {
    spdlog::info("ship: {} takes data again", clients_[current_]->server().ToString());
    down_since_.reset();
  }
}

bool Shipper::ToSpool(Batch& batch) {
  if (options_.spool_max_bytes == 0) return false;  // no spool: hold in memory
  if (!batch.gzipped) {
    std::string z;
    if (base::Status s = http::Gzip(batch.body, 1, &z); !s.ok()) {  // spool files are gzip
      spdlog::error("ship: cannot compress a batch for the spool ({}); keeping it in memory", s.message());
      return false;
    }
    batch.body = std::move(z);
    batch.gzipped = true;
  }
  if (spool_.counters().batches == 0) spdlog::warn("ship: no proxy takes data; spooling to disk");
  if (base::Status s = spool_.Append(batch.body, batch.events); !s.ok()) {
    spdlog::error("spool: {}", s.message());
    // Dropped and counted is settled too; a failed write is not.
    return s.code() == base::Status::Code::kTooLarge;
  }
  return true;
}

void Shipper::Settle(const Batch& batch) {
  for (const auto& p : outbox_.Done(batch.seqs)) checkpoints_.Apply(p);
  SaveCheckpoints(false);
}

void Shipper::SaveCheckpoints(bool now) {
  // At most once a second: a crash re-reads at most a second of acknowledged lines,
  // which stable ids make harmless.
  if (!now && clock_.Steady() - last_save_ < std::chrono::seconds(1)) return;
  checkpoints_.Save();
  last_save_ = clock_.Steady();
}

void Shipper::Run(const std::atomic<bool>& stop) {
  std::optional<Batch> current;
  std::optional<base::Clock::SteadyTime> flush_deadline;
  while (true) {
    auto now = clock_.Steady();
    if (stop.load() && !flush_deadline) {
      flush_deadline = now + options_.flush_timeout;
      outbox_.Close();
    }
    bool out_of_time = flush_deadline && now >= *flush_deadline;
    if (!current) {
      // The spool goes first, oldest batch first.
      if (!spool_.empty() && now >= next_attempt_ && !flush_deadline) {
        if (auto b = spool_.Front()) {
          Batch sb{std::move(b->gzipped), true, b->events, {}};
          milliseconds retry_after{0};
          Outcome outcome = SendAll(sb, &retry_after);
          if (outcome == Outcome::kRetry) {
            Failed(retry_after);
          } else {
            if (outcome == Outcome::kDone) Succeeded();
            if (outcome == Outcome::kDrop) counters_.dropped += b->events;
            spool_.Pop(*b);
          }
        }
        continue;
      }
      milliseconds wait = options_.max_delay;
      if (!spool_.empty() && !flush_deadline) {
        wait = std::clamp(std::chrono::duration_cast<milliseconds>(next_attempt_ - now), milliseconds(10), wait);
      }
      auto items = outbox_.PopBatch(options_.max_events, options_.max_bytes, wait);
      if (items.empty()) {
        Settle(Batch{});  // markers behind events that are already safe
        if (flush_deadline) break;  // closed and drained
        continue;
      }
      current = Build(std::move(items));
      // Behind a non-empty spool, new batches join it so the order holds.
      if (!spool_.empty() && ToSpool(*current)) {
        Settle(*current);
        current.reset();
        continue;
      }
    }
    // A long outage, or a stop while the proxies fail: the batch goes to the spool.
    bool outage_long = down_since_ && now - *down_since_ >= options_.spool_after;
    if (out_of_time || (now < next_attempt_ && (outage_long || flush_deadline))) {
      if (ToSpool(*current)) {
        Settle(*current);
        current.reset();
        continue;
      }
      if (out_of_time) {
        spdlog::warn("ship: stopping with {} events unsent; log lines among them are read again on restart",
                     current->events);
        break;
      }
    }
    if (now < next_attempt_) {
      // Real naps, bounded: the clock may be a test's, moved from outside.
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(next_attempt_ - now, milliseconds(50)));
      continue;
    }
    milliseconds retry_after{0};
    Outcome outcome = SendAll(*current, &retry_after);
    if (outcome == Outcome::kRetry) {
      Failed(retry_after);
      continue;
    }
    if (outcome == Outcome::kDone) Succeeded();
    if (outcome == Outcome::kDrop) counters_.dropped += current->events;
    Settle(*current);
    current.reset();
  }
  SaveCheckpoints(true);
}

}  // namespace argus::agent
