// Which evaluator owns which (rule, host): a consistent-hash ring over the evaluators
// that have heartbeated recently in Redis (as Aodh's coordination does), so the pairs
// spread over them, and a member's death moves only its own share.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "queue/redis.h"

namespace argus::alert {

// The sorted set of evaluators: member name -> its last heartbeat (ms since the epoch).
inline constexpr std::string_view kMembersKey = "argus:{alert}:evaluators";

class Ring {
 public:
  // `vnodes` points per member even out the shares (64: within about ±20%).
  explicit Ring(std::vector<std::string> members = {}, int vnodes = 64);
  // The owner of `key`; empty when the ring has no member.
  const std::string& Owner(std::string_view key) const;
  const std::vector<std::string>& members() const { return members_; }

 private:
  std::vector<std::string> members_;
  std::vector<std::pair<uint64_t, size_t>> points_;  // hash -> member index, by hash
};

// The key a (rule, host) pair is placed by.
std::string PairKey(std::string_view rule, std::string_view host);

// Writes this evaluator's heartbeat and reads the members heard from within `ttl_ms`,
// sorted, in one round trip; members silent for an hour are removed.
base::Status Heartbeat(queue::Redis& redis, const std::string& name, int64_t now_ms, int64_t ttl_ms,
                       std::vector<std::string>* live);
// Leaves the ring at a clean stop, so the others take over at once.
base::Status Leave(queue::Redis& redis, const std::string& name);

}  // namespace argus::alert
