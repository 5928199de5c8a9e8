#include "agent/config.h"

namespace argus::agent {

using nlohmann::json;

base::Status ApplyAgentConfig(const json& config, proto::ConfigScope scope, AgentOptions* options) {
  if (base::Status s = proto::ValidateAgentConfig(config, scope); !s.ok()) return s;
  AgentOptions o = *options;  // applied whole or not at all
  const int global_rate = config.value("global_sample_rate", 1000);
  if (config.contains("host")) o.host = config["host"].get<std::string>();
  if (config.contains("state_dir")) o.state_dir = config["state_dir"].get<std::string>();
  if (config.contains("token")) o.ship.token = config["token"].get<std::string>();
  if (config.contains("proxies")) {
    o.ship.proxies.clear();
    for (size_t i = 0; i < config["proxies"].size(); ++i) {
      http::Endpoint ep;
      if (base::Status s = http::ParseEndpoint(config["proxies"][i].get<std::string>(), &ep); !s.ok()) {
        return s.Prefixed("proxies[" + std::to_string(i) + "]: ");
      }
      o.ship.proxies.push_back(ep);
    }
  }
  if (config.contains("labels")) o.labels = config["labels"].get<std::map<std::string, std::string>>();
  if (config.contains("spool")) o.ship.spool_max_bytes = config["spool"].value("max_bytes", o.ship.spool_max_bytes);
  if (config.contains("memory_budget_bytes")) o.memory_budget_bytes = config["memory_budget_bytes"].get<size_t>();
  using std::chrono::seconds;
  if (config.contains("config_pull_interval_s")) {
    o.config_pull_interval = seconds(config["config_pull_interval_s"].get<int64_t>());
  }
  if (config.contains("system")) {
    o.system_interval = seconds(config["system"].value("interval_s", int64_t(o.system_interval.count())));
  }
  if (config.contains("heartbeat")) {
    o.heartbeat_interval = seconds(config["heartbeat"].value("interval_s", int64_t(o.heartbeat_interval.count())));
  }
  if (config.contains("batch")) {
    const json& b = config["batch"];
    o.ship.max_events = b.value("max_events", o.ship.max_events);
    o.ship.max_bytes = b.value("max_bytes", o.ship.max_bytes);
    o.ship.max_delay = std::chrono::milliseconds(b.value("max_delay_ms", int64_t(o.ship.max_delay.count())));
  }
  if (config.contains("files")) {
    o.files.clear();
    for (size_t i = 0; i < config["files"].size(); ++i) {
      const json& f = config["files"][i];
      FileSpec spec;
      spec.path = f["path"].get<std::string>();
      if (f.contains("from")) spec.from_head = f["from"] == "head";
      if (f.contains("rules")) {
        spec.rules.clear();
        std::string where = "files[" + std::to_string(i) + "].rules";
        if (base::Status s = BuildRules(f["rules"], where, global_rate, &spec.rules); !s.ok()) return s;
      } else if (global_rate < 1000) {
        spec.rules[0].sample_rate = global_rate;
      }
      o.files.push_back(std::move(spec));
    }
  }
  if (config.contains("cron")) {
    const json& c = config["cron"];
    if (c.contains("dir")) o.cron.dir = c["dir"].get<std::string>();
    if (c.contains("interval_s")) o.cron.interval = std::chrono::seconds(c["interval_s"].get<int64_t>());
    if (c.contains("timeout_s")) o.cron.timeout = std::chrono::seconds(c["timeout_s"].get<int64_t>());
    if (c.contains("scripts")) {
      o.cron.scripts.clear();
      for (const auto& [name, s] : c["scripts"].items()) {
        ScriptSettings& set = o.cron.scripts[name];
        if (s.contains("interval_s")) set.interval = std::chrono::seconds(s["interval_s"].get<int64_t>());
        if (s.contains("timeout_s")) set.timeout = std::chrono::seconds(s["timeout_s"].get<int64_t>());
      }
    }
  }
  *options = std::move(o);
  return {};
}

}  // namespace argus::agent

namespace argus::agent {

base::Status BuildOptions(const AgentOptions& base, const ConfigSources& sources, const json& remote,
                         AgentOptions* out) {
  proto::RemotePolicy policy;
  if (auto a = sources.local.find("allow_remote_files"); a != sources.local.end() && a->is_array()) {
    for (const auto& g : *a) {
      if (g.is_string()) policy.allow_files.push_back(g.get<std::string>());
    }
  }
  if (base::Status s = proto::ValidateAgentConfig(remote, proto::ConfigScope::kRemote, policy); !s.ok()) {
    return s.Prefixed("remote config: ");
  }
  json merged = sources.local;
  for (const auto& [key, value] : remote.items()) {
    if (key == "topargus") continue;
    if (key == "cron" && merged.contains("cron") && merged["cron"].is_object()) {
      // The remote cron settings never carry the folder: the local one stays.
      for (const auto& [k, v] : value.items()) merged["cron"][k] = v;
    } else {
      merged[key] = value;
    }
  }
  AgentOptions o = base;
  if (base::Status s = ApplyAgentConfig(merged, proto::ConfigScope::kLocal, &o); !s.ok()) {
    return s.Prefixed(remote.empty() ? "" : "config (local with remote keys): ");
  }
  sources.flags(&o);
  *out = std::move(o);
  return {};
}

}  // namespace argus::agent
