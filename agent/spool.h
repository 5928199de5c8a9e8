// The agent's disk spool: batches no proxy would take wait here, gzip-compressed, one
// file per batch, named by sequence so they are replayed in the order they were
// written, also after a restart. Bounded in bytes: when full, the oldest batches are
// dropped and their events counted, never silently.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace argus::agent {

struct SpoolCounters {
  std::atomic<uint64_t> spooled{0}, replayed{0}, dropped{0};  // events
  std::atomic<uint64_t> bytes{0}, batches{0};                 // what is on disk now
};

class Spool {
 public:
  // Opens (creating) `dir` and takes stock of the batches already there; throws when
  // the folder cannot be made.
  Spool(std::string dir, uint64_t max_bytes);

  // Writes a batch (`gzipped`: a gzip-compressed {"events":[…]} body of `events`
  // events), dropping the oldest batches to make room. TooLarge when the batch is
  // larger than the whole spool (its events are dropped and counted); Unavailable
  // when it could not be written.
  base::Status Append(std::string_view gzipped, size_t events);

  struct Batch {
    uint64_t seq = 0;
    size_t events = 0;
    std::string gzipped;
  };
  // The oldest batch; nullopt when the spool is empty. An unreadable file is dropped
  // (and counted) rather than blocking the ones behind it.
  std::optional<Batch> Front();
  // Removes the batch Front returned, once a proxy took it.
  void Pop(const Batch& batch);
  bool empty() const { return files_.empty(); }
  const SpoolCounters& counters() const { return counters_; }

 private:
  struct Entry {
    size_t events = 0;
    uint64_t bytes = 0;
  };
  std::string PathOf(uint64_t seq, size_t events) const;
  void Remove(std::map<uint64_t, Entry>::iterator it);

  std::string dir_;
  uint64_t max_bytes_;
  std::map<uint64_t, Entry> files_;  // by seq
  uint64_t next_seq_ = 1;
  SpoolCounters counters_;
};

}  // namespace argus::agent
