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

// Where consumer `name` publishes its counters (a hash with a TTL).
std::string ConsumerStatsKey(std::string_view name);

struct TypeView {
  std::string type;
  int64_t length = 0, unread = 0, pending = 0, backlog = 0, dead_letters = 0;
};

// Every type in argus:types.
base::Status ReadPipeline(Redis& redis, int shards, std::vector<TypeView>* out);

// Every consumer that published recently: name -> its counters as published.
base::Status ReadConsumers(Redis& redis, std::map<std::string, std::map<std::string, std::string>>* out);

struct DeadLetterView {
  std::string id;                             // in the dead-letter stream
  std::map<std::string, std::string> fields;  // stream, id, error, consumer, e (the event)
};

// The newest `count` dead letters of `type`, newest first.
base::Status ReadDeadLetters(Redis& redis, std::string_view type, int64_t count,
                             std::vector<DeadLetterView>* out);

}  // namespace argus::queue
