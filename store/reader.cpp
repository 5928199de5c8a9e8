#include "store/reader.h"

#include "store/schema.h"

namespace argus::store {

std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) prefix.pop_back();
  if (!prefix.empty()) prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

namespace {

// The columns ReadEventRow reads, in its order.
constexpr const char* kEventColumns = "id, type, host, ts, recv_ts, priority, addr, content, seq";

EventRow ReadEventRow(const Statement& s) {
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
  return r;
}

}  // namespace

std::vector<RegistryRow> Reader::List(Registry which, const std::string& after, int64_t limit) {
  // A range of the primary key: the cost is the page, not the registry.
  Statement s(db_, which == Registry::kTypes
                       ? "SELECT type, first_seen, last_seen, events FROM types WHERE type > ?1 ORDER BY type LIMIT ?2"
                       : "SELECT host, first_seen, last_seen, events FROM hosts WHERE host > ?1 ORDER BY host LIMIT ?2",
              kReused);
  s.Bind(1, after).Bind(2, limit);
  std::vector<RegistryRow> out;
  while (s.Step()) out.push_back({s.Text(0), s.Int(1), s.Int(2), s.Int(3)});
  return out;
}

std::vector<HostRow> Reader::Hosts(const HostQuery& q) {
  // host_status is the hosts aggregator's table: absent until a consumer with it ran.
  std::string sql =
      "SELECT h.host, h.first_seen, h.last_seen, h.events, s.state, s.state_since, s.timeout_ms, "
      "s.agent_version, s.last_heartbeat, s.heartbeat FROM hosts h ";
  sql += TableExists(db_, "host_status")
             ? "LEFT JOIN host_status s ON s.host = h.host "
             : "LEFT JOIN (SELECT NULL AS host, NULL AS state, NULL AS state_since, NULL AS timeout_ms, "
               "NULL AS agent_version, NULL AS last_heartbeat, NULL AS heartbeat) s ON 0 ";
  sql += "WHERE h.host > ?1";
  if (!q.prefix.empty()) sql += " AND h.host >= ?3 AND (?4 = '' OR h.host < ?4)";
  if (q.state) sql += " AND coalesce(s.state, 'unknown') = ?5";
  if (q.label) sql += " AND json_extract(s.heartbeat, '$.labels.' || json_quote(?6)) = ?7";
  sql += " ORDER BY h.host LIMIT ?2";
  Statement s(db_, sql, kReused);
  s.Bind(1, q.after).Bind(2, q.limit);
  if (!q.prefix.empty()) s.Bind(3, q.prefix).Bind(4, PrefixEnd(q.prefix));
  if (q.state) s.Bind(5, *q.state);
  if (q.label) s.Bind(6, q.label->first).Bind(7, q.label->second);
  std::vector<HostRow> out;
  while (s.Step()) {
    HostRow r;
    r.name = s.Text(0);
    r.first_seen = s.Int(1);
    r.last_seen = s.Int(2);
    r.events = s.Int(3);
    if (!s.IsNull(4)) {
      HostStatusRow& st = r.status.emplace();
      st.state = s.Text(4);
      st.state_since = s.Int(5);
      st.timeout_ms = s.Int(6);
      st.agent_version = s.Text(7);
      st.last_heartbeat = s.OptInt(8);
      if (!s.IsNull(9)) st.heartbeat = nlohmann::json::parse(s.Text(9), nullptr, false);
      if (st.heartbeat.is_discarded()) st.heartbeat = nullptr;
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::optional<HostRow> Reader::Host(const std::string& host) {
  // The page of one that starts just before `host`: the same query as the list.
  HostQuery q;
  q.prefix = host;
  q.limit = 1;
  auto rows = Hosts(q);
  if (rows.empty() || rows[0].name != host) return std::nullopt;
  return rows[0];
}

std::vector<TypeCount> Reader::HostTypes(const std::string& host, int64_t since) {
  Statement s(db_, "SELECT type, count(*), max(ts) FROM events WHERE host = ?1 AND ts >= ?2 GROUP BY type ORDER BY type",
              kReused);
  s.Bind(1, host).Bind(2, since);
  std::vector<TypeCount> out;
  while (s.Step()) out.push_back({s.Text(0), s.Int(1), s.Int(2)});
  return out;
}

std::vector<EventRow> Reader::Events(const EventQuery& q) {
  // The WHERE clause is assembled from fixed fragments only; values are bound.
  std::string sql = std::string("SELECT ") + kEventColumns + " FROM events WHERE 1";
  if (q.type) sql += " AND type = ?1";
  if (q.host) sql += " AND host = ?2";
  if (q.since) sql += " AND ts >= ?3";
  if (q.until) sql += " AND ts < ?4";
  // A row value, so that the cursor is a range of the index that serves the filter
  // (events_ts, events_type_ts, events_host_ts or events_type_host_ts, each ending in
  // seq as SQLite indexes do): a page costs its rows, however deep it is.
  if (q.after) sql += " AND (ts, seq) < (?6, ?7)";
  sql += " ORDER BY ts DESC, seq DESC LIMIT ?5";
  Statement s(db_, sql, kReused);
  if (q.type) s.Bind(1, *q.type);
  if (q.host) s.Bind(2, *q.host);
  if (q.since) s.Bind(3, *q.since);
  if (q.until) s.Bind(4, *q.until);
  s.Bind(5, q.limit);
  if (q.after) s.Bind(6, q.after->ts).Bind(7, q.after->seq);
  std::vector<EventRow> out;
  while (s.Step()) out.push_back(ReadEventRow(s));
  return out;
}

std::vector<EventRow> Reader::Tail(int64_t after, int64_t upto, const std::optional<std::string>& type,
                                   const std::optional<std::string>& host, int64_t limit) {
  // `+type`, `+host`: no index on them, so the plan is always the range of seq (the
  // primary key) since the last poll, not a scan of every event of the type.
  std::string sql = std::string("SELECT ") + kEventColumns + " FROM events WHERE seq > ?1 AND seq <= ?2";
  if (type) sql += " AND +type = ?3";
  if (host) sql += " AND +host = ?4";
  sql += " ORDER BY seq LIMIT ?5";
  Statement s(db_, sql, kReused);
  s.Bind(1, after).Bind(2, upto).Bind(5, limit);
  if (type) s.Bind(3, *type);
  if (host) s.Bind(4, *host);
  std::vector<EventRow> out;
  while (s.Step()) out.push_back(ReadEventRow(s));
  return out;
}

std::map<std::string, std::vector<std::pair<int64_t, int64_t>>> Reader::EventRates(
    int64_t since, int64_t until, int64_t step, const std::optional<std::string>& type) {
  std::string sql = "SELECT type, (ts / ?3) * ?3 AS b, count(*) FROM events WHERE ts >= ?1 AND ts < ?2";
  if (type) sql += " AND type = ?4";
  sql += " GROUP BY type, b ORDER BY type, b";
  Statement s(db_, sql, kReused);
  s.Bind(1, since).Bind(2, until).Bind(3, step);
  if (type) s.Bind(4, *type);
  std::map<std::string, std::vector<std::pair<int64_t, int64_t>>> out;
  while (s.Step()) out[s.Text(0)].emplace_back(s.Int(1), s.Int(2));
  return out;
}

int64_t Reader::LastSeq() {
  Statement s(db_, "SELECT max(seq) FROM events", kReused);
  return s.Step() ? s.OptInt(0).value_or(0) : 0;
}

int64_t Reader::SeqBefore(int64_t recv_since) {
  Statement s(db_, "SELECT min(seq) FROM events WHERE recv_ts >= ?1", kReused);
  s.Bind(1, recv_since);
  const std::optional<int64_t> first = s.Step() ? s.OptInt(0) : std::nullopt;
  s.Reset();
  return first ? *first - 1 : LastSeq();
}

std::map<std::string, int64_t> Reader::LastSeenByHost(const std::string& type, int64_t since) {
  Statement s(db_, "SELECT host, max(ts) FROM events WHERE type = ?1 AND ts >= ?2 GROUP BY host", kReused);
  s.Bind(1, type).Bind(2, since);
  std::map<std::string, int64_t> out;
  while (s.Step()) out[s.Text(0)] = s.Int(1);
  return out;
}

}  // namespace argus::store
