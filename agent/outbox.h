// The bounded queue between the agent's producers (tailer, cron) and its shipper.
// Items are events, or progress markers: "every line of this file before this offset
// has been handled", which the shipper turns into a checkpoint once everything queued
// before the marker has been acknowledged.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

#include "agent/tailer.h"
#include "proto/event.h"

namespace argus::agent {

struct Item {
  std::optional<proto::Event> event;
  std::string serialized;        // the event as JSON, computed once
  std::optional<Progress> progress;  // a marker
};

class Outbox {
 public:
  Outbox(size_t max_items, size_t max_bytes) : max_items_(max_items), max_bytes_(max_bytes) {}

  // Waits for room (reading pauses when the proxies fall behind); false once closed.
  bool Push(Item item);
  // Takes up to `max_events` events / `max_bytes` bytes; returns when full, when
  // `max_delay` has passed since the first item, or when closed. Markers ride along.
  // Returns empty when nothing arrived within max_delay (at least 100 ms).
  std::vector<Item> PopBatch(size_t max_events, size_t max_bytes, std::chrono::milliseconds max_delay);
  // Wakes everybody; Push fails from now on, PopBatch drains what is left.
  void Close();

 private:
  const size_t max_items_, max_bytes_;
  std::mutex mu_;  // guards items_, bytes_, closed_
  std::condition_variable not_empty_, not_full_;
  std::deque<Item> items_;
  size_t bytes_ = 0;
  bool closed_ = false;
};

}  // namespace argus::agent
