#include "store/reader.h"

#include "store/schema.h"

namespace argus::store {

std::vector<RegistryRow> Reader::List(Registry which, const std::string& after, int64_t limit) {
  // A range of the primary key: the cost is the page, not the registry.
  Statement s(db_, which == Registry::kTypes
                       ? "SELECT type, first_seen, last_seen, events FROM types WHERE type > ?1 ORDER BY type LIMIT ?2"
                       : "SELECT host, first_seen, last_seen, events FROM hosts WHERE host > ?1 ORDER BY host LIMIT ?2");
  s.Bind(1, after).Bind(2, limit);
  std::vector<RegistryRow> out;
  while (s.Step()) out.push_back({s.Text(0), s.Int(1), s.Int(2), s.Int(3)});
  return out;
}

std::map<std::string, HostStatusRow> Reader::HostStatuses(const std::vector<RegistryRow>& hosts) {
  // The hosts aggregator's table: absent until a consumer with it has run.
  if (!TableExists(db_, "host_status")) return {};
  Statement s(db_,
              "SELECT host, state, state_since, timeout_ms, agent_version, last_heartbeat FROM host_status "
              "WHERE host = ?1");
  std::map<std::string, HostStatusRow> out;
  for (const auto& h : hosts) {
    s.Bind(1, h.name);
    if (s.Step()) {
      HostStatusRow& r = out[s.Text(0)];
      r.state = s.Text(1);
      r.state_since = s.Int(2);
      r.timeout_ms = s.Int(3);
      r.agent_version = s.Text(4);
      if (!s.IsNull(5)) r.last_heartbeat = s.Int(5);
    }
    s.Reset();
  }
  return out;
}

std::vector<EventRow> Reader::Events(const EventQuery& q) {
  // The WHERE clause is assembled from fixed fragments only; values are bound.
  std::string sql =
      "SELECT id, type, host, ts, recv_ts, priority, addr, content, seq FROM events WHERE 1";
  if (q.type) sql += " AND type = ?1";
  if (q.host) sql += " AND host = ?2";
  if (q.since) sql += " AND ts >= ?3";
  if (q.until) sql += " AND ts < ?4";
  // A row value, so that the cursor is a range of the index that serves the filter
  // (events_ts, events_type_ts, events_host_ts or events_type_host_ts, each ending in
  // seq as SQLite indexes do): a page costs its rows, however deep it is.
  if (q.after) sql += " AND (ts, seq) < (?6, ?7)";
  sql += " ORDER BY ts DESC, seq DESC LIMIT ?5";
  Statement s(db_, sql);
  if (q.type) s.Bind(1, *q.type);
  if (q.host) s.Bind(2, *q.host);
  if (q.since) s.Bind(3, *q.since);
  if (q.until) s.Bind(4, *q.until);
  s.Bind(5, q.limit);
  if (q.after) s.Bind(6, q.after->ts).Bind(7, q.after->seq);
  std::vector<EventRow> out;
  while (s.Step()) {
    EventRow r;
    r.id = s.Text(0);
    r.type = s.Text(1);
    r.host = s.Text(2);
    r.ts = s.Int(3);
    r.recv_ts = s.Int(4);
    r.priority = s.Text(5);
    r.addr = s.Text(6);
    r.content = nlohmann::json::parse(s.Text(7), nullptr, false);
    r.seq = s.Int(8);
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace argus::store
