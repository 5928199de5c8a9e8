// Read-only views of the queue for operators (the dash's /api/v1/pipeline): each
// type's streams as its consumer group sees them, the consumers' published counters,
// and the dead-letter entries with why they failed.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "queue/redis.h"

namespace argus::queue {

// Programs publish their counters to Redis for the dash's pipeline view: a hash
// `argus:<kind>:<name>` (kind "consumer" or "proxy") with `updated_ms` and the
// counters, rewritten every few seconds and expiring after `ttl_s`, so a stopped
// program drops out of the view by itself.
std::string StatsKey(std::string_view kind, std::string_view name);
base::Status PublishStats(Redis& redis, std::string_view kind, std::string_view name, int64_t now_ms,
                          const std::vector<std::pair<std::string, std::string>>& fields, int64_t ttl_s);

struct TypeView {
  std::string type;
  int64_t length = 0, unread = 0, pending = 0, backlog = 0, dead_letters = 0;
};

// Every type in argus:types.
base::Status ReadPipeline(Redis& redis, int shards, std::vector<TypeView>* out);

// Every program of `kind` that published recently: name -> its fields as published.
base::Status ReadPublished(Redis& redis, std::string_view kind,
                           std::map<std::string, std::map<std::string, std::string>>* out);

struct DeadLetterView {
  std::string id;                             // in the dead-letter stream
  std::map<std::string, std::string> fields;  // stream, id, error, consumer, e (the event)
};

// The newest `count` dead letters of `type`, newest first.
base::Status ReadDeadLetters(Redis& redis, std::string_view type, int64_t count,
                             std::vector<DeadLetterView>* out);

}  // namespace argus::queue
