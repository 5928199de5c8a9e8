// Runs every executable in the cron folder on its interval, with a timeout that kills
// the script's whole process group. A script prints one JSON object, an array of them,
// or JSON lines, each with a "type"; failures become argus.cron_error events. Scripts
// run side by side, each on its own thread: a hung one delays nobody but itself, and
// its next run is skipped (and counted) while it still runs.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "proto/event.h"

namespace argus::agent {

// A script's own interval and timeout (config "cron.scripts.<name>").
struct ScriptSettings {
  std::optional<std::chrono::seconds> interval, timeout;
};

struct CronOptions {
  std::string dir;
  std::chrono::seconds interval{60};
  std::chrono::seconds timeout{10};
  std::map<std::string, ScriptSettings> scripts;  // by file name
  size_t max_output_bytes = 1024 * 1024;
  size_t max_parallel = 16;  // scripts running at once; the rest wait for a free slot
  std::string host;
};

struct CronCounters {
  uint64_t runs = 0, failures = 0, timeouts = 0, events = 0, skipped = 0;
  uint64_t refused = 0;  // looks at files refused by CheckScriptTrust (one per file and reason)
};

// Ok when the file at `path` may be run, else Invalid saying why: it must be a regular
// executable file owned by root or by the agent's own user and writable by nobody
// else (group and others); a symlink must itself be owned by one of them. Anyone who
// could change a script could otherwise run code as the agent.
base::Status CheckScriptTrust(const std::string& path);

// The outcome of one run of one script.
struct ScriptRun {
  int exit_status = -1;  // exit code, or 128 + signal
  bool timed_out = false;
  bool cancelled = false;  // stopped because the agent is stopping
  std::string out, err;  // bounded
};

// Runs `path` with `env` added to the environment; never waits past `timeout` on
// `clock` (or `cancel` turning true) plus a one-second grace after SIGTERM. Reaps the
// child. Throws nothing.
ScriptRun RunScript(const std::string& path, const std::vector<std::string>& env,
                    std::chrono::milliseconds timeout, size_t max_output_bytes,
                    const std::atomic<bool>* cancel = nullptr, const base::Clock& clock = base::SystemClock());

// Parses a script's stdout into events (ids derived from host, script and slot).
// Invalid says what was wrong with the output.
base::Status ParseScriptOutput(const std::string& out, const std::string& script, const std::string& host,
                              int64_t slot_ms, std::vector<proto::Event>* events);

class CronRunner {
 public:
  // Script timeouts are measured on `clock`.
  explicit CronRunner(CronOptions options, const base::Clock& clock = base::SystemClock());
  // New settings (live config): they apply from the next RunDue; runs in flight keep
  // the ones they started with.
  void SetOptions(CronOptions options);
  // Waits for the runs in flight (each ends within its timeout and grace).
  ~CronRunner();
  // Starts the scripts due at `now` and returns the events of runs that finished since
  // the last call. Scripts that appeared since the last call are due at once; removed
  // ones are forgotten. A script still running when due again is skipped that time.
  std::vector<proto::Event> RunDue(std::chrono::system_clock::time_point now);
  // Waits until no run is in flight, then returns what the last ones produced.
  std::vector<proto::Event> Drain();
  // Stops the runs in flight (their process groups get SIGTERM, then SIGKILL); for a
  // bounded shutdown. Their output is dropped.
  void Cancel() { cancel_ = true; }
  CronCounters counters() const;

 private:
  struct Running;
  // Runs one script and files its events; on its own thread.
  void RunOne(const CronOptions& options, const std::string& name, int64_t slot, std::chrono::seconds interval,
              std::chrono::seconds timeout);
  void JoinFinished();

  const base::Clock& clock_;
  std::shared_ptr<const CronOptions> options_;  // replaced whole; runs keep theirs
  std::map<std::string, int64_t> next_due_ms_;  // script name -> next slot start
  std::map<std::string, std::string> refused_;    // script name -> why it is not run (logged once)
  mutable std::mutex mu_;
  std::condition_variable done_;
  std::map<std::string, std::unique_ptr<Running>> running_;  // by script name
  std::vector<proto::Event> finished_;
  CronCounters counters_;
  std::atomic<bool> cancel_{false};
};

}  // namespace argus::agent
