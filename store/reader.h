// Read-only queries the dash answers from. Every query is a prepared statement; each
// result is bounded by a limit the caller passes.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/database.h"

namespace argus::store {

// The registries the writer keeps: one row per type, one per host.
enum class Registry { kTypes, kHosts };

struct RegistryRow {
  std::string name;  // the type or the host
  int64_t first_seen = 0, last_seen = 0, events = 0;
};

// The hosts aggregator's view of a host (table host_status).
struct HostStatusRow {
  std::string state, agent_version;
  int64_t state_since = 0, timeout_ms = 0;
  std::optional<int64_t> last_heartbeat;
};

// Position after the last row of a page: rows strictly older than (ts, seq).
struct EventCursor {
  int64_t ts = 0, seq = 0;
};

struct EventQuery {
  std::optional<std::string> type, host;
  std::optional<int64_t> since, until;  // ts >= since, ts < until
  std::optional<EventCursor> after;
  int64_t limit = 100;
};

struct EventRow {
  std::string id, type, host, priority, addr;
  int64_t ts = 0, recv_ts = 0, seq = 0;
  nlohmann::json content;
};

class Reader {
 public:
  explicit Reader(Database& db) : db_(db) {}
  // In name order, after `after` (exclusive; empty: from the start), at most `limit`.
  std::vector<RegistryRow> List(Registry which, const std::string& after = {}, int64_t limit = 1000000);
  std::vector<RegistryRow> Types() { return List(Registry::kTypes); }
  std::vector<RegistryRow> Hosts() { return List(Registry::kHosts); }
  // Host -> status (hosts the hosts aggregator follows), for the given hosts only: a page.
  std::map<std::string, HostStatusRow> HostStatuses(const std::vector<RegistryRow>& hosts);
  // Newest first (ts, then arrival order).
  std::vector<EventRow> Events(const EventQuery& q);

 private:
  Database& db_;
};

}  // namespace argus::store
