// The agent configuration schema of DESIGN.md ("Agent config"), shared by the agent
// (its --config file) and the proxy (which validates the remote config before
// storing it). Every key has a rule; an unknown key or a bad value is reported with
// the path to it, e.g. `files[0].rules[1].sample_rate`.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace argus::proto {

enum class ConfigScope {
  kLocal,   // the agent's own file: every key
  kRemote,  // served by the proxy: no proxies, token or state_dir
};

// Returns an empty string when `config` follows the schema, else "<path>: <problem>".
std::string ValidateAgentConfig(const nlohmann::json& config, ConfigScope scope);

}  // namespace argus::proto
