// The agents' shared remote config, kept in Redis so that every proxy serves the same
// version: hash argus:config with fields `version` (bumped on every store) and
// `config` (the JSON text).
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "queue/redis.h"

namespace argus::queue {

inline constexpr std::string_view kConfigKey = "argus:config";

struct RemoteConfig {
  int64_t version = 0;        // 0: nothing stored yet
  std::string json = "{}";
};

// Reads the stored config (version 0 and "{}" when none is).
base::Status LoadRemoteConfig(Redis& redis, RemoteConfig* out);
// Stores `json` and bumps the version in one step; `*version` gets the new version.
base::Status StoreRemoteConfig(Redis& redis, const std::string& json, int64_t* version);

}  // namespace argus::queue
