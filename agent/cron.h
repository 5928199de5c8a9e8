// Runs every executable in the cron folder on its interval, with a timeout that kills
// the script's whole process group. A script prints one JSON object, an array of them,
// or JSON lines, each with a "type"; failures become argus.cron_error events.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "proto/event.h"

namespace argus::agent {

struct CronOptions {
  std::string dir;
  std::chrono::seconds interval{60};
  std::chrono::seconds timeout{10};
  size_t max_output_bytes = 1024 * 1024;
  std::string host;
};

struct CronCounters {
  uint64_t runs = 0, failures = 0, timeouts = 0, events = 0;
};

// The outcome of one run of one script.
struct ScriptRun {
  int exit_status = -1;  // exit code, or 128 + signal
  bool timed_out = false;
  std::string out, err;  // bounded
};

// Runs `path` with `env` added to the environment; never waits past `timeout` plus a
// one-second grace after SIGTERM. Reaps the child. Throws nothing.
ScriptRun RunScript(const std::string& path, const std::vector<std::string>& env,
                    std::chrono::milliseconds timeout, size_t max_output_bytes);

// Parses a script's stdout into events (ids derived from host, script and slot).
// Returns an empty string on success, else what was wrong with the output.
std::string ParseScriptOutput(const std::string& out, const std::string& script, const std::string& host,
                              int64_t slot_ms, std::vector<proto::Event>* events);

class CronRunner {
 public:
  explicit CronRunner(CronOptions options);
  // Runs the scripts that are due at `now`; returns their events. Scripts that
  // appeared since the last call are due at once; removed ones are forgotten.
  std::vector<proto::Event> RunDue(std::chrono::system_clock::time_point now);
  const CronCounters& counters() const { return counters_; }

 private:
  CronOptions options_;
  std::map<std::string, int64_t> next_due_ms_;  // script name -> next slot start
  CronCounters counters_;
};

}  // namespace argus::agent
