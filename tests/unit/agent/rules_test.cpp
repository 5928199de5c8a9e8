// Rules and the agent config file: regex, include/exclude, extraction, sampling, and
// the mistakes a user makes named by path.
#include <doctest/doctest.h>

#include "agent/config.h"
#include "agent/rules.h"
#include "tests/support/support.h"

using namespace argus;
using nlohmann::json;

namespace {

std::vector<agent::Rule> Rules(const json& config, int global_rate = 1000) {
  std::vector<agent::Rule> rules;
  REQUIRE_OK(agent::BuildRules(config, "rules", global_rate, &rules));
  return rules;
}

}  // namespace

TEST_SUITE("agent::rules") {
  TEST_CASE("regex named groups become content, numbers as numbers") {
    auto rules = Rules(json::parse(R"J([{"name":"errors","regex":"ERROR (?P<code>\\d+) (?P<msg>.*)","type":"app_error"}])J"));
    agent::RuleCounters c;
    auto m = agent::Apply(rules, "2026-11-21 ERROR 503 upstream timed out", &c);
    REQUIRE(m);
    CHECK(m->rule->type == "app_error");
    CHECK(json::parse(m->content) == json{{"code", 503}, {"msg", "upstream timed out"}});
    CHECK_FALSE(agent::Apply(rules, "2026-11-21 INFO all good", &c));
    CHECK(c.extract_failed == 0);  // not matching is not a failed extraction
  }

  TEST_CASE("include and exclude lists, as TOP-Argus' network_focus_on and network_ignore") {
    auto rules = Rules(json::parse(
        R"([{"match":"[metrics]","include":["electvhost_send","chain"],"exclude":["test_net"],
             "extract":{"json_after":"[metrics]"},"type":"packet"}])"));
    agent::RuleCounters c;
    CHECK(agent::Apply(rules, R"(x electvhost_send chain [metrics]{"a":1})", &c));
    CHECK_FALSE(agent::Apply(rules, R"(x electvhost_send [metrics]{"a":1})", &c));             // an include missing
    CHECK_FALSE(agent::Apply(rules, R"(x electvhost_send chain test_net [metrics]{"a":1})", &c));  // excluded
  }

  TEST_CASE("key:value extraction") {
    auto rules = Rules(json::parse(R"J([{"match":"stats","extract":{"kv":true},"type":"stats"}])J"));
    agent::RuleCounters c;
    auto m = agent::Apply(rules, "stats qps:1200 lat_ms=3.5, host:web-1; bad: :x ok", &c);
    REQUIRE(m);
    CHECK(json::parse(m->content) == json{{"qps", 1200}, {"lat_ms", 3.5}, {"host", "web-1"}});
    CHECK_FALSE(agent::Apply(rules, "stats nothing here", &c));
    CHECK(c.extract_failed == 1);
  }

  TEST_CASE("rules are tried in order, the first that fires wins") {
    auto rules = Rules(json::parse(R"J([{"match":"ERROR","type":"first"},{"match":"ERR","type":"second"}])J"));
    agent::RuleCounters c;
    CHECK(agent::Apply(rules, "ERROR x", &c)->rule->type == "first");
    CHECK(agent::Apply(rules, "ERR x", &c)->rule->type == "second");
  }

  TEST_CASE("sampling keeps about the rate, the same messages everywhere, capped by the global rate") {
    auto rules = Rules(json::parse(R"J([{"match":"[m]","extract":{"json_after":"[m]"},"type":"p",
                                        "sample_rate":200,"sample_key":"content.chain_hash"}])J"));
    agent::RuleCounters c;
    int kept = 0;
    std::vector<bool> first;
    for (int i = 0; i < 10000; ++i) {
      bool k = agent::Apply(rules, "[m]{\"chain_hash\":\"h" + std::to_string(i) + "\",\"x\":" + std::to_string(i) + "}", &c)
                   .has_value();
      kept += k;
      first.push_back(k);
    }
    CHECK(kept > 1700);
    CHECK(kept < 2300);
    CHECK(c.sampled_out == 10000u - static_cast<unsigned>(kept));
    // Another host logs the same messages with other fields: the same ones are kept.
    for (int i = 0; i < 10000; ++i) {
      bool k = agent::Apply(rules, "[m]{\"chain_hash\":\"h" + std::to_string(i) + "\",\"other\":1}", &c).has_value();
      REQUIRE(k == first[size_t(i)]);
    }
    auto capped = Rules(json::parse(R"J([{"match":"x","type":"t","sample_rate":900}])J"), 100);
    CHECK(capped[0].sample_rate == 100);
    auto none = Rules(json::parse(R"J([{"match":"x","type":"t","sample_rate":0}])J"));
    CHECK_FALSE(agent::Apply(none, "x", &c));
  }

  TEST_CASE("a regex that does not compile is named with its path") {
    std::vector<agent::Rule> rules;
    auto err = agent::BuildRules(json::parse(R"J([{"regex":"(unclosed","type":"t"}])J"), "files[2].rules", 1000, &rules);
    CHECK(err.message().rfind("files[2].rules[0].regex: does not compile: ", 0) == 0);
  }
}

TEST_SUITE("agent::config") {
  TEST_CASE("a config file fills the options, unknown keys and bad values are named") {
    agent::AgentOptions o;
    auto config = json::parse(R"J({
      "proxies": ["10.0.0.1:9090", "10.0.0.2:9090"], "token": "t", "host": "web-01", "state_dir": "/tmp/s",
      "global_sample_rate": 500,
      "batch": {"max_events": 100, "max_delay_ms": 250},
      "files": [{"path": "/var/log/a.log", "from": "head",
                 "rules": [{"name": "e", "regex": "E(?P<n>\\d)", "type": "e", "sample_rate": 800}]},
                {"path": "/var/log/b.log"}],
      "cron": {"dir": "/etc/argus/cron.d", "interval_s": 30, "scripts": {"disk.sh": {"interval_s": 300}}},
      "labels": {"role": "web"}, "spool": {"max_bytes": 1000000}, "memory_budget_bytes": 33554432,
      "config_pull_interval_s": 60, "system": {"interval_s": 10}, "heartbeat": {"interval_s": 15}})J");
    REQUIRE_OK(agent::ApplyAgentConfig(config, proto::ConfigScope::kLocal, &o));
    REQUIRE(o.ship.proxies.size() == 2);
    CHECK(o.ship.proxies[1].ToString() == "10.0.0.2:9090");
    CHECK(o.labels.at("role") == "web");
    CHECK(o.ship.spool_max_bytes == 1000000);
    CHECK(o.memory_budget_bytes == 33554432);
    CHECK(o.config_pull_interval == std::chrono::seconds(60));
    CHECK(o.system_interval == std::chrono::seconds(10));
    CHECK(o.heartbeat_interval == std::chrono::seconds(15));
    CHECK(o.host == "web-01");
    CHECK(o.ship.token == "t");
    CHECK(o.ship.max_events == 100);
    CHECK(o.ship.max_delay == std::chrono::milliseconds(250));
    REQUIRE(o.files.size() == 2);
    CHECK(o.files[0].from_head == true);
    CHECK(o.files[0].rules[0].sample_rate == 500);  // capped by the global rate
    CHECK(o.files[1].rules[0].type == "metrics");   // the default rule
    CHECK(o.cron.interval == std::chrono::seconds(30));
    CHECK(o.cron.scripts.at("disk.sh").interval == std::chrono::seconds(300));

    agent::AgentOptions untouched;
    untouched.host = "kept";
    CHECK(agent::ApplyAgentConfig(json::parse(R"J({"host":"x","filez":[]})J"), proto::ConfigScope::kLocal, &untouched).message()
              .rfind("filez: unknown key", 0) == 0);
    CHECK(agent::ApplyAgentConfig(json::parse(R"J({"host":"x","files":[{"path":"a","rules":[{"regex":"(","type":"t"}]}]})J"),
                                  proto::ConfigScope::kLocal, &untouched)
              .message()
              .rfind("files[0].rules[0].regex: does not compile", 0) == 0);
    CHECK(untouched.host == "kept");  // a refused config changes nothing
    CHECK(agent::ApplyAgentConfig(json::parse(R"J({"token":"t"})J"), proto::ConfigScope::kRemote, &untouched).message()
              .rfind("token: unknown key", 0) == 0);
    CHECK(agent::ApplyAgentConfig(json::parse(R"J({"proxies":["nohost"]})J"), proto::ConfigScope::kLocal, &untouched).message()
              .rfind("proxies[0]: ", 0) == 0);
  }

  TEST_CASE("the options in effect: local config, remote keys replacing local ones, then the command line") {
    agent::ConfigSources sources;
    sources.local = json::parse(R"J({"host":"web-01","labels":{"role":"web"},
                                     "files":[{"path":"/var/log/a.log"}],"cron":{"dir":"/etc/argus/cron.d","interval_s":30},
                                     "allow_remote_files":["/var/log/*.log"]})J");
    sources.flags = [](agent::AgentOptions* o) { o->cron.timeout = std::chrono::seconds(3); };
    agent::AgentOptions o;
    auto remote = json::parse(R"J({"files":[{"path":"/var/log/b.log"},{"path":"/var/log/c.log"}],
                                   "cron":{"timeout_s":5},"topargus":{"anything":1}})J");
    REQUIRE_OK(agent::BuildOptions(agent::AgentOptions{}, sources, remote, &o));
    CHECK(o.cron.dir == "/etc/argus/cron.d");  // the remote cron keys lie over the local ones
    REQUIRE(o.files.size() == 2);  // replaced whole, not merged
    CHECK(o.files[0].path == "/var/log/b.log");
    CHECK(o.labels.at("role") == "web");  // a key the remote config lacks stays local
    CHECK(o.cron.interval == std::chrono::seconds(30));
    CHECK(o.cron.timeout == std::chrono::seconds(3));
    CHECK(agent::BuildOptions(agent::AgentOptions{}, sources, json::parse(R"J({"state_dir":"/x"})J"), &o).message()
              .rfind("remote config: state_dir: unknown key", 0) == 0);
  }

  TEST_CASE("a remote config cannot choose the programs an agent runs nor files outside its allow list") {
    agent::ConfigSources sources;
    sources.local = json::parse(R"J({"cron":{"dir":"/etc/argus/cron.d"},"allow_remote_files":["/var/log/app/*.log"]})J");
    agent::AgentOptions o;
    o.cron.dir = "unchanged";
    auto refused = [&](const char* remote) {
      return agent::BuildOptions(agent::AgentOptions{}, sources, json::parse(remote), &o).message();
    };
    CHECK(refused(R"J({"cron":{"dir":"/usr/sbin"}})J") ==
          "remote config: cron.dir: is local-only: a remote config cannot choose the folder of programs an agent runs");
    CHECK(refused(R"J({"files":[{"path":"/etc/shadow"}]})J") ==
          "remote config: files[0].path: \"/etc/shadow\" is not allowed for a remote config (not in allow_remote_files)");
    CHECK(refused(R"J({"files":[{"path":"/var/log/app/../../../etc/shadow"}]})J").find("files[0].path") != std::string::npos);
    CHECK(refused(R"J({"allow_remote_files":["/*"]})J").find("allow_remote_files: is local-only") != std::string::npos);
    CHECK(o.cron.dir == "unchanged");  // nothing applied
    CHECK(refused(R"J({"files":[{"path":"/var/log/app/api.log"}]})J") == "");
    CHECK(o.cron.dir == "/etc/argus/cron.d");
    // Without a local allow list no remote file is allowed at all.
    sources.local.erase("allow_remote_files");
    CHECK(refused(R"J({"files":[{"path":"/var/log/app/api.log"}]})J").find("the allow list is empty") != std::string::npos);
  }
}
