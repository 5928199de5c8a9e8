#include <doctest/doctest.h>

#include "tests/support/checks.h"
#include "proto/agent_config.h"

using argus::proto::ConfigScope;
using argus::proto::RemoteFileAllowed;
using argus::proto::ValidateAgentConfig;
using nlohmann::json;

namespace {

// The example from docs/design.md ("Agent config").
json DesignExample() {
  return json::parse(R"json({
    "proxies": ["127.0.0.1:9090"], "token": "t", "host": "web-01",
    "labels": {"role": "web", "region": "eu-1"},
    "state_dir": "/var/lib/argus-agent",
    "global_sample_rate": 1000,
    "batch": {"max_events": 500, "max_bytes": 1048576, "max_delay_ms": 1000},
    "spool": {"max_bytes": 268435456}, "memory_budget_bytes": 67108864,
    "config_pull_interval_s": 300,
    "files": [
      {"path": "/var/log/app/*.log", "from": "end",
       "rules": [
         {"name": "broadcast", "match": "[metrics]", "include": ["electvhost_send"],
          "exclude": [], "extract": {"json_after": "[metrics]"}, "type": "packet",
          "priority": "normal", "sample_rate": 200, "sample_key": "content.chain_hash"},
         {"name": "errors", "regex": "ERROR (?P<code>\\d+) (?P<msg>.*)", "type": "app_error"}
       ]}
    ],
    "cron": {"dir": "/etc/argus/cron.d", "interval_s": 60, "timeout_s": 10,
             "scripts": {"disk.sh": {"interval_s": 300}}},
    "system": {"interval_s": 60}, "heartbeat": {"interval_s": 30}
  })json");
}

}  // namespace

TEST_SUITE("proto::agent_config") {
  TEST_CASE("the docs/design.md example is a valid local config, remote without agent-only keys") {
    json c = DesignExample();
    CHECK_OK(ValidateAgentConfig(c, ConfigScope::kLocal));
    CHECK(ValidateAgentConfig(c, ConfigScope::kRemote).message().find("cron.dir: is local-only") == 0);
    c["cron"].erase("dir");
    CHECK(ValidateAgentConfig(c, ConfigScope::kRemote).message().find("proxies: unknown key") == 0);
    c.erase("proxies");
    c.erase("token");
    c.erase("state_dir");
    CHECK(ValidateAgentConfig(c, ConfigScope::kRemote).message().find("files[0].path: \"/var/log/app/*.log\" is not allowed") == 0);
    CHECK_OK(ValidateAgentConfig(c, ConfigScope::kRemote, {{"/var/log/app/*.log"}}));
    CHECK_OK(ValidateAgentConfig(json::object(), ConfigScope::kRemote));
  }

  TEST_CASE("errors point at the bad key") {
    json c = DesignExample();
    c["files"][0]["rules"][1]["sample_rate"] = 5000;
    CHECK(ValidateAgentConfig(c, ConfigScope::kLocal).message() == "files[0].rules[1].sample_rate: must be an integer from 0 to 1000");
    c = DesignExample();
    c["batch"]["max_event"] = 5;
    CHECK(ValidateAgentConfig(c, ConfigScope::kLocal).message().find("batch.max_event: unknown key (allowed here: max_bytes, max_delay_ms, max_events)") == 0);
    c = DesignExample();
    c["files"][0]["rules"][0].erase("type");
    CHECK(ValidateAgentConfig(c, ConfigScope::kLocal).message() == "files[0].rules[0].type: is required");
    c = DesignExample();
    c["files"][0]["rules"][0].erase("match");
    CHECK(ValidateAgentConfig(c, ConfigScope::kLocal).message() == "files[0].rules[0]: needs \"match\" or \"regex\"");
    c = DesignExample();
    c["files"][0]["rules"][0]["extract"] = {{"json_after", "x"}, {"kv", true}};
    CHECK(ValidateAgentConfig(c, ConfigScope::kLocal).message() == "files[0].rules[0].extract: must hold exactly one of json_after, kv");
    c = DesignExample();
    c["files"][0]["from"] = "middle";
    CHECK(ValidateAgentConfig(c, ConfigScope::kLocal).message() == "files[0].from: must be one of \"head\", \"end\"");
    c = DesignExample();
    c["cron"]["scripts"]["disk.sh"]["interval_s"] = "300";
    CHECK(ValidateAgentConfig(c, ConfigScope::kLocal).message() == "cron.scripts.disk.sh.interval_s: must be an integer from 1 to 86400");
    c = DesignExample();
    c["files"][0]["rules"][0]["type"] = "Bad Type";
    CHECK(ValidateAgentConfig(c, ConfigScope::kLocal).message().find("files[0].rules[0].type: must be an event type") == 0);
    CHECK(ValidateAgentConfig(json::array(), ConfigScope::kRemote).message() == "(top level): must be an object");
  }

  TEST_CASE("remote file paths: an allowed glob itself, or a plain path an allowed glob matches") {
    const std::vector<std::string> allow = {"/var/log/app/*.log", "/srv/*/logs/?.txt"};
    CHECK(RemoteFileAllowed("/var/log/app/*.log", allow));
    CHECK(RemoteFileAllowed("/var/log/app/api.log", allow));
    CHECK(RemoteFileAllowed("/srv/web/logs/a.txt", allow));
    CHECK_FALSE(RemoteFileAllowed("/var/log/app/x/api.log", allow));   // * crosses no /
    CHECK_FALSE(RemoteFileAllowed("/var/log/app/.hidden.log", allow));  // nor matches a hidden name
    CHECK_FALSE(RemoteFileAllowed("/srv/web/logs/*", allow));           // a glob: it expands wider than ?.txt
    CHECK_FALSE(RemoteFileAllowed("/srv/web/logs/?.txt", allow));       // a glob not in the list, though its text matches
    CHECK_FALSE(RemoteFileAllowed("/var/log/app/../../../etc/shadow.log", allow));
    CHECK_FALSE(RemoteFileAllowed("var/log/app/api.log", allow));
    CHECK_FALSE(RemoteFileAllowed("/etc/shadow", allow));
    CHECK_FALSE(RemoteFileAllowed("/var/log/app/api.log", {}));
    json local = {{"allow_remote_files", {"relative/*.log"}}};
    CHECK(ValidateAgentConfig(local, ConfigScope::kLocal).message().find("allow_remote_files[0]: must be an absolute path") == 0);
  }
}
