#include "store/writer.h"

namespace argus::store {

EventWriter::EventWriter(Database& db)
    : db_(db),
      insert_(db,
              "INSERT OR IGNORE INTO events(id, type, host, ts, recv_ts, priority, addr, content) "
              "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
      upsert_host_(db,
                   "INSERT INTO hosts(host, first_seen, last_seen, events) VALUES (?1, ?2, ?2, 1) "
                   "ON CONFLICT(host) DO UPDATE SET first_seen = min(first_seen, ?2), "
                   "last_seen = max(last_seen, ?2), events = events + 1"),
      upsert_type_(db,
                   "INSERT INTO types(type, first_seen, last_seen, events) VALUES (?1, ?2, ?2, 1) "
                   "ON CONFLICT(type) DO UPDATE SET first_seen = min(first_seen, ?2), "
                   "last_seen = max(last_seen, ?2), events = events + 1") {}

WriteResult EventWriter::Write(const std::vector<proto::Event>& events) {
  Transaction tx(db_);
  WriteResult result = Insert(events, nullptr);
  tx.Commit();
  return result;
}

WriteResult EventWriter::Insert(const std::vector<proto::Event>& events, std::vector<size_t>* fresh) {
  WriteResult result;
  for (size_t i = 0; i < events.size(); ++i) {
    const auto& e = events[i];
    int64_t recv_ts = e.recv_ts.value_or(0);
    int64_t ts = e.ts.value_or(recv_ts);
    insert_.Bind(1, e.id)
        .Bind(2, e.type)
        .Bind(3, e.host)
        .Bind(4, ts)
        .Bind(5, recv_ts)
        .Bind(6, proto::PriorityName(e.priority))
        .Bind(7, e.addr)
        .Bind(8, e.content);
    insert_.Run();
    if (db_.Changes() == 0) {
      ++result.duplicates;
      continue;
    }
    ++result.stored;
    if (fresh) fresh->push_back(i);
    // "Seen" is the proxy's clock: agent clocks drift, the registry should not.
    upsert_host_.Bind(1, e.host).Bind(2, recv_ts).Run();
    upsert_type_.Bind(1, e.type).Bind(2, recv_ts).Run();
  }
  return result;
}

}  // namespace argus::store
