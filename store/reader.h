// Read-only queries the dash answers from. Every query is a prepared statement; each
// result is bounded by a limit the caller passes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/database.h"

namespace argus::store {

struct TypeRow {
  std::string type;
  int64_t first_seen = 0, last_seen = 0, events = 0;
};

struct HostRow {
  std::string host;
  int64_t first_seen = 0, last_seen = 0, events = 0;
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
  std::vector<TypeRow> Types();
  std::vector<HostRow> Hosts();
  // Newest first (ts, then arrival order).
  std::vector<EventRow> Events(const EventQuery& q);

 private:
  Database& db_;
};

}  // namespace argus::store
