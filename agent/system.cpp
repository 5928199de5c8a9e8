#include "agent/system.h"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <fstream>
#include <thread>
#include <set>
#include <sstream>

namespace argus::agent {

using nlohmann::json;

namespace {

// Filesystems that hold no user data: their usage means nothing to an operator.
const std::set<std::string> kPseudo = {
    "proc",     "sysfs",   "devpts",  "devtmpfs", "tmpfs",      "cgroup",      "cgroup2",    "securityfs",
    "pstore",   "bpf",     "debugfs", "tracefs",  "mqueue",     "hugetlbfs",   "configfs",   "fusectl",
    "autofs",   "binfmt_misc", "nsfs", "ramfs",   "rpc_pipefs", "squashfs",    "efivarfs",   "selinuxfs",
    "fuse.lxcfs", "nfsd"};

constexpr size_t kMaxMounts = 64;  // what the consumer keeps per sample

double Round(double v, double unit = 100) { return static_cast<double>(static_cast<int64_t>(v * unit + 0.5)) / unit; }

// /proc/mounts escapes spaces and the like as \040.
std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    auto octal = [&](size_t k) { return s[k] >= '0' && s[k] <= '7'; };
    if (s[i] == '\\' && i + 3 < s.size() && octal(i + 1) && octal(i + 2) && octal(i + 3)) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

json ReadDisks(const std::string& proc) {
  json disks = json::object();
  std::set<uint64_t> devices;  // a bind mount shows the same filesystem again
  std::ifstream mounts(proc + "/self/mounts");
  std::string line;
  while (std::getline(mounts, line) && disks.size() < kMaxMounts) {
    std::istringstream in(line);
    std::string dev, dir, type;
    if (!(in >> dev >> dir >> type) || kPseudo.count(type)) continue;
    dir = Unescape(dir);
    struct stat st {};
    struct statvfs vfs {};
    if (::stat(dir.c_str(), &st) != 0 || ::statvfs(dir.c_str(), &vfs) != 0 || vfs.f_blocks == 0) continue;
    if (!devices.insert(static_cast<uint64_t>(st.st_dev)).second) continue;
    uint64_t size = static_cast<uint64_t>(vfs.f_blocks) * vfs.f_frsize;
    uint64_t used = static_cast<uint64_t>(vfs.f_blocks - vfs.f_bfree) * vfs.f_frsize;
    uint64_t avail = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
    // As df: the share of what non-root users can use.
    double pct = used + avail > 0 ? 100.0 * static_cast<double>(used) / static_cast<double>(used + avail) : 0;
    disks[dir] = {{"total_bytes", size}, {"used_bytes", used}, {"pct", Round(pct)}};
  }
  return disks;
}

}  // namespace

DiskProbe::DiskProbe(std::function<json()> read) : read_(std::move(read)), state_(std::make_shared<State>()) {}

std::optional<json> DiskProbe::Read(std::chrono::milliseconds timeout) {
  std::unique_lock lock(state_->mu);
  if (state_->busy) return std::nullopt;  // the last read still hangs: no second thread behind it
  state_->busy = true;
  state_->result.reset();
  // Detached, holding what it needs: a read that never returns must not hold the agent.
  std::thread([state = state_, read = read_] {
    json disks = read();
    std::lock_guard l(state->mu);
    state->result = std::move(disks);
    state->busy = false;
    state->done.notify_all();
  }).detach();
  state_->done.wait_for(lock, timeout, [this] { return state_->result.has_value(); });
  return std::exchange(state_->result, std::nullopt);
}

SystemSampler::SystemSampler(std::string proc, std::function<json()> read_disks, std::chrono::milliseconds disk_timeout,
                             const base::Clock& clock)
    : proc_(std::move(proc)),
      clock_(clock),
      disks_(read_disks ? std::move(read_disks) : [p = proc_] { return ReadDisks(p); }),
      disk_timeout_(disk_timeout) {}

SystemSampler::Counters SystemSampler::Read(int* cores) const {
  Counters c;
  c.at = clock_.Steady();
  *cores = 0;
  std::ifstream stat(proc_ + "/stat");
  std::string line;
  while (std::getline(stat, line)) {
    if (line.rfind("cpu ", 0) == 0) {
      std::istringstream in(line.substr(4));
      uint64_t v[8] = {0};
      for (auto& x : v) in >> x;
      // user nice system idle iowait irq softirq steal; guest time is inside user.
      for (auto x : v) c.cpu_total += x;
      c.cpu_idle = v[3] + v[4];
    } else if (line.rfind("cpu", 0) == 0) {
      ++*cores;
    }
  }
  std::ifstream net(proc_ + "/net/dev");
  while (std::getline(net, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;  // the two header lines
    std::string name = line.substr(0, colon);
    name.erase(0, name.find_first_not_of(' '));
    if (name == "lo") continue;
    std::istringstream in(line.substr(colon + 1));
    uint64_t f[10] = {0};
    for (auto& x : f) in >> x;
    c.rx_bytes += f[0];
    c.rx_packets += f[1];
    c.tx_bytes += f[8];
    c.tx_packets += f[9];
  }
  return c;
}

std::optional<json> SystemSampler::Sample(int interval_s) {
  int cores = 0;
  Counters now = Read(&cores);
  std::optional<Counters> last = last_;
  last_ = now;
  if (!last) return std::nullopt;

  json out;
  out["interval_s"] = interval_s;
  uint64_t dtotal = now.cpu_total - last->cpu_total, didle = now.cpu_idle - last->cpu_idle;
  if (now.cpu_total >= last->cpu_total && dtotal > 0 && didle <= dtotal) {
    out["cpu"]["pct"] = Round(100.0 * static_cast<double>(dtotal - didle) / static_cast<double>(dtotal));
  }
  out["cpu"]["cores"] = cores;

  std::ifstream meminfo(proc_ + "/meminfo");
  std::string key;
  uint64_t value = 0, total = 0, available = 0;
  std::string unit;
  while (meminfo >> key >> value) {
    std::getline(meminfo, unit);
    if (key == "MemTotal:") total = value * 1024;
    if (key == "MemAvailable:") available = value * 1024;
  }
  if (total > 0) {
    uint64_t used = total > available ? total - available : 0;
    out["mem"] = {{"total_bytes", total}, {"used_bytes", used},
                  {"pct", Round(100.0 * static_cast<double>(used) / static_cast<double>(total))}};
  }

  std::ifstream loadavg(proc_ + "/loadavg");
  double l1 = 0, l5 = 0, l15 = 0;
  if (loadavg >> l1 >> l5 >> l15) out["load"] = {{"1m", l1}, {"5m", l5}, {"15m", l15}};

  double dt = std::chrono::duration<double>(now.at - last->at).count();
  if (dt > 0) {
    auto rate = [&](uint64_t a, uint64_t b) { return b >= a ? Round(static_cast<double>(b - a) / dt) : 0.0; };
    out["net"] = {{"rx_bytes_s", rate(last->rx_bytes, now.rx_bytes)},
                  {"tx_bytes_s", rate(last->tx_bytes, now.tx_bytes)},
                  {"rx_packets_s", rate(last->rx_packets, now.rx_packets)},
                  {"tx_packets_s", rate(last->tx_packets, now.tx_packets)}};
  }

  // On a thread of its own, waited for at most disk_timeout: statvfs on a hung NFS
  // mount blocks for good, and must not stop samples (nor, behind them, heartbeats).
  if (auto disks = disks_.Read(disk_timeout_)) {
    out["disk"] = std::move(*disks);
  } else {
    ++disk_timeouts_;
  }
  return out;
}

}  // namespace argus::agent
