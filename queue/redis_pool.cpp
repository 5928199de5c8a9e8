#include "queue/redis_pool.h"

namespace argus::queue {

RedisPool::RedisPool(const RedisOptions& options, size_t size) {
  for (size_t i = 0; i < std::max<size_t>(size, 1); ++i) {
    idle_.push_back(std::make_unique<Redis>(options));
  }
}

RedisPool::Lease RedisPool::Acquire() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return !idle_.empty(); });
  auto conn = std::move(idle_.back());
  idle_.pop_back();
  return Lease(*this, std::move(conn));
}

void RedisPool::Return(std::unique_ptr<Redis> conn) {
  {
    std::lock_guard lock(mu_);
    idle_.push_back(std::move(conn));
  }
  cv_.notify_one();
}

}  // namespace argus::queue
