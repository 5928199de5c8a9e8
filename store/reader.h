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
  nlohmann::json heartbeat;  // the latest heartbeat's content (labels, counters), or null
};

// A host of the registry and, when the hosts aggregator follows it, its status.
struct HostRow : RegistryRow {
  std::optional<HostStatusRow> status;
};

struct HostQuery {
  std::string after;   // the page starts after this host
  int64_t limit = 1000000;
  std::string prefix;  // names starting with it
  std::optional<std::string> state;  // "online", "offline", or "unknown" (no status)
  std::optional<std::pair<std::string, std::string>> label;  // the heartbeat's labels[key] == value
};

// A host's events of one type in a time window.
struct TypeCount {
  std::string type;
  int64_t events = 0, last_ts = 0;
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
  int64_t ts = 0, recv_ts = 0;
  int64_t seq = 0;  // the store's arrival order
  nlohmann::json content;
};

// The first string greater than every string starting with `prefix`, for a range of
// names; empty when there is none (a prefix of 0xff bytes only).
std::string PrefixEnd(std::string prefix);

class Reader {
 public:
  explicit Reader(Database& db) : db_(db) {}
  // In name order, after `after` (exclusive; empty: from the start), at most `limit`.
  std::vector<RegistryRow> List(Registry which, const std::string& after = {}, int64_t limit = 1000000);
  std::vector<RegistryRow> Types() { return List(Registry::kTypes); }
  // Hosts in name order with their status, filtered.
  std::vector<HostRow> Hosts(const HostQuery& q = {});
  std::optional<HostRow> Host(const std::string& host);
  // The host's events per type with ts >= since, in type order.
  std::vector<TypeCount> HostTypes(const std::string& host, int64_t since);
  // Newest first (ts, then arrival order).
  std::vector<EventRow> Events(const EventQuery& q);
  // Events stored with after < seq <= upto, in the order they were stored, filtered,
  // at most `limit`: a live tail's next rows. Always a range of the primary key, so a
  // poll costs the rows stored since the last one, whatever the filter.
  std::vector<EventRow> Tail(int64_t after, int64_t upto, const std::optional<std::string>& type,
                             const std::optional<std::string>& host, int64_t limit);
  // Events per type and bucket of `step` with since <= ts < until (one type, or all),
  // in type order: how busy each type is. Reads the events_ts (or events_type_ts) range.
  std::map<std::string, std::vector<std::pair<int64_t, int64_t>>> EventRates(int64_t since, int64_t until, int64_t step,
                                                                             const std::optional<std::string>& type);
  // The seq of the newest stored event (0 when none).
  int64_t LastSeq();
  // The seq just before the first event received at or after `recv_since` (LastSeq()
  // when there is none): where a reader that wants what arrived since then starts.
  int64_t SeqBefore(int64_t recv_since);
  // Each host's newest event of `type` with ts >= since.
  std::map<std::string, int64_t> LastSeenByHost(const std::string& type, int64_t since);

 private:
  Database& db_;
};

}  // namespace argus::store
