#include "agent/outbox.h"

namespace argus::agent {

bool Outbox::Push(Item item) {
  std::unique_lock lock(mu_);
  // An item larger than the whole budget still goes in once the queue is empty.
  not_full_.wait(lock, [&] {
    return closed_ || items_.empty() ||
           (items_.size() < max_items_ && bytes_ + item.serialized.size() <= max_bytes_);
  });
  if (closed_) return false;
  bytes_ += item.serialized.size();
  items_.push_back(std::move(item));
  not_empty_.notify_one();
  return true;
}

std::vector<Item> Outbox::PopBatch(size_t max_events, size_t max_bytes, std::chrono::milliseconds max_delay) {
  std::vector<Item> out;
  size_t events = 0, bytes = 0;
  std::unique_lock lock(mu_);
  // Bounded, so the caller gets to look at its stop flag while nothing arrives.
  if (!not_empty_.wait_for(lock, std::max(max_delay, std::chrono::milliseconds(100)),
                           [&] { return closed_ || !items_.empty(); })) {
    return out;
  }
  auto deadline = std::chrono::steady_clock::now() + max_delay;
  while (true) {
    while (!items_.empty()) {
      Item& next = items_.front();
      if (next.event && events > 0 &&
          (events + 1 > max_events || bytes + next.serialized.size() > max_bytes)) {
        not_full_.notify_all();
        return out;
      }
      if (next.event) {
        ++events;
        bytes += next.serialized.size();
      }
      bytes_ -= next.serialized.size();
      out.push_back(std::move(next));
      items_.pop_front();
    }
    not_full_.notify_all();
    if (closed_ || events >= max_events || (events == 0 && !out.empty())) return out;
    if (not_empty_.wait_until(lock, deadline) == std::cv_status::timeout && items_.empty()) return out;
  }
}

void Outbox::Close() {
  std::lock_guard lock(mu_);
  closed_ = true;
  not_empty_.notify_all();
  not_full_.notify_all();
}

}  // namespace argus::agent
