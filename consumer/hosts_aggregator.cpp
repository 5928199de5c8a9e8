// `hosts`: the live side of the host registry — when each host was last heard from,
// the agent version its `argus.agent` heartbeat reports, and whether it is online.
// A host is online while its last sign of life (the proxy's receive time) is younger
// than its timeout: three heartbeat intervals as the heartbeat states them, else the
// `offline_after_s` setting. Each change is also stored as an `argus.host` event
// (TOP-Argus' node added / dead), so it shows in the event list and alert rules can
// match it.
#include <map>
#include <optional>

#include <spdlog/spdlog.h>

#include "consumer/aggregator.h"
#include "consumer/settings.h"

namespace argus::consumer {
namespace {

constexpr std::string_view kHeartbeatType = "argus.agent";
constexpr size_t kMaxVersionChars = 64;

// What one batch says about one host.
struct Seen {
  int64_t first = INT64_MAX, last = INT64_MIN;
  const proto::Event* heartbeat = nullptr;  // the latest by its own time
};

struct Heartbeat {
  std::string version;
  std::optional<int64_t> timeout_ms;
};

Heartbeat ReadHeartbeat(const proto::Event& e) {
  Heartbeat hb;
  auto j = nlohmann::json::parse(e.content, nullptr, false);
  if (!j.is_object()) return hb;
  if (auto it = j.find("version"); it != j.end() && it->is_string()) {
    hb.version = it->get<std::string>().substr(0, kMaxVersionChars);
  }
  if (auto it = j.find("interval_s"); it != j.end() && it->is_number_integer()) {
    int64_t s = it->get<int64_t>();
    if (s >= 1 && s <= 86400) hb.timeout_ms = 3 * s * 1000;
  }
  return hb;
}

class HostsAggregator : public Aggregator {
 public:
  HostsAggregator(const AggregatorContext& c, int64_t offline_after_ms)
      : emit_(c.emit),
        clock_(c.clock),
        offline_after_ms_(offline_after_ms),
        get_(c.db, "SELECT state, last_seen, timeout_ms, agent_version FROM host_status WHERE host = ?1"),
        insert_(c.db,
                "INSERT INTO host_status(host, state, state_since, last_seen, timeout_ms, agent_version, "
                "last_heartbeat, heartbeat) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
        update_(c.db,
                "UPDATE host_status SET state = ?2, state_since = CASE WHEN state = ?2 THEN state_since ELSE ?3 END, "
                "last_seen = max(last_seen, ?4), timeout_ms = ?5, agent_version = ?6, "
                "last_heartbeat = CASE WHEN ?7 IS NOT NULL AND ?7 >= coalesce(last_heartbeat, ?7) THEN ?7 "
                "ELSE last_heartbeat END, "
                "heartbeat = CASE WHEN ?7 IS NOT NULL AND ?7 >= coalesce(last_heartbeat, ?7) THEN ?8 "
                "ELSE heartbeat END WHERE host = ?1"),
        silent_(c.db,
                "SELECT host, last_seen, agent_version FROM host_status "
                "WHERE state = 'online' AND last_seen + timeout_ms < ?1"),
        offline_(c.db,
                 "UPDATE host_status SET state = 'offline', state_since = ?2 WHERE host = ?1 AND state = 'online'") {}

  void Apply(const std::vector<const proto::Event*>& fresh) override {
    std::map<std::string_view, Seen> hosts;
    for (const proto::Event* e : fresh) {
      Seen& s = hosts[e->host];
      const int64_t recv = e->recv_ts.value_or(e->ts.value_or(0));
      s.first = std::min(s.first, recv);
      s.last = std::max(s.last, recv);
      if (e->type == kHeartbeatType && (!s.heartbeat || e->ts.value_or(0) >= s.heartbeat->ts.value_or(0))) {
        s.heartbeat = e;
      }
    }
    const int64_t now = clock_.WallMs();
    for (const auto& [host, seen] : hosts) Update(std::string(host), seen, now);
  }

  void Tick(int64_t now_ms) override {
    struct Silent {
      std::string host, version;
      int64_t last_seen;
    };
    std::vector<Silent> silent;
    silent_.Bind(1, now_ms);
    while (silent_.Step()) silent.push_back({silent_.Text(0), silent_.Text(2), silent_.Int(1)});
    silent_.Reset();
    for (const auto& s : silent) {
      offline_.Bind(1, s.host).Bind(2, now_ms).Run();
      spdlog::warn("hosts: {} is offline: nothing heard since {} ms ago", s.host, now_ms - s.last_seen);
      Emit(s.host, "offline", now_ms, now_ms, "online", "offline", s.last_seen, s.version);
    }
  }

 private:
  void Update(const std::string& host, const Seen& seen, int64_t now) {
    Heartbeat hb;
    if (seen.heartbeat) hb = ReadHeartbeat(*seen.heartbeat);
    std::optional<int64_t> hb_ts;
    if (seen.heartbeat) hb_ts = seen.heartbeat->ts.value_or(seen.last);
    get_.Bind(1, host);
    const bool known = get_.Step();
    std::string old_state = known ? get_.Text(0) : "";
    const int64_t old_last = known ? get_.Int(1) : INT64_MIN;
    const int64_t old_timeout = known ? get_.Int(2) : offline_after_ms_;
    std::string old_version = known ? get_.Text(3) : "";
    get_.Reset();

    const int64_t timeout = hb.timeout_ms.value_or(old_timeout);
    const int64_t last = std::max(old_last, seen.last);
    // Online means heard from within the timeout, as of now: an old backlog replayed
    // from a long-gone host does not bring it back.
    const std::string state = last + timeout >= now ? "online" : "offline";
    const std::string version = hb.version.empty() ? old_version : hb.version;
    auto bind = [&](store::Statement& s) {
      s.Bind(1, host).Bind(2, state).Bind(3, now).Bind(4, last).Bind(5, timeout).Bind(6, version);
      if (hb_ts) {
        s.Bind(7, *hb_ts).Bind(8, seen.heartbeat->content);
      } else {
        s.BindNull(7).BindNull(8);
      }
      s.Run();
    };
    if (!known) {
      bind(insert_);
      Emit(host, "added", seen.first, now, "", state, last, version);
      return;
    }
    bind(update_);
    if (old_state != state) Emit(host, state, seen.last, now, old_state, state, last, version);
    if (!old_version.empty() && version != old_version) {
      Emit(host, "version", hb_ts.value_or(seen.last), now, old_version, version, last, version);
    }
  }

  // `previous` and `current` are states, or versions for a "version" change.
  void Emit(const std::string& host, const std::string& change, int64_t at, int64_t now, const std::string& previous,
            const std::string& current, int64_t last_seen, const std::string& version) {
    proto::Event e;
    e.type = "argus.host";
    e.host = host;
    e.ts = at;
    e.recv_ts = now;
    e.priority = change == "offline" ? proto::Priority::kHigh : proto::Priority::kNormal;
    // From what happened, not when it was noticed: two consumers reaching the same
    // conclusion store it once.
    e.id = "argus.host/" + host + "/" + change + "/" + std::to_string(at);
    nlohmann::json content = {{"change", change}, {"last_seen", last_seen}, {"agent_version", version}};
    if (!previous.empty()) content["previous"] = previous;
    content["current"] = current;
    e.content = content.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    emit_(e);
  }

  std::function<void(const proto::Event&)> emit_;
  const base::Clock& clock_;
  int64_t offline_after_ms_;
  store::Statement get_, insert_, update_, silent_, offline_;
};

}  // namespace

AggregatorSpec HostsAggregatorSpec() {
  AggregatorSpec spec;
  spec.make = [](const AggregatorContext& context) -> std::unique_ptr<Aggregator> {
    Settings s("hosts", context.settings, {"offline_after_s"});
    return std::make_unique<HostsAggregator>(context, s.Int("offline_after_s", 90, 1, 7 * 86400) * 1000);
  };
  spec.migrations = {
      // 1: as a store of schema 5 made it (IF NOT EXISTS: such files have it).
      R"sql(
        CREATE TABLE IF NOT EXISTS host_status(
          host           TEXT PRIMARY KEY,
          state          TEXT NOT NULL,
          state_since    INTEGER NOT NULL,
          last_seen      INTEGER NOT NULL,
          timeout_ms     INTEGER NOT NULL,
          agent_version  TEXT NOT NULL,
          last_heartbeat INTEGER,
          heartbeat      TEXT) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS host_status_state ON host_status(state, last_seen);
      )sql",
  };
  return spec;
}

}  // namespace argus::consumer
