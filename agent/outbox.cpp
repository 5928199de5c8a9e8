#include "agent/outbox.h"

#include <algorithm>

namespace argus::agent {

Item EventItem(const proto::Event& e) {
  Item item;
  item.serialized = proto::Serialize(e);
  item.high = e.priority == proto::Priority::kHigh;
  return item;
}

namespace {
// What an item holds in memory: its JSON plus the bookkeeping around it.
size_t Cost(const Item& item) { return item.serialized.size() + sizeof(Item); }
}  // namespace

bool Outbox::Push(Item item) {
  std::unique_lock lock(mu_);
  if (item.progress) {
    // Markers never wait behind events. A marker right after the same file's last
    // one (no event between) replaces it: an idle or unmatched file does not pile
    // them up while the proxies are away.
    if (!markers_.empty() && markers_.back().seq == next_seq_ - 1 && !markers_.back().progress->retire) {
      const auto& last = markers_.back().progress->cp.id;
      const auto& now = item.progress->cp.id;
      if (last.dev == now.dev && last.ino == now.ino) {
        markers_.back().progress = std::move(item.progress);
        return !closed_;
      }
    }
    item.seq = next_seq_++;
    markers_.push_back(std::move(item));
    return !closed_;
  }
  auto has_room = [&] {
    // An event larger than the whole budget still goes in once the queues are empty.
    size_t n = high_.size() + normal_.size();
    return closed_ || n == 0 || (n < max_items_ && bytes_ + Cost(item) <= max_bytes_);
  };
  if (!has_room()) {
    ++counters_.paused;
    not_full_.wait(lock, has_room);
  }
  if (closed_) return false;
  item.seq = next_seq_++;
  bytes_ += Cost(item);
  (item.high ? high_ : normal_).push_back(std::move(item));
  ++counters_.queued;
  not_empty_.notify_one();
  return true;
}

std::vector<Item> Outbox::PopBatch(size_t max_events, size_t max_bytes, std::chrono::milliseconds max_delay) {
  std::vector<Item> out;
  size_t bytes = 0;
  std::unique_lock lock(mu_);
  auto any = [&] { return closed_ || !high_.empty() || !normal_.empty(); };
  if (!not_empty_.wait_for(lock, max_delay, any)) return out;
  auto deadline = std::chrono::steady_clock::now() + max_delay;
  while (true) {
    for (auto* q : {&high_, &normal_}) {
      while (!q->empty() && out.size() < max_events) {
        Item& next = q->front();
        if (!out.empty() && bytes + next.serialized.size() > max_bytes) break;
        bytes += next.serialized.size();
        bytes_ -= Cost(next);
        in_flight_.insert(next.seq);
        out.push_back(std::move(next));
        q->pop_front();
      }
    }
    not_full_.notify_all();
    bool full = out.size() >= max_events || (!high_.empty() || !normal_.empty());
    if (closed_ || full) return out;
    if (!not_empty_.wait_until(lock, deadline, any)) return out;
  }
}

std::vector<Progress> Outbox::SafeMarkers() {
  // Every event before the oldest one still queued or in flight is safe.
  uint64_t oldest = next_seq_;
  if (!high_.empty()) oldest = std::min(oldest, high_.front().seq);
  if (!normal_.empty()) oldest = std::min(oldest, normal_.front().seq);
  if (!in_flight_.empty()) oldest = std::min(oldest, *in_flight_.begin());
  std::vector<Progress> out;
  while (!markers_.empty() && markers_.front().seq < oldest) {
    out.push_back(std::move(*markers_.front().progress));
    markers_.pop_front();
  }
  return out;
}

std::vector<Progress> Outbox::Done(const std::vector<uint64_t>& seqs) {
  std::lock_guard lock(mu_);
  for (uint64_t s : seqs) in_flight_.erase(s);
  return SafeMarkers();
}

void Outbox::Close() {
  std::lock_guard lock(mu_);
  closed_ = true;
  not_empty_.notify_all();
  not_full_.notify_all();
}

size_t Outbox::size() const {
  std::lock_guard lock(mu_);
  return high_.size() + normal_.size();
}

}  // namespace argus::agent
