#include "queue/inspect.h"

#include <algorithm>

#include <hiredis/hiredis.h>

#include "queue/streams.h"

namespace argus::queue {

namespace {

std::map<std::string, std::string> Pairs(const std::vector<std::string>& flat) {
  std::map<std::string, std::string> out;
  for (size_t i = 0; i + 1 < flat.size(); i += 2) out[flat[i]] = flat[i + 1];
  return out;
}

}  // namespace

std::string StatsKey(std::string_view kind, std::string_view name) {
  return "argus:" + std::string(kind) + ":" + std::string(name);
}

base::Status PublishStats(Redis& redis, std::string_view kind, std::string_view name, int64_t now_ms,
                          const std::vector<std::pair<std::string, std::string>>& fields, int64_t ttl_s) {
  const std::string key = StatsKey(kind, name);
  Command hset = {"HSET", key, "updated_ms", std::to_string(now_ms)};
  for (const auto& [k, v] : fields) {
    hset.push_back(k);
    hset.push_back(v);
  }
  for (const auto& r : redis.Pipeline({hset, {"EXPIRE", key, std::to_string(std::max<int64_t>(ttl_s, 1))}})) {
    if (!r.ok()) return base::Status::Unavailable(r.error);
  }
  return {};
}

base::Status ReadPipeline(Redis& redis, int shards, std::vector<TypeView>* out) {
  auto types = redis.Run({"SMEMBERS", std::string(kTypesKey)});
  if (!types.ok()) return base::Status::Unavailable(types.error);
  auto names = types.strings();
  std::sort(names.begin(), names.end());
  for (const auto& type : names) {
    std::vector<ShardState> state;
    if (base::Status st = ReadShards(redis, type, shards, &state); !st.ok()) return st;
    TypeView v;
    v.type = type;
    for (const auto& s : state) {
      v.length += s.length;
      v.unread += s.unread;
      v.pending += s.pending;
    }
    v.backlog = Backlog(state);
    out->push_back(std::move(v));
  }
  // Every type's dead letters in one round trip.
  std::vector<Command> lengths;
  for (const auto& v : *out) lengths.push_back({"XLEN", DeadLetterKey(v.type)});
  auto replies = redis.Pipeline(lengths);
  for (size_t i = 0; i < replies.size(); ++i) {
    if (!replies[i].ok()) return base::Status::Unavailable(replies[i].error);
    (*out)[i].dead_letters = replies[i].integer();
  }
  return {};
}

base::Status ReadPublished(Redis& redis, std::string_view kind,
                           std::map<std::string, std::map<std::string, std::string>>* out) {
  const std::string prefix = StatsKey(kind, "");
  std::string cursor = "0";
  std::vector<std::string> keys;
  do {
    auto r = redis.Run({"SCAN", cursor, "MATCH", prefix + "*", "COUNT", "1000"});
    if (!r.ok()) return base::Status::Unavailable(r.error);
    const redisReply* raw = r.reply.get();
    if (raw->type != REDIS_REPLY_ARRAY || raw->elements != 2) {
      return base::Status::Unavailable("unexpected SCAN reply");
    }
    cursor.assign(raw->element[0]->str, raw->element[0]->len);
    for (size_t i = 0; i < raw->element[1]->elements; ++i) {
      keys.emplace_back(raw->element[1]->element[i]->str, raw->element[1]->element[i]->len);
    }
  } while (cursor != "0" && keys.size() < 10000);
  std::vector<Command> reads;
  for (const auto& key : keys) reads.push_back({"HGETALL", key});
  auto replies = redis.Pipeline(reads);
  for (size_t i = 0; i < replies.size(); ++i) {
    if (!replies[i].ok()) return base::Status::Unavailable(replies[i].error);
    auto fields = Pairs(replies[i].strings());
    // Empty: it expired between SCAN and HGETALL.
    if (!fields.empty()) (*out)[keys[i].substr(prefix.size())] = std::move(fields);
  }
  return {};
}

base::Status ReadDeadLetters(Redis& redis, std::string_view type, int64_t count,
                             std::vector<DeadLetterView>* out) {
  auto r = redis.Run({"XREVRANGE", DeadLetterKey(type), "+", "-", "COUNT", std::to_string(count)});
  if (!r.ok()) return base::Status::Unavailable(r.error);
  const redisReply* raw = r.reply.get();
  for (size_t i = 0; raw->type == REDIS_REPLY_ARRAY && i < raw->elements; ++i) {
    const redisReply* entry = raw->element[i];
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2) continue;
    DeadLetterView v;
    v.id.assign(entry->element[0]->str, entry->element[0]->len);
    std::vector<std::string> flat;
    for (size_t k = 0; k < entry->element[1]->elements; ++k) {
      flat.emplace_back(entry->element[1]->element[k]->str, entry->element[1]->element[k]->len);
    }
    v.fields = Pairs(flat);
    out->push_back(std::move(v));
  }
  return {};
}

}  // namespace argus::queue
