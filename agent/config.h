// The agent's config file (docs/design.md "Agent config") applied onto AgentOptions. The
// schema check names the path of a mistake (`files[0].rules[1].sample_rate`), and
// rules are compiled here too, so a regex that does not compile is caught by
// --check-config, before the agent runs with it.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/agent.h"
#include "base/status.h"
#include "proto/agent_config.h"

namespace argus::agent {

// Applies every key `config` has onto `options` (keys it lacks leave options as they
// are). Checks the schema for `scope` first; on any error `options` is left
// unchanged. Invalid says "<path>: problem".
base::Status ApplyAgentConfig(const nlohmann::json& config, proto::ConfigScope scope, AgentOptions* options);

// The options in effect: `base` with the local config applied, where each top-level
// key of `remote` replaces the local one ("topargus" is not ours), then the command
// line. `cron` is the exception: its remote keys are laid over the local ones, as the
// remote config cannot carry `cron.dir`. A remote `files` entry must name a path the
// local `allow_remote_files` allows. A remote mistake says "remote config".
base::Status BuildOptions(const AgentOptions& base, const ConfigSources& sources, const nlohmann::json& remote,
                         AgentOptions* out);

}  // namespace argus::agent
