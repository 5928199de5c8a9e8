// A fixed set of per-request backends (Redis connections, SQLite connections) shared by
// a server's threads. Neither hiredis contexts nor SQLite handles may be used by two
// threads at once, so a request leases one; when all are leased the next caller waits.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace argus::http {

template <typename T>
class Pool {
 public:
  // Builds `size` (at least 1) resources up front with `make`; `make` may throw.
  Pool(size_t size, const std::function<std::unique_ptr<T>()>& make) {
    for (size_t i = 0; i < std::max<size_t>(size, 1); ++i) idle_.push_back(make());
  }

  class Lease {
   public:
    Lease(Pool& pool, std::unique_ptr<T> item) : pool_(pool), item_(std::move(item)) {}
    ~Lease() { pool_.Return(std::move(item_)); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    T& operator*() { return *item_; }
    T* operator->() { return item_.get(); }

   private:
    Pool& pool_;
    std::unique_ptr<T> item_;
  };

  Lease Acquire() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return !idle_.empty(); });
    auto item = std::move(idle_.back());
    idle_.pop_back();
    return Lease(*this, std::move(item));
  }

 private:
  void Return(std::unique_ptr<T> item) {
    {
      std::lock_guard lock(mu_);
      idle_.push_back(std::move(item));
    }
    cv_.notify_one();
  }

  std::mutex mu_;  // guards idle_
  std::condition_variable cv_;
  std::vector<std::unique_ptr<T>> idle_;
};

}  // namespace argus::http
