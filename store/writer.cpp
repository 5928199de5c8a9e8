#include "store/writer.h"

#include <algorithm>
#include <map>

namespace argus::store {

EventWriter::EventWriter(Database& db)
    : db_(db),
      insert_(db,
              "INSERT OR IGNORE INTO events(id, type, host, ts, recv_ts, priority, addr, content) "
              "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
      upsert_host_(db,
                   "INSERT INTO hosts(host, first_seen, last_seen, events) VALUES (?1, ?2, ?3, ?4) "
                   "ON CONFLICT(host) DO UPDATE SET first_seen = min(first_seen, ?2), "
                   "last_seen = max(last_seen, ?3), events = events + ?4"),
      upsert_type_(db,
                   "INSERT INTO types(type, first_seen, last_seen, events) VALUES (?1, ?2, ?3, ?4) "
                   "ON CONFLICT(type) DO UPDATE SET first_seen = min(first_seen, ?2), "
                   "last_seen = max(last_seen, ?3), events = events + ?4") {}

namespace {

// A registry row's change from one batch: summed in memory, written once.
struct Seen {
  int64_t first = INT64_MAX, last = INT64_MIN, count = 0;
  void Add(int64_t ts) {
    first = std::min(first, ts);
    last = std::max(last, ts);
    ++count;
  }
};

void Flush(Statement& upsert, const std::map<std::string_view, Seen>& seen) {
  for (const auto& [key, s] : seen) {
    upsert.Bind(1, key).Bind(2, s.first).Bind(3, s.last).Bind(4, s.count);
    upsert.Run();
  }
}

}  // namespace

bool EventWriter::InsertRow(const proto::Event& e) {
  int64_t recv_ts = e.recv_ts.value_or(0);
  insert_.Bind(1, e.id)
      .Bind(2, e.type)
      .Bind(3, e.host)
      .Bind(4, e.ts.value_or(recv_ts))
      .Bind(5, recv_ts)
      .Bind(6, proto::PriorityName(e.priority))
      .Bind(7, e.addr)
      .Bind(8, e.content);
  insert_.Run();
  return db_.Changes() > 0;
}

bool EventWriter::InsertDerived(const proto::Event& e) {
  if (!InsertRow(e)) return false;
  const int64_t seen = e.recv_ts.value_or(0);
  upsert_type_.Bind(1, e.type).Bind(2, seen).Bind(3, seen).Bind(4, int64_t{1}).Run();
  return true;
}

WriteResult EventWriter::Write(const std::vector<proto::Event>& events) {
  Transaction tx(db_);
  WriteResult result = Insert(events, nullptr);
  tx.Commit();
  return result;
}

WriteResult EventWriter::Insert(const std::vector<proto::Event>& events, std::vector<size_t>* fresh) {
  WriteResult result;
  std::map<std::string_view, Seen> hosts, types;
  for (size_t i = 0; i < events.size(); ++i) {
    const auto& e = events[i];
    if (!InsertRow(e)) {
      ++result.duplicates;
      continue;
    }
    ++result.stored;
    if (fresh) fresh->push_back(i);
    // "Seen" is the proxy's clock: agent clocks drift, the registry should not.
    hosts[e.host].Add(e.recv_ts.value_or(0));
    types[e.type].Add(e.recv_ts.value_or(0));
  }
  Flush(upsert_host_, hosts);
  Flush(upsert_type_, types);
  return result;
}

}  // namespace argus::store
