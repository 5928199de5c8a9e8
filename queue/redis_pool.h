// A fixed set of Redis connections shared by a server's threads. A thread leases one
// for the duration of a request; when all are leased, the next caller waits.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "queue/redis.h"

namespace argus::queue {

class RedisPool {
 public:
  RedisPool(const RedisOptions& options, size_t size);

  class Lease {
   public:
    Lease(RedisPool& pool, std::unique_ptr<Redis> conn) : pool_(pool), conn_(std::move(conn)) {}
    ~Lease() { pool_.Return(std::move(conn_)); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Redis& operator*() { return *conn_; }
    Redis* operator->() { return conn_.get(); }

   private:
    RedisPool& pool_;
    std::unique_ptr<Redis> conn_;
  };

  Lease Acquire();

 private:
  void Return(std::unique_ptr<Redis> conn);

  std::mutex mu_;  // guards idle_
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Redis>> idle_;
};

}  // namespace argus::queue
