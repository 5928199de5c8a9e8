// The Redis layout of docs/design.md ("Queue"): one stream per (type, shard) named
// argus:ev:{<type>:<shard>}, the set argus:types, a consumer group argus:<type>; and the
// two sides that use it: the proxy's pipelined append and the consumer's group read.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "proto/event.h"
#include "queue/redis.h"

namespace argus::queue {

inline constexpr std::string_view kTypesKey = "argus:types";
// Field name of the serialized event inside a stream entry.
inline constexpr std::string_view kEventField = "e";

std::string StreamKey(std::string_view type, int shard);
// Entries a consumer could not process after repeated tries, with why: one stream per type.
std::string DeadLetterKey(std::string_view type);
std::string GroupName(std::string_view type);
// Shard of an event: a stable hash of its partition key (the host by default).
int ShardOf(std::string_view partition_key, int shards);

// Appends validated events. Ok once Redis acknowledged every one, else Unavailable;
// on error some events may have been appended, which is safe because the store
// ignores ids it already has.
base::Status AppendEvents(Redis& redis, const std::vector<proto::Event>& events, int shards);

// One shard of a type as its consumer group sees it, read in one round trip for both
// flow control (the backlog) and trimming.
struct ShardState {
  std::string key;
  int64_t length = 0;
  bool has_group = false;
  int64_t unread = 0;      // entries the group has not delivered yet
  int64_t pending = 0;     // delivered, not yet acknowledged
  std::string trim_below;  // every id below this is acknowledged; empty: none known
};

// Reads every shard of `type`.
base::Status ReadShards(Redis& redis, std::string_view type, int shards, std::vector<ShardState>* out);
// The same for any streams read by `group` (the alert notification stream).
base::Status ReadStreams(Redis& redis, const std::vector<std::string>& keys, const std::string& group,
                         std::vector<ShardState>* out);

// The arrival time (stream ids are Redis's arrival ms) up to which every entry of the
// shards was stored and acknowledged: `now_ms` when nothing is unread or pending, else
// just before the oldest entry still unread or pending. Nullopt when a shard holds
// entries that no consumer group ever read. The alert evaluator judges a type only up
// to this watermark, so a lagging or stopped consumer is never taken for silence.
std::optional<int64_t> StoredUntil(const std::vector<ShardState>& shards, int64_t now_ms);

// Events not yet stored: unread plus unacknowledged per shard; a shard without the
// group counts its whole length.
int64_t Backlog(const std::vector<ShardState>& shards);

// Removes the entries every consumer acknowledged: below both the group's oldest
// pending entry and the last entry it delivered. Entries never delivered or not yet
// acknowledged are kept; a shard without the group is left alone. `*removed` gets how
// many were removed.
base::Status TrimAcknowledged(Redis& redis, const std::vector<ShardState>& shards, int64_t* removed);

// The two above with their own read, for callers that need only one.
base::Status TypeBacklog(Redis& redis, std::string_view type, int shards, int64_t* backlog);
base::Status TrimAcknowledged(Redis& redis, std::string_view type, int shards, int64_t* removed);

// One entry read from a stream by a consumer group.
struct Entry {
  std::string stream;
  std::string id;
  std::string payload;  // the serialized event; empty when the entry was deleted
};

// Reads one type's shards through its consumer group.
class GroupReader {
 public:
  GroupReader(std::string type, int shards, std::string consumer);
  // Any one stream, read by `group`; dead letters go to `dead_letter_key`. (The alert
  // notifier's notification stream.)
  GroupReader(std::string stream, std::string group, std::string dead_letter_key, std::string consumer);

  // Creates the group on every shard (MKSTREAM, from the start); idempotent.
  base::Status EnsureGroups(Redis& redis);
  // Reads up to `count` entries per shard: first this consumer's own pending entries
  // (left by a crash before XACK), then new ones. Non-blocking.
  base::Status Read(Redis& redis, size_t count, std::vector<Entry>* out);
  // Acknowledges entries (after the store committed them).
  base::Status Ack(Redis& redis, const std::vector<Entry>& entries);
  // After a failed store or ack: read this consumer's pending entries again first.
  void RereadPending() { pending_done_.assign(keys_.size(), false); }
  // Takes over entries pending in other consumers (crashed, gone) for longer than
  // `min_idle`; they are read next as this consumer's own. `*claimed` gets how many.
  base::Status ClaimIdle(Redis& redis, std::chrono::milliseconds min_idle, int64_t* claimed);
  // Moves an entry to the type's dead-letter stream with `error`, and acknowledges it.
  base::Status DeadLetter(Redis& redis, const Entry& entry, const std::string& error);

  const std::string& type() const { return type_; }
  const std::string& group() const { return group_; }

 private:
  std::string type_;
  std::string group_;
  std::string dead_key_;
  std::string consumer_;
  std::vector<std::string> keys_;
  std::vector<bool> pending_done_;  // per shard: own pending list drained
  std::vector<std::string> claim_cursors_;  // per shard: where the next XAUTOCLAIM starts ("0-0": from the start)
};

}  // namespace argus::queue
