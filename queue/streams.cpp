#include "queue/streams.h"

#include <set>

#include <hiredis/hiredis.h>

#include "proto/hash.h"

namespace argus::queue {

std::string StreamKey(std::string_view type, int shard) {
  return "argus:ev:{" + std::string(type) + ":" + std::to_string(shard) + "}";
}

std::string GroupName(std::string_view type) { return "argus:" + std::string(type); }

std::string DeadLetterKey(std::string_view type) { return "argus:dead:{" + std::string(type) + "}"; }

int ShardOf(std::string_view partition_key, int shards) {
  if (shards <= 1) return 0;
  return static_cast<int>(proto::Fnv1a64(partition_key) % static_cast<uint64_t>(shards));
}

base::Status AppendEvents(Redis& redis, const std::vector<proto::Event>& events, int shards) {
  if (events.empty()) return {};
  std::vector<Command> cmds;
  cmds.reserve(events.size() + 4);
  std::set<std::string_view> types;
  for (const auto& e : events) {
    cmds.push_back({"XADD", StreamKey(e.type, ShardOf(e.host, shards)), "*",
                    std::string(kEventField), proto::Serialize(e)});
    types.insert(e.type);
  }
  for (auto t : types) cmds.push_back({"SADD", std::string(kTypesKey), std::string(t)});
  auto replies = redis.Pipeline(cmds);
  for (const auto& r : replies) {
    if (!r.ok()) return base::Status::Unavailable(r.error);
  }
  return {};
}

namespace {

// A field of a flat [name, value, name, value, ...] reply, or nullptr.
const redisReply* Field(const redisReply* flat, std::string_view name) {
  if (!flat || flat->type != REDIS_REPLY_ARRAY) return nullptr;
  for (size_t i = 0; i + 1 < flat->elements; i += 2) {
    const redisReply* k = flat->element[i];
    if ((k->type == REDIS_REPLY_STRING || k->type == REDIS_REPLY_STATUS) &&
        std::string_view(k->str, k->len) == name) {
      return flat->element[i + 1];
    }
  }
  return nullptr;
}

}  // namespace

namespace {

// A stream id "ms-seq" as its two numbers (the ms is Redis's arrival time).
std::pair<uint64_t, uint64_t> IdParts(const std::string& id) {
  auto dash = id.find('-');
  return {std::stoull(id.substr(0, dash)), dash == std::string::npos ? 0 : std::stoull(id.substr(dash + 1))};
}

// Stream ids in order.
bool IdLess(const std::string& a, const std::string& b) {
  return IdParts(a) < IdParts(b);
}

}  // namespace

base::Status ReadShards(Redis& redis, std::string_view type, int shards, std::vector<ShardState>* out) {
  std::vector<std::string> keys;
  for (int s = 0; s < shards; ++s) keys.push_back(StreamKey(type, s));
  return ReadStreams(redis, keys, GroupName(type), out);
}

base::Status ReadStreams(Redis& redis, const std::vector<std::string>& keys, const std::string& group,
                         std::vector<ShardState>* out) {
  std::vector<Command> cmds;
  for (const std::string& key : keys) {
    cmds.push_back({"XLEN", key});
    cmds.push_back({"XINFO", "GROUPS", key});
    cmds.push_back({"XPENDING", key, group});
  }
  auto replies = redis.Pipeline(cmds);
  out->clear();
  for (size_t s = 0; s < keys.size(); ++s) {
    const Reply& len = replies[3 * s];
    const Reply& groups = replies[3 * s + 1];
    const Reply& pending = replies[3 * s + 2];
    for (const Reply* r : {&len, &groups, &pending}) {
      if (r->transport || (r == &len && !r->ok())) return base::Status::Unavailable(r->error);
    }
    ShardState st;
    st.key = keys[s];
    st.length = len.integer();
    const redisReply* found = nullptr;
    // A missing stream or group is an error reply: the shard then has no group.
    const redisReply* list = groups.ok() ? groups.reply.get() : nullptr;
    for (size_t g = 0; list && list->type == REDIS_REPLY_ARRAY && g < list->elements; ++g) {
      const redisReply* name = Field(list->element[g], "name");
      if (name && std::string_view(name->str, name->len) == group) found = list->element[g];
    }
    if (found) {
      st.has_group = true;
      const redisReply* p = Field(found, "pending");
      const redisReply* lag = Field(found, "lag");
      const redisReply* read = Field(found, "entries-read");
      const redisReply* last = Field(found, "last-delivered-id");
      st.pending = p && p->type == REDIS_REPLY_INTEGER ? p->integer : 0;
      if (lag && lag->type == REDIS_REPLY_INTEGER) {
        st.unread = lag->integer;
      } else if (read && read->type == REDIS_REPLY_INTEGER) {
        st.unread = std::max<int64_t>(0, st.length - read->integer);
      } else {
        // Redis cannot tell (entries were deleted): count the whole stream, erring on
        // the side of holding agents back rather than growing without bound.
        st.unread = st.length;
      }
      std::string last_delivered = last ? std::string(last->str, last->len) : "";
      if (!last_delivered.empty() && last_delivered != "0-0") {
        st.trim_below = last_delivered;
        // XPENDING summary: [count, smallest id, greatest id, consumers]
        const redisReply* summary = pending.ok() ? pending.reply.get() : nullptr;
        if (summary && summary->type == REDIS_REPLY_ARRAY && summary->elements >= 2 &&
            summary->element[0]->type == REDIS_REPLY_INTEGER && summary->element[0]->integer > 0 &&
            summary->element[1]->type == REDIS_REPLY_STRING) {
          std::string oldest_pending(summary->element[1]->str, summary->element[1]->len);
          if (IdLess(oldest_pending, st.trim_below)) st.trim_below = oldest_pending;
        }
      }
    }
    out->push_back(std::move(st));
  }
  return {};
}

std::optional<int64_t> StoredUntil(const std::vector<ShardState>& shards, int64_t now_ms) {
  int64_t until = now_ms;
  for (const ShardState& st : shards) {
    if (st.length == 0 && st.unread == 0 && st.pending == 0) continue;
    if (!st.has_group) return std::nullopt;
    if (st.unread == 0 && st.pending == 0) continue;
    if (st.trim_below.empty()) return std::nullopt;  // nothing delivered yet
    until = std::min(until, static_cast<int64_t>(IdParts(st.trim_below).first) - 1);
  }
  return until;
}

int64_t Backlog(const std::vector<ShardState>& shards) {
  int64_t total = 0;
  for (const auto& st : shards) total += st.has_group ? st.unread + st.pending : st.length;
  return total;
}

base::Status TrimAcknowledged(Redis& redis, const std::vector<ShardState>& shards, int64_t* removed) {
  std::vector<Command> trims;
  for (const auto& st : shards) {
    // MINID removes ids below the bound; the bound itself (pending, or the last one
    // delivered) stays.
    if (!st.trim_below.empty()) trims.push_back({"XTRIM", st.key, "MINID", st.trim_below});
  }
  *removed = 0;
  for (const auto& r : redis.Pipeline(trims)) {
    if (!r.ok()) return base::Status::Unavailable(r.error);
    *removed += r.integer();
  }
  return {};
}

base::Status TypeBacklog(Redis& redis, std::string_view type, int shards, int64_t* backlog) {
  std::vector<ShardState> states;
  base::Status s = ReadShards(redis, type, shards, &states);
  *backlog = s.ok() ? Backlog(states) : 0;
  return s;
}

base::Status TrimAcknowledged(Redis& redis, std::string_view type, int shards, int64_t* removed) {
  std::vector<ShardState> states;
  *removed = 0;
  if (base::Status s = ReadShards(redis, type, shards, &states); !s.ok()) return s;
  return TrimAcknowledged(redis, states, removed);
}

GroupReader::GroupReader(std::string type, int shards, std::string consumer)
    : type_(std::move(type)), group_(GroupName(type_)), dead_key_(DeadLetterKey(type_)), consumer_(std::move(consumer)) {
  for (int s = 0; s < shards; ++s) keys_.push_back(StreamKey(type_, s));
  pending_done_.assign(keys_.size(), false);
  claim_cursors_.assign(keys_.size(), "0-0");
}

GroupReader::GroupReader(std::string stream, std::string group, std::string dead_letter_key, std::string consumer)
    : type_(stream), group_(std::move(group)), dead_key_(std::move(dead_letter_key)), consumer_(std::move(consumer)) {
  keys_.push_back(std::move(stream));
  pending_done_.assign(1, false);
  claim_cursors_.assign(1, "0-0");
}

base::Status GroupReader::EnsureGroups(Redis& redis) {
  std::vector<Command> cmds;
  for (const auto& k : keys_) cmds.push_back({"XGROUP", "CREATE", k, group_, "0", "MKSTREAM"});
  auto replies = redis.Pipeline(cmds);
  for (const auto& r : replies) {
    if (!r.ok() && r.error.rfind("BUSYGROUP", 0) != 0) return base::Status::Unavailable(r.error);
  }
  return {};
}

namespace {

// Parses an XREADGROUP reply: [[key, [[id, [field, value, ...]], ...]], ...] or nil.
void CollectEntries(const redisReply* reply, std::vector<Entry>* out, size_t* got) {
  *got = 0;
  if (!reply || reply->type != REDIS_REPLY_ARRAY) return;
  for (size_t i = 0; i < reply->elements; ++i) {
    const redisReply* stream = reply->element[i];
    if (stream->type != REDIS_REPLY_ARRAY || stream->elements != 2) continue;
    std::string key(stream->element[0]->str, stream->element[0]->len);
    const redisReply* entries = stream->element[1];
    for (size_t j = 0; j < entries->elements; ++j) {
      const redisReply* entry = entries->element[j];
      if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2) continue;
      Entry e;
      e.stream = key;
      e.id.assign(entry->element[0]->str, entry->element[0]->len);
      const redisReply* fields = entry->element[1];
      if (fields->type == REDIS_REPLY_ARRAY) {
        for (size_t f = 0; f + 1 < fields->elements; f += 2) {
          if (std::string_view(fields->element[f]->str, fields->element[f]->len) == kEventField) {
            e.payload.assign(fields->element[f + 1]->str, fields->element[f + 1]->len);
          }
        }
      }
      out->push_back(std::move(e));
      ++*got;
    }
  }
}

}  // namespace

base::Status GroupReader::Read(Redis& redis, size_t count, std::vector<Entry>* out) {
  // One command per shard, never one XREADGROUP over several: a command must not span
  // two hash slots, which keeps the reads valid once shards are spread over nodes.
  std::vector<Command> cmds;
  for (size_t s = 0; s < keys_.size(); ++s) {
    cmds.push_back({"XREADGROUP", "GROUP", group_, consumer_, "COUNT", std::to_string(count),
                    "STREAMS", keys_[s], pending_done_[s] ? ">" : "0"});
  }
  auto replies = redis.Pipeline(cmds);
  for (size_t s = 0; s < replies.size(); ++s) {
    auto& r = replies[s];
    if (!r.ok()) {
      if (r.error.rfind("NOGROUP", 0) == 0) {
        // The stream was deleted (or Redis restarted empty): recreate and go on.
        if (base::Status s = EnsureGroups(redis); !s.ok()) return s;
        continue;
      }
      return base::Status::Unavailable(r.error);
    }
    size_t got = 0;
    CollectEntries(r.reply.get(), out, &got);
    if (!pending_done_[s] && got == 0) pending_done_[s] = true;
  }
  return {};
}

base::Status GroupReader::ClaimIdle(Redis& redis, std::chrono::milliseconds min_idle, int64_t* claimed) {
  *claimed = 0;
  for (size_t s = 0; s < keys_.size(); ++s) {
    std::string& cursor = claim_cursors_[s];
    // A few pages per call at most: the next call goes on where this one stopped.
    for (int page = 0; page < 10; ++page) {
      auto r = redis.Run({"XAUTOCLAIM", keys_[s], group_, consumer_, std::to_string(min_idle.count()), cursor,
                          "COUNT", "500", "JUSTID"});
      if (!r.ok()) {
        if (r.error.rfind("NOGROUP", 0) == 0) break;
        return base::Status::Unavailable(r.error);
      }
      // [next cursor, [ids], [deleted ids]]
      const redisReply* reply = r.reply.get();
      if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 2) break;
      size_t n = reply->element[1]->type == REDIS_REPLY_ARRAY ? reply->element[1]->elements : 0;
      if (n > 0) pending_done_[s] = false;
      *claimed += static_cast<int64_t>(n);
      cursor.assign(reply->element[0]->str, reply->element[0]->len);
      if (cursor == "0-0") break;
    }
  }
  return {};
}

base::Status GroupReader::DeadLetter(Redis& redis, const Entry& entry, const std::string& error) {
  auto replies = redis.Pipeline({{"XADD", dead_key_, "*", "stream", entry.stream, "id", entry.id, "error",
                                  error, "consumer", consumer_, std::string(kEventField), entry.payload},
                                 {"XACK", entry.stream, group_, entry.id}});
  for (const auto& r : replies) {
    if (!r.ok()) return base::Status::Unavailable(r.error);
  }
  return {};
}

base::Status GroupReader::Ack(Redis& redis, const std::vector<Entry>& entries) {
  std::vector<Command> cmds;
  for (const auto& key : keys_) {
    Command cmd{"XACK", key, group_};
    for (const auto& e : entries) {
      if (e.stream == key) cmd.push_back(e.id);
    }
    if (cmd.size() > 3) cmds.push_back(std::move(cmd));
  }
  if (cmds.empty()) return {};
  for (const auto& r : redis.Pipeline(cmds)) {
    if (!r.ok()) return base::Status::Unavailable(r.error);
  }
  return {};
}

}  // namespace argus::queue
