// The bounded queue between the agent's producers (tailer, cron, sampler) and its
// shipper. Events wait in a high and a normal queue, high first (TOP-Argus'
// ALARMQ_HIGH). Progress markers ("every line of this file before this offset has
// been handed out") are not sent: a marker is released for checkpointing once every
// event pushed before it is safe (taken by a proxy, spooled, or dropped and counted),
// whichever queue the events went through.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/tailer.h"
#include "proto/event.h"

namespace argus::agent {

struct Item {
  std::string serialized;        // an event as JSON; empty for a marker
  bool high = false;             // priority high
  std::optional<Progress> progress;  // set for a marker
  uint64_t seq = 0;              // assigned by Push
};

// An event item from an event.
Item EventItem(const proto::Event& e);

struct OutboxCounters {
  std::atomic<uint64_t> queued{0}, paused{0};  // paused: pushes that had to wait for room
};

class Outbox {
 public:
  // `max_bytes` bounds the memory the queued events hold; `max_items` their number.
  Outbox(size_t max_items, size_t max_bytes) : max_items_(max_items), max_bytes_(max_bytes) {}

  // Waits for room (reading pauses when the proxies fall behind); false once closed.
  bool Push(Item item);
  // Takes up to `max_events` events / `max_bytes` bytes, high ones first; returns when
  // full, when `max_delay` has passed since the first event, or when closed. Returns
  // empty when nothing arrived within `max_delay`.
  std::vector<Item> PopBatch(size_t max_events, size_t max_bytes, std::chrono::milliseconds max_delay);
  // The events with these seqs are safe; returns the markers that are now safe too.
  std::vector<Progress> Done(const std::vector<uint64_t>& seqs);
  // Wakes everybody; Push fails from now on, PopBatch drains what is left.
  void Close();
  // Queued events (not yet popped).
  size_t size() const;
  const OutboxCounters& counters() const { return counters_; }

 private:
  std::vector<Progress> SafeMarkers();

  const size_t max_items_, max_bytes_;
  mutable std::mutex mu_;  // guards everything below
  std::condition_variable not_empty_, not_full_;
  std::deque<Item> high_, normal_;
  std::deque<Item> markers_;
  std::set<uint64_t> in_flight_;  // popped, not yet Done
  size_t bytes_ = 0;
  uint64_t next_seq_ = 1;
  bool closed_ = false;
  OutboxCounters counters_;
};

}  // namespace argus::agent
