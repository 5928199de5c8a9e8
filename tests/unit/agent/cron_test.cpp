#include <doctest/doctest.h>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>

#include <filesystem>
#include <thread>

#include "agent/cron.h"
#include "agent/rules.h"
#include "base/clock.h"
#include "tests/support/support.h"

using namespace argus;
using namespace std::chrono_literals;

TEST_SUITE("agent::cron") {
  TEST_CASE("the shipped example scripts print events the agent takes") {
    const std::string dir = std::string(ARGUS_FUZZ_DIR) + "/../../scripts/examples/cron";
    testing::TempDir tmp;
    // A port that is open for the TCP check, and one that is not.
    uint16_t closed = testing::FreePort();
    auto tcp = agent::RunScript(dir + "/tcp_port.sh", {"ARGUS_TCP_TARGETS=127.0.0.1:" + std::to_string(closed)}, 10s, 1 << 20);
    std::vector<proto::Event> evs;
    REQUIRE(tcp.exit_status == 0);
    REQUIRE_OK(agent::ParseScriptOutput(tcp.out, "tcp_port.sh", "h", 0, &evs));
    REQUIRE(evs.size() == 1);
    CHECK(evs[0].type == "tcp_port");
    CHECK(nlohmann::json::parse(evs[0].content)["up"] == 0);

    testing::Process sleeper({"/bin/sleep", "30"}, tmp / "sleep.log");
    auto proc = agent::RunScript(dir + "/process_alive.sh", {"ARGUS_PROCESSES=sleep no-such-process"}, 10s, 1 << 20);
    evs.clear();
    REQUIRE(proc.exit_status == 0);
    REQUIRE_OK(agent::ParseScriptOutput(proc.out, "process_alive.sh", "h", 0, &evs));
    REQUIRE(evs.size() == 2);
    CHECK(nlohmann::json::parse(evs[0].content)["running"] == 1);  // the sleeper
    CHECK(nlohmann::json::parse(evs[1].content)["running"] == 0);

    auto disk = agent::RunScript(dir + "/disk_usage.sh", {}, 10s, 1 << 20);
    evs.clear();
    REQUIRE(disk.exit_status == 0);
    REQUIRE_OK(agent::ParseScriptOutput(disk.out, "disk_usage.sh", "h", 0, &evs));
    CHECK(!evs.empty());
  }

  TEST_CASE("a script's output, exit status and environment") {
    testing::TempDir dir;
    testing::WriteFile(dir / "s.sh", "#!/bin/sh\necho \"{\\\"type\\\":\\\"t\\\",\\\"h\\\":\\\"$ARGUS_HOST\\\"}\"\necho oops >&2\nexit 3\n", 0755);
    auto run = agent::RunScript(dir / "s.sh", {"ARGUS_HOST=box"}, 5s, 1 << 20);
    CHECK(run.exit_status == 3);
    CHECK_FALSE(run.timed_out);
    CHECK(run.out == "{\"type\":\"t\",\"h\":\"box\"}\n");
    CHECK(run.err == "oops\n");
  }

  TEST_CASE("a hung script is killed with its whole process group at the timeout") {
    testing::TempDir dir;
    std::string pidfile = dir / "child.pid";
    // The child ignores nothing special but outlives its parent unless the group is killed.
    testing::WriteFile(dir / "hang.sh", "#!/bin/sh\nsleep 300 &\necho $! > " + pidfile + "\nsleep 300\n", 0755);
    // The timeout is on a clock that moves only when told: the script has all the real
    // time it needs to start, however loaded the machine.
    base::ManualClock clock;
    agent::ScriptRun run;
    std::atomic<bool> returned{false};
    std::thread runner([&] {
      run = agent::RunScript(dir / "hang.sh", {}, 3s, 1 << 20, nullptr, clock);
      returned = true;
    });
    REQUIRE(testing::WaitFor([&] { return !testing::ReadFile(pidfile).empty(); }, 20s));
    clock.Advance(2999ms);
    std::this_thread::sleep_for(300ms);  // three of RunScript's wake-ups: a wrong deadline would act now
    const bool early = returned.load();
    clock.Advance(1ms);
    runner.join();
    CHECK_FALSE(early);
    CHECK(run.timed_out);
    CHECK(run.exit_status == 128 + SIGTERM);
    int child = std::stoi(testing::ReadFile(pidfile));
    // The grandchild got the group's signal too.
    CHECK(testing::WaitFor([&] { return ::kill(child, 0) != 0; }, 5s));
  }

  TEST_CASE("output forms: object, array, JSON lines, content or flat fields") {
    std::vector<proto::Event> evs;
    CHECK_OK(agent::ParseScriptOutput(R"({"type":"a","v":1})", "s", "h", 60000, &evs));
    REQUIRE(evs.size() == 1);
    CHECK(nlohmann::json::parse(evs[0].content) == nlohmann::json{{"v", 1}});
    CHECK(evs[0].ts == 60000);
    CHECK(evs[0].host == "h");
    evs.clear();
    CHECK_OK(agent::ParseScriptOutput(R"([{"type":"a","content":{"x":2}},{"type":"b","priority":"high"}])", "s", "h", 0, &evs));
    REQUIRE(evs.size() == 2);
    CHECK(nlohmann::json::parse(evs[0].content) == nlohmann::json{{"x", 2}});
    CHECK(evs[1].priority == proto::Priority::kHigh);
    CHECK(evs[0].id != evs[1].id);
    evs.clear();
    CHECK_OK(agent::ParseScriptOutput("{\"type\":\"a\"}\n\n{\"type\":\"b\"}\n", "s", "h", 0, &evs));
    CHECK(evs.size() == 2);
    evs.clear();
    CHECK(agent::ParseScriptOutput("", "s", "h", 0, &evs).message() == "script printed nothing");
    CHECK(agent::ParseScriptOutput("{\"v\":1}", "s", "h", 0, &evs).message() == "output item 0 has no valid \"type\"");
    CHECK(agent::ParseScriptOutput("not json", "s", "h", 0, &evs).message().find("output is neither JSON nor JSON lines") == 0);
  }

  TEST_CASE("output nested a million deep is refused without building it") {
    std::vector<proto::Event> evs;
    CHECK(agent::ParseScriptOutput(std::string(1 << 20, '['), "deep.sh", "h", 0, &evs).message() ==
          "output nests deeper than 64 levels");
    std::string lines = "{\"type\":\"ok\"}\n" + std::string(100, '[') + "\n";
    CHECK(agent::ParseScriptOutput(lines, "deep.sh", "h", 0, &evs).message() == "output nests deeper than 64 levels");
    CHECK(evs.empty());
  }

  TEST_CASE("ids depend on host, script and slot only, so a rerun repeats them") {
    std::vector<proto::Event> a, b, c;
    REQUIRE_OK(agent::ParseScriptOutput(R"({"type":"a"})", "s", "h", 60000, &a));
    REQUIRE_OK(agent::ParseScriptOutput(R"({"type":"a"})", "s", "h", 60000, &b));
    REQUIRE_OK(agent::ParseScriptOutput(R"({"type":"a"})", "s", "h", 120000, &c));
    CHECK(a[0].id == b[0].id);
    CHECK(a[0].id != c[0].id);
  }

  TEST_CASE("the runner runs new scripts at once, failures become argus.cron_error") {
    testing::TempDir dir;
    testing::WriteFile(dir / "ok.sh", "#!/bin/sh\necho '{\"type\":\"ok\"}'\n", 0755);
    testing::WriteFile(dir / "bad.sh", "#!/bin/sh\necho boom >&2\nexit 2\n", 0755);
    testing::WriteFile(dir / "notexec.sh", "#!/bin/sh\necho '{\"type\":\"no\"}'\n", 0644);
    agent::CronOptions o;
    o.dir = dir.path();
    o.interval = 60s;
    o.host = "h";
    agent::CronRunner runner(o);
    auto now = std::chrono::system_clock::time_point(std::chrono::seconds(6000));
    runner.RunDue(now);
    auto evs = runner.Drain();
    REQUIRE(evs.size() == 2);
    std::sort(evs.begin(), evs.end(), [](const auto& a, const auto& b) { return a.type < b.type; });
    CHECK(evs[0].type == "argus.cron_error");
    auto err = nlohmann::json::parse(evs[0].content);
    CHECK(err["script"] == "bad.sh");
    CHECK(err["exit_status"] == 2);
    CHECK(err["stderr_tail"] == "boom\n");
    CHECK(evs[1].type == "ok");
    runner.RunDue(now + 30s);
    CHECK(runner.Drain().empty());  // not due again within the interval
    runner.RunDue(now + 60s);
    CHECK(runner.Drain().size() == 2);
    CHECK(runner.counters().runs == 4);
    CHECK(runner.counters().failures == 2);
  }

  TEST_CASE("only scripts owned by root or the agent's user and writable by nobody else are run") {
    testing::TempDir dir;
    const std::string marker = dir / "ran";
    auto script = [&](const std::string& name) {
      return "#!/bin/sh\necho " + name + " >> '" + marker + "'\necho '{\"type\":\"ok\"}'\n";
    };
    testing::WriteFile(dir / "good.sh", script("good"), 0755);
    testing::WriteFile(dir / "group_writable.sh", script("group_writable"), 0775);
    testing::WriteFile(dir / "world_writable.sh", script("world_writable"), 0757);
    CHECK_OK(agent::CheckScriptTrust(dir / "good.sh"));
    CHECK(agent::CheckScriptTrust(dir / "group_writable.sh").message() == "is writable by group or others (chmod go-w)");
    size_t expected_refused = 2;
    if (::geteuid() == 0) {
      // Owned by someone else (nobody): refused, as is a symlink that someone else owns.
      testing::WriteFile(dir / "foreign.sh", script("foreign"), 0755);
      REQUIRE(::chown((dir / "foreign.sh").c_str(), 65534, 65534) == 0);
      CHECK(agent::CheckScriptTrust(dir / "foreign.sh").message().rfind("is owned by uid 65534", 0) == 0);
      REQUIRE(::symlink((dir / "good.sh").c_str(), (dir / "link.sh").c_str()) == 0);
      REQUIRE(::lchown((dir / "link.sh").c_str(), 65534, 65534) == 0);
      CHECK(agent::CheckScriptTrust(dir / "link.sh").message() == "is a symlink owned by uid 65534");
      expected_refused += 2;
    }
    agent::CronOptions o;
    o.dir = dir.path();
    o.host = "h";
    agent::CronRunner runner(o);
    auto now = std::chrono::system_clock::time_point(std::chrono::seconds(6000));
    runner.RunDue(now);
    auto evs = runner.Drain();
    REQUIRE(evs.size() == 1);
    CHECK(evs[0].type == "ok");
    CHECK(testing::ReadFile(marker) == "good\n");
    CHECK(runner.counters().refused == expected_refused);
    runner.RunDue(now + 60s);
    runner.Drain();
    CHECK(runner.counters().refused == expected_refused);  // a refusal is counted (and logged) once
    // Fixed: run from the next look on.
    ::chmod((dir / "group_writable.sh").c_str(), 0755);
    runner.RunDue(now + 120s);
    CHECK(runner.Drain().size() == 2);
  }

  TEST_CASE("Cancel stops the runs in flight (a bounded shutdown) and makes no error event of them") {
    testing::TempDir dir;
    std::filesystem::create_directories(dir / "cron");
    std::string pidfile = dir / "pid";
    testing::WriteFile(dir / "cron/hang.sh", "#!/bin/sh\necho $$ > " + pidfile + "\nsleep 300\n", 0755);
    agent::CronOptions o;
    o.dir = dir / "cron";
    o.timeout = std::chrono::seconds(3600);
    agent::CronRunner runner(o);
    CHECK(runner.RunDue(std::chrono::system_clock::now()).empty());
    REQUIRE(testing::WaitFor([&] { return !testing::ReadFile(pidfile).empty(); }, 10s));
    int pid = std::stoi(testing::ReadFile(pidfile));
    runner.Cancel();
    CHECK(runner.Drain().empty());  // returns: the script did not get its hour
    CHECK(::kill(pid, 0) != 0);
    CHECK(runner.counters().timeouts == 0);
  }

  TEST_CASE("a hung script delays no other script, and its next run is skipped while it hangs") {
    testing::TempDir dir;
    testing::WriteFile(dir / "hang.sh", "#!/bin/sh\nsleep 30\n", 0755);
    testing::WriteFile(dir / "quick.sh", "#!/bin/sh\necho '{\"type\":\"quick\"}'\n", 0755);
    agent::CronOptions o;
    o.dir = dir.path();
    o.interval = 60s;
    o.timeout = 3s;
    o.scripts["quick.sh"].interval = 1s;
    o.host = "h";
    // Timeouts run on a clock that stands still until the test moves it: hang.sh cannot
    // time out early on a slow machine, and quick.sh has all the real time it needs.
    base::ManualClock clock;
    agent::CronRunner runner(o, clock);
    auto now = std::chrono::system_clock::time_point(std::chrono::seconds(6000));
    std::vector<proto::Event> got;
    // quick.sh runs every (simulated) second and reports while hang.sh hangs. The next
    // second comes only once quick.sh reported, so it is never due while it runs.
    int slot = 0;
    REQUIRE(testing::WaitFor([&] {
      auto evs = runner.RunDue(now + std::chrono::seconds(slot));
      if (!evs.empty()) ++slot;
      got.insert(got.end(), evs.begin(), evs.end());
      return got.size() >= 3;
    }, 60s));
    for (const auto& e : got) CHECK(e.type == "quick");
    CHECK(runner.counters().timeouts == 0);  // hang.sh is still running
    runner.RunDue(now + 60s);                // hang.sh due again while it runs: skipped
    CHECK(runner.counters().skipped == 1);
    clock.Advance(3s);  // now hang.sh's time is up
    auto rest = runner.Drain();
    CHECK(runner.counters().timeouts == 1);
    bool killed = false;
    for (const auto& e : rest) killed = killed || (e.type == "argus.cron_error" && e.content.find("timed out") != std::string::npos);
    CHECK(killed);
  }
}

TEST_SUITE("agent::rules") {
  TEST_CASE("default rule extracts JSON after [metrics]") {
    std::vector<agent::Rule> rules = {agent::DefaultLogRule()};
    agent::RuleCounters c;
    auto m = agent::Apply(rules, R"(2026 INFO [metrics]{"a":1,"b":{"c":"x"}})", &c);
    REQUIRE(m);
    CHECK(m->rule->type == "metrics");
    CHECK(nlohmann::json::parse(m->content) == nlohmann::json{{"a", 1}, {"b", {{"c", "x"}}}});
    CHECK_FALSE(agent::Apply(rules, "plain line", &c));
    CHECK_FALSE(agent::Apply(rules, "[metrics]not json", &c));
    CHECK_FALSE(agent::Apply(rules, "[metrics][1,2]", &c));
    CHECK(c.matched == 1);
    CHECK(c.extract_failed == 2);
    // Invalid UTF-8 inside the JSON: replaced, the line kept.
    auto bad = agent::Apply(rules, "x [metrics]{\"who\":\"caf\xe9\"} \r", &c);
    REQUIRE(bad);
    CHECK(nlohmann::json::parse(bad->content)["who"] == "caf\xef\xbf\xbd");
  }

  TEST_CASE("a rule without extraction keeps the line, invalid UTF-8 made safe") {
    agent::Rule r;
    r.match = "ERROR";
    r.type = "err";
    agent::RuleCounters c;
    auto m = agent::Apply({r}, std::string("ERROR \xff here"), &c);
    REQUIRE(m);
    CHECK(nlohmann::json::parse(m->content)["line"].get<std::string>().find("ERROR ") == 0);
    CHECK(nlohmann::json::accept(m->content));
  }
}
