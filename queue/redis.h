// One synchronous hiredis connection that reconnects by itself. hiredis leaves a
// context unusable after any I/O error, so on error we drop it and the next call
// connects afresh (with a backoff so a dead Redis is not hammered).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

struct redisContext;
struct redisReply;

namespace argus::queue {

struct RedisOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 6379;
  std::chrono::milliseconds timeout{2000};       // connect and every command
  std::chrono::milliseconds reconnect_backoff{200};
  // AUTH after every connect when `password` is set: `AUTH password` (requirepass) or,
  // with `user`, `AUTH user password` (an ACL user). Never logged.
  std::string user{};
  std::string password{};

  // HOST:PORT, for logs and errors (never the password).
  std::string ToString() const { return host + ":" + std::to_string(port); }
};

struct ReplyDeleter {
  void operator()(redisReply* r) const;
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

// A reply, or why there is none. `error` is set both for transport failures (then
// `transport` is true and the connection was dropped) and for Redis error replies.
struct Reply {
  ReplyPtr reply;
  std::string error;
  bool transport = false;
  bool ok() const { return error.empty(); }

  // Accessors for the common reply shapes; they return defaults on a shape mismatch.
  long long integer() const;
  std::string str() const;
  // Elements of an array reply that are strings.
  std::vector<std::string> strings() const;
};

using Command = std::vector<std::string>;

// Not thread-safe: one connection per thread or per pool slot.
class Redis {
 public:
  explicit Redis(RedisOptions options);
  ~Redis();
  Redis(const Redis&) = delete;
  Redis& operator=(const Redis&) = delete;

  Reply Run(const Command& argv);
  // Sends all commands in one write and reads the replies in order. If the connection
  // fails midway, the remaining replies carry the transport error.
  std::vector<Reply> Pipeline(const std::vector<Command>& commands);

  bool connected() const { return ctx_ != nullptr; }
  const RedisOptions& options() const { return options_; }

 private:
  base::Status EnsureConnected();
  void Drop();

  RedisOptions options_;
  redisContext* ctx_ = nullptr;
  std::chrono::steady_clock::time_point next_attempt_{};
};

}  // namespace argus::queue
