#include "proto/agent_config.h"

#include <fnmatch.h>

#include <functional>
#include <map>

#include <re2/re2.h>

#include "proto/event.h"

namespace argus::proto {
namespace {

using nlohmann::json;
// A rule checks one value found at `path`: Invalid names the path and the problem.
using Rule = std::function<base::Status(const json& v, const std::string& path)>;

base::Status At(const std::string& path, const std::string& problem) {
  return base::Status::Invalid(path + ": " + problem);
}

Rule String(size_t max_len = 4096) {
  return [max_len](const json& v, const std::string& path) -> base::Status {
    if (!v.is_string()) return At(path, "must be a string");
    if (v.get_ref<const std::string&>().size() > max_len) {
      return At(path, "is longer than " + std::to_string(max_len) + " characters");
    }
    return {};
  };
}

Rule Int(int64_t min, int64_t max) {
  return [min, max](const json& v, const std::string& path) -> base::Status {
    if (!v.is_number_integer() || v.get<int64_t>() < min || v.get<int64_t>() > max) {
      return At(path, "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
    }
    return {};
  };
}

Rule OneOf(std::vector<std::string> values) {
  return [values](const json& v, const std::string& path) -> base::Status {
    std::string list;
    for (const auto& x : values) list += (list.empty() ? "" : ", ") + ("\"" + x + "\"");
    if (!v.is_string() || std::find(values.begin(), values.end(), v.get<std::string>()) == values.end()) {
      return At(path, "must be one of " + list);
    }
    return {};
  };
}

Rule Type() {
  return [](const json& v, const std::string& path) -> base::Status {
    if (!v.is_string() || !IsValidType(v.get<std::string>())) {
      return At(path, "must be an event type ([a-z0-9][a-z0-9_.-]{0,63})");
    }
    return {};
  };
}

Rule Bool() {
  return [](const json& v, const std::string& path) -> base::Status {
    return v.is_boolean() ? base::Status::Ok() : At(path, "must be true or false");
  };
}

Rule ArrayOf(Rule item, size_t max_items = 1000) {
  return [item, max_items](const json& v, const std::string& path) -> base::Status {
    if (!v.is_array()) return At(path, "must be an array");
    if (v.size() > max_items) return At(path, "has more than " + std::to_string(max_items) + " items");
    for (size_t i = 0; i < v.size(); ++i) {
      if (base::Status s = item(v[i], path + "[" + std::to_string(i) + "]"); !s.ok()) return s;
    }
    return {};
  };
}

// Every key of the object must be named in `fields`; `required` ones must be present.
Rule Object(std::map<std::string, Rule> fields, std::vector<std::string> required = {}) {
  return [fields, required](const json& v, const std::string& path) -> base::Status {
    if (!v.is_object()) return At(path.empty() ? "(top level)" : path, "must be an object");
    for (const auto& [key, value] : v.items()) {
      std::string sub = path.empty() ? key : path + "." + key;
      auto it = fields.find(key);
      if (it == fields.end()) {
        std::string allowed;
        for (const auto& [k, r] : fields) allowed += (allowed.empty() ? "" : ", ") + k;
        return At(sub, "unknown key (allowed here: " + allowed + ")");
      }
      if (base::Status s = it->second(value, sub); !s.ok()) return s;
    }
    for (const auto& key : required) {
      if (!v.contains(key)) return At(path.empty() ? key : path + "." + key, "is required");
    }
    return {};
  };
}

// Values of a map with free keys (labels, per-script settings).
Rule MapOf(Rule value, size_t max_items = 1000) {
  return [value, max_items](const json& v, const std::string& path) -> base::Status {
    if (!v.is_object()) return At(path, "must be an object");
    if (v.size() > max_items) return At(path, "has more than " + std::to_string(max_items) + " keys");
    for (const auto& [key, x] : v.items()) {
      if (base::Status s = value(x, path + "." + key); !s.ok()) return s;
    }
    return {};
  };
}

Rule Extract() {
  auto fields = Object({{"json_after", String(256)}, {"kv", Bool()}});
  return [fields](const json& v, const std::string& path) -> base::Status {
    if (base::Status s = fields(v, path); !s.ok()) return s;
    if (v.size() != 1) return At(path, "must hold exactly one of json_after, kv");
    return {};
  };
}

Rule LogRule() {
  auto fields = Object({{"name", String(128)},
                        {"match", String(1024)},
                        {"regex", String(4096)},
                        {"include", ArrayOf(String(1024), 100)},
                        {"exclude", ArrayOf(String(1024), 100)},
                        {"extract", Extract()},
                        {"type", Type()},
                        {"priority", OneOf({"high", "normal"})},
                        {"sample_rate", Int(0, 1000)},
                        {"sample_key", String(256)}},
                       {"type"});
  return [fields](const json& v, const std::string& path) -> base::Status {
    if (base::Status s = fields(v, path); !s.ok()) return s;
    if (!v.contains("match") && !v.contains("regex")) return At(path, "needs \"match\" or \"regex\"");
    if (v.contains("regex")) {
      // Checked here too, so the proxy refuses a remote config no agent could use.
      re2::RE2::Options o;
      o.set_log_errors(false);
      re2::RE2 re(v["regex"].get<std::string>(), o);
      if (!re.ok()) return At(path + ".regex", "does not compile: " + re.error());
    }
    return {};
  };
}

// An absolute path with no "." or ".." component (a glob is fine).
bool IsPlainAbsolute(const std::string& p) {
  if (p.empty() || p[0] != '/') return false;
  size_t start = 1;
  while (start <= p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string::npos) end = p.size();
    std::string_view part(p.data() + start, end - start);
    if (part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

Rule AbsolutePath() {
  return [](const json& v, const std::string& path) -> base::Status {
    if (base::Status s = String(4096)(v, path); !s.ok()) return s;
    if (!IsPlainAbsolute(v.get<std::string>())) {
      return At(path, "must be an absolute path without \".\" or \"..\" parts");
    }
    return {};
  };
}

const Rule& Schema(ConfigScope scope) {
  static const std::map<std::string, Rule> kShared = {
      {"host", String(255)},
      {"labels", MapOf(String(256), 64)},
      {"global_sample_rate", Int(0, 1000)},
      {"batch", Object({{"max_events", Int(1, 10000)},
                        {"max_bytes", Int(1024, 4 * 1024 * 1024)},
                        {"max_delay_ms", Int(1, 600000)}})},
      {"spool", Object({{"max_bytes", Int(0, int64_t{1} << 40)}})},
      {"memory_budget_bytes", Int(1 << 20, int64_t{1} << 34)},
      {"config_pull_interval_s", Int(5, 86400)},
      {"files", ArrayOf(Object({{"path", String(4096)},
                                {"from", OneOf({"head", "end"})},
                                {"rules", ArrayOf(LogRule(), 200)}},
                               {"path"}),
                        200)},
      {"cron", Object({{"dir", String(4096)},
                       {"interval_s", Int(1, 86400)},
                       {"timeout_s", Int(1, 3600)},
                       {"scripts", MapOf(Object({{"interval_s", Int(1, 86400)}, {"timeout_s", Int(1, 3600)}}))}})},
      {"system", Object({{"interval_s", Int(1, 86400)}})},
      {"heartbeat", Object({{"interval_s", Int(1, 86400)}})},
      // The config served to original TOP-Argus agents by GET /api/config, in their own
      // format; Argus agents ignore it.
      {"topargus", [](const json& v, const std::string& path) {
         return v.is_object() ? base::Status::Ok() : At(path, "must be an object");
       }},
  };
  static const Rule kRemote = Object(kShared);
  static const Rule kLocal = [] {
    auto all = kShared;
    all["proxies"] = ArrayOf(String(300), 64);
    all["token"] = String(4096);
    all["state_dir"] = String(4096);
    all["allow_remote_files"] = ArrayOf(AbsolutePath(), 200);
    return Object(all);
  }();
  return scope == ConfigScope::kLocal ? kLocal : kRemote;
}

}  // namespace

bool RemoteFileAllowed(const std::string& path, const std::vector<std::string>& allow) {
  if (!IsPlainAbsolute(path)) return false;
  const bool is_glob = path.find_first_of("*?[\\") != std::string::npos;
  for (const auto& a : allow) {
    if (a == path) return true;
    if (!is_glob && ::fnmatch(a.c_str(), path.c_str(), FNM_PATHNAME | FNM_PERIOD) == 0) return true;
  }
  return false;
}

base::Status ValidateAgentConfig(const nlohmann::json& config, ConfigScope scope, const RemotePolicy& policy) {
  if (scope == ConfigScope::kRemote && config.is_object()) {
    // Said before the schema, in words: these are refused for what they could do.
    if (auto c = config.find("cron"); c != config.end() && c->is_object() && c->contains("dir")) {
      return At("cron.dir", "is local-only: a remote config cannot choose the folder of programs an agent runs");
    }
    if (config.contains("allow_remote_files")) {
      return At("allow_remote_files", "is local-only: only an agent's own config widens what it may read");
    }
  }
  if (base::Status s = Schema(scope)(config, ""); !s.ok()) return s;
  if (scope == ConfigScope::kRemote && config.contains("files")) {
    const json& files = config["files"];
    for (size_t i = 0; i < files.size(); ++i) {
      const std::string& p = files[i]["path"].get_ref<const std::string&>();
      if (!RemoteFileAllowed(p, policy.allow_files)) {
        return At("files[" + std::to_string(i) + "].path",
                  "\"" + p + "\" is not allowed for a remote config" +
                      (policy.allow_files.empty() ? std::string(" (the allow list is empty: allow_remote_files)")
                                                  : " (not in allow_remote_files)"));
      }
    }
  }
  return {};
}

}  // namespace argus::proto
