// The agent configuration schema of docs/design.md ("Agent config"), shared by the agent
// (its --config file) and the proxy (which validates the remote config before
// storing it). Every key has a rule; an unknown key or a bad value is reported with
// the path to it, e.g. `files[0].rules[1].sample_rate`.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace argus::proto {

enum class ConfigScope {
  kLocal,   // the agent's own file: every key
  kRemote,  // served by the proxy: no proxies, token or state_dir
};

// What a remote config may reach on an agent. A remote config changes rules, sampling,
// intervals and labels; it never chooses which programs run (`cron.dir` is local-only)
// and names only files that `allow_files` allows (see RemoteFileAllowed).
struct RemotePolicy {
  std::vector<std::string> allow_files;  // globs; empty: no remote `files` entry at all
};

// Ok when `config` follows the schema, else Invalid with "<path>: <problem>".
// With kRemote, `policy` says which files a remote `files` entry may name.
base::Status ValidateAgentConfig(const nlohmann::json& config, ConfigScope scope,
                                const RemotePolicy& policy = {});

// Whether a remote config may follow `path` (a path or a glob) given the allowed globs.
// It must be absolute, with no "." or ".." component, and either be one of `allow`
// exactly, or contain no glob character and be matched by one of them (fnmatch with
// FNM_PATHNAME | FNM_PERIOD, so `*` crosses no `/` and matches no hidden name). A glob
// that merely matches an allowed glob as text is refused: `/logs/*` is text that
// `/logs/?` matches, but it expands to more.
bool RemoteFileAllowed(const std::string& path, const std::vector<std::string>& allow);

}  // namespace argus::proto
