#include "queue/redis.h"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

namespace argus::queue {

void ReplyDeleter::operator()(redisReply* r) const {
  if (r) freeReplyObject(r);
}

long long Reply::integer() const {
  return reply && reply->type == REDIS_REPLY_INTEGER ? reply->integer : 0;
}

std::string Reply::str() const {
  if (!reply) return {};
  if (reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS) {
    return std::string(reply->str, reply->len);
  }
  return {};
}

std::vector<std::string> Reply::strings() const {
  std::vector<std::string> out;
  if (!reply || reply->type != REDIS_REPLY_ARRAY) return out;
  for (size_t i = 0; i < reply->elements; ++i) {
    const redisReply* e = reply->element[i];
    if (e->type == REDIS_REPLY_STRING || e->type == REDIS_REPLY_STATUS) out.emplace_back(e->str, e->len);
  }
  return out;
}


namespace {

timeval ToTimeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

Reply Wrap(redisContext* ctx, void* raw) {
  Reply r;
  if (!raw) {
    r.transport = true;
    r.error = std::string("redis connection failed: ") + (ctx && ctx->errstr[0] ? ctx->errstr : "no reply");
    return r;
  }
  r.reply.reset(static_cast<redisReply*>(raw));
  if (r.reply->type == REDIS_REPLY_ERROR) r.error = std::string(r.reply->str, r.reply->len);
  return r;
}

void ToArgv(const Command& cmd, std::vector<const char*>* argv, std::vector<size_t>* lens) {
  argv->clear();
  lens->clear();
  for (const auto& a : cmd) {
    argv->push_back(a.data());
    lens->push_back(a.size());
  }
}

}  // namespace

Redis::Redis(RedisOptions options) : options_(std::move(options)) {}

Redis::~Redis() { Drop(); }

void Redis::Drop() {
  if (ctx_) redisFree(ctx_);
  ctx_ = nullptr;
}

base::Status Redis::EnsureConnected() {
  if (ctx_) return {};
  auto now = std::chrono::steady_clock::now();
  if (now < next_attempt_) {
    return base::Status::Unavailable("redis " + options_.ToString() + " is unreachable (waiting before reconnecting)");
  }
  redisContext* c = redisConnectWithTimeout(options_.host.c_str(), options_.port,
                                            ToTimeval(options_.timeout));
  if (!c || c->err) {
    std::string why = "cannot connect to redis " + options_.ToString() + ": " + (c ? c->errstr : "out of memory");
    if (c) redisFree(c);
    next_attempt_ = now + options_.reconnect_backoff;
    return base::Status::Unavailable(why);
  }
  redisSetTimeout(c, ToTimeval(options_.timeout));
  if (!options_.password.empty()) {
    Command auth = {"AUTH"};
    if (!options_.user.empty()) auth.push_back(options_.user);
    auth.push_back(options_.password);
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    ToArgv(auth, &argv, &lens);
    Reply login = Wrap(c, redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
    if (!login.ok()) {
      redisFree(c);
      next_attempt_ = now + options_.reconnect_backoff;
      return base::Status::Unavailable("redis " + options_.ToString() + " refused the login" +
                                       (options_.user.empty() ? "" : " of user '" + options_.user + "'") + ": " +
                                       login.error);
    }
  }
  ctx_ = c;
  return {};
}


Reply Redis::Run(const Command& cmd) {
  auto replies = Pipeline({cmd});
  return std::move(replies.front());
}

std::vector<Reply> Redis::Pipeline(const std::vector<Command>& commands) {
  std::vector<Reply> out(commands.size());
  if (base::Status s = EnsureConnected(); !s.ok()) {
    for (auto& r : out) {
      r.transport = true;
      r.error = s.message();
    }
    return out;
  }
  std::string error;
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& cmd : commands) {
    ToArgv(cmd, &argv, &lens);
    redisAppendCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), lens.data());
  }
  bool broken = false;
  for (auto& r : out) {
    if (broken) {
      r.transport = true;
      r.error = error;
      continue;
    }
    void* raw = nullptr;
    if (redisGetReply(ctx_, &raw) != REDIS_OK) raw = nullptr;
    r = Wrap(ctx_, raw);
    if (r.transport) {
      broken = true;
      error = r.error;
    }
  }
  if (broken) {
    spdlog::warn("redis {}:{}: {}", options_.host, options_.port, error);
    Drop();
    next_attempt_ = std::chrono::steady_clock::now() + options_.reconnect_backoff;
  }
  return out;
}

}  // namespace argus::queue
