#include "alert/ring.h"

#include <algorithm>

#include "proto/hash.h"

namespace argus::alert {
namespace {

// FNV-1a's last bytes barely reach its high bits; a finaliser (splitmix64's) spreads
// names that differ only at the end ("web-01", "web-02") around the ring.
uint64_t Spread(uint64_t h) {
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}

}  // namespace

Ring::Ring(std::vector<std::string> members, int vnodes) : members_(std::move(members)) {
  std::sort(members_.begin(), members_.end());
  members_.erase(std::unique(members_.begin(), members_.end()), members_.end());
  for (size_t m = 0; m < members_.size(); ++m) {
    for (int v = 0; v < vnodes; ++v) points_.emplace_back(Spread(proto::HashParts({members_[m], std::to_string(v)})), m);
  }
  std::sort(points_.begin(), points_.end());
}

const std::string& Ring::Owner(std::string_view key) const {
  static const std::string kNone;
  if (points_.empty()) return kNone;
  const uint64_t h = Spread(proto::Fnv1a64(key));
  auto it = std::lower_bound(points_.begin(), points_.end(), std::make_pair(h, size_t{0}));
  if (it == points_.end()) it = points_.begin();
  return members_[it->second];
}

std::string PairKey(std::string_view rule, std::string_view host) {
  return std::string(rule) + '\x1f' + std::string(host);
}

base::Status Heartbeat(queue::Redis& redis, const std::string& name, int64_t now_ms, int64_t ttl_ms,
                       std::vector<std::string>* live) {
  const std::string key(kMembersKey);
  auto replies = redis.Pipeline({{"ZADD", key, std::to_string(now_ms), name},
                                 {"ZREMRANGEBYSCORE", key, "-inf", std::to_string(now_ms - 3600 * 1000)},
                                 {"ZRANGEBYSCORE", key, std::to_string(now_ms - ttl_ms), "+inf"}});
  for (const auto& r : replies) {
    if (!r.ok()) return base::Status::Unavailable("evaluator membership in redis: " + r.error);
  }
  *live = replies[2].strings();
  std::sort(live->begin(), live->end());
  return {};
}

base::Status Leave(queue::Redis& redis, const std::string& name) {
  auto r = redis.Run({"ZREM", std::string(kMembersKey), name});
  return r.ok() ? base::Status::Ok() : base::Status::Unavailable(r.error);
}

}  // namespace argus::alert
