#include "queue/remote_config.h"

namespace argus::queue {

base::Status LoadRemoteConfig(Redis& redis, RemoteConfig* out) {
  auto reply = redis.Run({"HMGET", std::string(kConfigKey), "version", "config"});
  if (!reply.ok()) return base::Status::Unavailable(reply.error);
  auto fields = reply.strings();  // nil fields are left out
  *out = RemoteConfig{};
  if (fields.size() == 2) {
    try {
      out->version = std::stoll(fields[0]);
    } catch (...) {
      return base::Status::Invalid("argus:config has a version that is not a number");
    }
    out->json = fields[1];
  }
  return {};
}

base::Status StoreRemoteConfig(Redis& redis, const std::string& json, int64_t* version) {
  // One script: the version and the text change together or not at all.
  static const std::string kScript =
      "local v = redis.call('HINCRBY', KEYS[1], 'version', 1) "
      "redis.call('HSET', KEYS[1], 'config', ARGV[1]) return v";
  auto reply = redis.Run({"EVAL", kScript, "1", std::string(kConfigKey), json});
  if (!reply.ok()) return base::Status::Unavailable(reply.error);
  *version = reply.integer();
  return {};
}

}  // namespace argus::queue
