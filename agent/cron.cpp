#include "agent/cron.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "proto/hash.h"
#include "proto/json_depth.h"

extern char** environ;

namespace argus::agent {
namespace {

int64_t ToMs(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// Waits for the child until `clock` reaches `deadline`; true when reaped.
bool WaitUntil(pid_t pid, int* status, const base::Clock& clock, base::Clock::SteadyTime deadline) {
  while (true) {
    pid_t r = ::waitpid(pid, status, WNOHANG);
    if (r == pid || (r < 0 && errno != EINTR)) return true;
    if (clock.Steady() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string Tail(const std::string& s, size_t n) { return s.size() <= n ? s : s.substr(s.size() - n); }

}  // namespace

ScriptRun RunScript(const std::string& path, const std::vector<std::string>& env,
                    std::chrono::milliseconds timeout, size_t max_output_bytes, const std::atomic<bool>* cancel,
                    const base::Clock& clock) {
  ScriptRun run;
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    run.err = std::string("pipe: ") + std::strerror(errno);
    return run;
  }
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    run.err = std::string("pipe: ") + std::strerror(errno);
    return run;
  }
  // Everything the child needs is built before fork: after it, only exec-safe calls.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
  env_strings.insert(env_strings.end(), env.begin(), env.end());
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string arg0 = path;
  char* argv[] = {arg0.data(), nullptr};

  pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::close_range(3, ~0U, 0);  // sockets and files of the agent stay out of scripts
    ::execve(path.c_str(), argv, envp.data());
    _exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (pid < 0) {
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    run.err = std::string("fork: ") + std::strerror(errno);
    return run;
  }
  ::setpgid(pid, pid);

  const auto deadline = clock.Steady() + timeout;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&run.out, &run.err};
  int open_fds = 2;
  char buf[8192];
  while (open_fds > 0) {
    if (cancel && cancel->load()) {
      run.cancelled = true;
      break;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock.Steady()).count();
    if (left <= 0) {
      run.timed_out = true;
      break;
    }
    // Wake now and then to look at `cancel` and the clock (which a test may move).
    int r = ::poll(fds, 2, static_cast<int>(std::min<int64_t>(left, 100)));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof(buf));
      if (n <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
        continue;
      }
      // Past the limit output is read and dropped, so the script never blocks on a full pipe.
      size_t room = max_output_bytes > sinks[i]->size() ? max_output_bytes - sinks[i]->size() : 0;
      sinks[i]->append(buf, std::min(room, static_cast<size_t>(n)));
    }
  }
  for (auto& f : fds) {
    if (f.fd >= 0) ::close(f.fd);
  }
  int status = 0;
  if (run.cancelled || run.timed_out || !WaitUntil(pid, &status, clock, deadline)) {
    run.timed_out = !run.cancelled;
    ::kill(-pid, SIGTERM);
    // The grace is the process's real time to exit, whatever clock measured the timeout.
    const base::Clock& real = base::SystemClock();
    if (!WaitUntil(pid, &status, real, real.Steady() + std::chrono::seconds(1))) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
    }
    // Children that left the group's leader behind get the same end.
    ::kill(-pid, SIGKILL);
  }
  run.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return run;
}

base::Status ParseScriptOutput(const std::string& out, const std::string& script, const std::string& host,
                              int64_t slot_ms, std::vector<proto::Event>* events) {
  using nlohmann::json;
  // The output is a script's, not ours: bound its nesting before building a tree of it
  // (1 MiB of '[' is a million nested arrays).
  constexpr size_t kMaxDepth = 64;
  if (proto::JsonDepth(out, kMaxDepth) > kMaxDepth) {
    return base::Status::Invalid("output nests deeper than " + std::to_string(kMaxDepth) + " levels");
  }
  std::vector<json> objects;
  json whole = json::parse(out, nullptr, false);
  if (!whole.is_discarded()) {
    if (whole.is_array()) {
      for (auto& o : whole) objects.push_back(std::move(o));
    } else {
      objects.push_back(std::move(whole));
    }
  } else {
    // JSON lines.
    size_t start = 0;
    while (start < out.size()) {
      size_t nl = out.find('\n', start);
      std::string_view line(out.data() + start, (nl == std::string::npos ? out.size() : nl) - start);
      start = nl == std::string::npos ? out.size() : nl + 1;
      if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      json o = json::parse(line, nullptr, false);
      if (o.is_discarded()) return base::Status::Invalid("output is neither JSON nor JSON lines: " + std::string(line.substr(0, 120)));
      objects.push_back(std::move(o));
    }
  }
  if (objects.empty()) return base::Status::Invalid("script printed nothing");
  std::string base = "c" + proto::Hex64(proto::HashParts({host, script})) + "-" + std::to_string(slot_ms);
  for (size_t i = 0; i < objects.size(); ++i) {
    json& o = objects[i];
    if (!o.is_object()) return base::Status::Invalid("output item " + std::to_string(i) + " is not a JSON object");
    if (!o.contains("type") || !o["type"].is_string() || !proto::IsValidType(o["type"].get<std::string>())) {
      return base::Status::Invalid("output item " + std::to_string(i) + " has no valid \"type\"");
    }
    proto::Event e;
    e.type = o["type"].get<std::string>();
    e.host = host;
    e.ts = slot_ms;
    e.id = base + "-" + std::to_string(i);
    if (o.contains("priority") && o["priority"] == "high") e.priority = proto::Priority::kHigh;
    if (o.contains("content")) {
      if (!o["content"].is_object()) return base::Status::Invalid("output item " + std::to_string(i) + " has a non-object \"content\"");
      e.content = o["content"].dump();
    } else {
      // A flat object: every other field is content.
      json content = json::object();
      for (auto& [k, v] : o.items()) {
        if (k != "type" && k != "priority") content[k] = v;
      }
      e.content = content.dump();
    }
    events->push_back(std::move(e));
  }
  return {};
}

base::Status CheckScriptTrust(const std::string& path) {
  const uid_t self = ::geteuid();
  auto owner_ok = [self](const struct stat& st) { return st.st_uid == 0 || st.st_uid == self; };
  struct stat link {}, st {};
  if (::lstat(path.c_str(), &link) != 0 || ::stat(path.c_str(), &st) != 0) {
    return base::Status::Invalid(std::string("cannot be read: ") + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return base::Status::Invalid("is not a regular file");
  if (S_ISLNK(link.st_mode) && !owner_ok(link)) return base::Status::Invalid("is a symlink owned by uid " + std::to_string(link.st_uid));
  if (!owner_ok(st)) {
    return base::Status::Invalid("is owned by uid " + std::to_string(st.st_uid) + " (only root or the agent's uid " + std::to_string(self) +
           " may own a script)");
  }
  if (st.st_mode & (S_IWGRP | S_IWOTH)) return base::Status::Invalid("is writable by group or others (chmod go-w)");
  if (::access(path.c_str(), X_OK) != 0) return base::Status::Invalid("is not executable");
  return {};
}

struct CronRunner::Running {
  std::thread thread;
  bool done = false;
};

CronRunner::CronRunner(CronOptions options, const base::Clock& clock)
    : clock_(clock), options_(std::make_shared<const CronOptions>(std::move(options))) {}

void CronRunner::SetOptions(CronOptions options) {
  options_ = std::make_shared<const CronOptions>(std::move(options));
}

CronRunner::~CronRunner() { Drain(); }

CronCounters CronRunner::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

void CronRunner::JoinFinished() {
  std::vector<std::unique_ptr<Running>> ended;
  {
    std::lock_guard lock(mu_);
    for (auto it = running_.begin(); it != running_.end();) {
      if (it->second->done) {
        ended.push_back(std::move(it->second));
        it = running_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& r : ended) r->thread.join();
}

std::vector<proto::Event> CronRunner::Drain() {
  {
    std::unique_lock lock(mu_);
    done_.wait(lock, [this] {
      for (const auto& [name, r] : running_) {
        if (!r->done) return false;
      }
      return true;
    });
  }
  JoinFinished();
  std::lock_guard lock(mu_);
  return std::exchange(finished_, {});
}

std::vector<proto::Event> CronRunner::RunDue(std::chrono::system_clock::time_point now) {
  JoinFinished();
  const std::shared_ptr<const CronOptions> options = options_;
  if (!options->dir.empty()) {
    std::set<std::string> present;
    if (DIR* d = ::opendir(options->dir.c_str())) {
      while (dirent* ent = ::readdir(d)) {
        std::string name = ent->d_name;
        if (name.empty() || name[0] == '.' || name.back() == '~') continue;
        std::string path = options->dir + "/" + name;
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || ::access(path.c_str(), X_OK) != 0) continue;
        if (base::Status trust = CheckScriptTrust(path); !trust.ok()) {
          const std::string& why = trust.message();
          std::lock_guard lock(mu_);
          if (std::exchange(refused_[name], why) != why) {
            ++counters_.refused;
            spdlog::error("cron: not running {}: it {}", path, why);
          }
          continue;
        }
        if (refused_.erase(name)) spdlog::info("cron: {} is trusted now", path);
        present.insert(name);
      }
      ::closedir(d);
    }
    for (auto it = next_due_ms_.begin(); it != next_due_ms_.end();) {
      if (!present.count(it->first)) spdlog::info("cron: script {} removed", it->first);
      it = present.count(it->first) ? std::next(it) : next_due_ms_.erase(it);
    }
    const int64_t now_ms = ToMs(now);
    for (const auto& name : present) {
      const auto own = options->scripts.count(name) ? options->scripts.at(name) : ScriptSettings{};
      const auto interval = own.interval.value_or(options->interval);
      const auto timeout = own.timeout.value_or(options->timeout);
      const int64_t interval_ms = std::chrono::duration_cast<std::chrono::milliseconds>(interval).count();
      const int64_t slot = now_ms - now_ms % interval_ms;
      auto [it, fresh] = next_due_ms_.try_emplace(name, slot);
      if (fresh) spdlog::info("cron: new script {}, every {} s", name, interval.count());
      if (now_ms < it->second) continue;
      std::lock_guard lock(mu_);
      if (running_.count(name)) {
        // Still running from its last slot: this slot is skipped, not queued behind it.
        it->second = slot + interval_ms;
        ++counters_.skipped;
        spdlog::warn("cron: {} is still running; skipping its run due now", name);
        continue;
      }
      if (running_.size() >= options->max_parallel) break;  // the rest stay due
      // The slot, not the clock, names the run: a rerun after a restart repeats its ids.
      it->second = slot + interval_ms;
      ++counters_.runs;
      auto r = std::make_unique<Running>();
      Running* raw = r.get();
      running_[name] = std::move(r);
      raw->thread = std::thread([this, options, name, slot, interval, timeout] { RunOne(*options, name, slot, interval, timeout); });
    }
  }
  std::lock_guard lock(mu_);
  return std::exchange(finished_, {});
}

void CronRunner::RunOne(const CronOptions& options, const std::string& name, int64_t slot,
                        std::chrono::seconds interval, std::chrono::seconds timeout) {
  ScriptRun run = RunScript(options.dir + "/" + name,
                            {"ARGUS_HOST=" + options.host, "ARGUS_SCRIPT=" + name,
                             "ARGUS_INTERVAL_S=" + std::to_string(interval.count())},
                            timeout, options.max_output_bytes, &cancel_, clock_);
  std::vector<proto::Event> produced;
  std::string error;
  if (run.cancelled) {
    spdlog::info("cron: {} stopped, the agent is stopping", name);
  } else if (run.timed_out) {
    error = "timed out after " + std::to_string(timeout.count()) + " s and was killed";
  } else if (run.exit_status != 0) {
    error = "exited with status " + std::to_string(run.exit_status);
  } else {
    error = ParseScriptOutput(run.out, name, options.host, slot, &produced).message();
  }
  if (!error.empty() && !run.cancelled) {
    spdlog::warn("cron: {} {}", name, error);
    produced.clear();
    proto::Event e;
    e.type = "argus.cron_error";
    e.host = options.host;
    e.ts = slot;
    e.id = "c" + proto::Hex64(proto::HashParts({options.host, name})) + "-" + std::to_string(slot) + "-error";
    // stderr is raw bytes: invalid UTF-8 is replaced, not allowed to break the JSON.
    e.content = nlohmann::json{{"script", name}, {"error", error}, {"exit_status", run.exit_status},
                               {"timed_out", run.timed_out}, {"stderr_tail", Tail(run.err, 2048)}}
                    .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    produced.push_back(std::move(e));
  }
  std::lock_guard lock(mu_);
  if (run.timed_out) ++counters_.timeouts;
  if (error.empty()) {
    counters_.events += produced.size();
  } else {
    ++counters_.failures;
  }
  for (auto& e : produced) finished_.push_back(std::move(e));
  running_.at(name)->done = true;
  done_.notify_all();
}

}  // namespace argus::agent
