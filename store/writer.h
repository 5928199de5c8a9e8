// Writes batches of events into the store exactly once: an event whose id is already
// stored is ignored, and the registries (hosts, types) count only first-time events.
#pragma once

#include <cstddef>
#include <vector>

#include "proto/event.h"
#include "store/database.h"

namespace argus::store {

struct WriteResult {
  size_t stored = 0;      // new ids
  size_t duplicates = 0;  // ids already present
};

class EventWriter {
 public:
  explicit EventWriter(Database& db);
  // One transaction for the whole batch; throws std::runtime_error (and rolls back)
  // on an SQLite error, so a caller that has not committed must not acknowledge.
  WriteResult Write(const std::vector<proto::Event>& events);
  // The same inside the caller's open transaction; `fresh` (if given) receives the
  // positions of the events stored for the first time, for aggregators.
  WriteResult Insert(const std::vector<proto::Event>& events, std::vector<size_t>* fresh);
  // An event the store derived about a host (e.g. `argus.host` "offline"), inside the
  // caller's transaction. It counts in the types registry but not in the hosts one:
  // that counts what hosts sent. Returns false when its id is already stored.
  bool InsertDerived(const proto::Event& event);

 private:
  // Binds and runs the raw-row insert; true when the id was new.
  bool InsertRow(const proto::Event& e);
  Database& db_;
  Statement insert_;
  Statement upsert_host_;
  Statement upsert_type_;
};

}  // namespace argus::store
