#include "agent/spool.h"

#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "base/file.h"

namespace argus::agent {

namespace fs = std::filesystem;

Spool::Spool(std::string dir, uint64_t max_bytes) : dir_(std::move(dir)), max_bytes_(max_bytes) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) throw std::runtime_error("spool folder " + dir_ + ": " + ec.message());
  uint64_t events = 0;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    std::string name = e.path().filename().string();
    unsigned long long seq = 0;
    size_t n = 0;
    int used = 0;
    // <seq>-<events>.gz; anything else (a temp file of a crashed write) goes.
    if (std::sscanf(name.c_str(), "%llu-%zu.gz%n", &seq, &n, &used) == 2 && used == static_cast<int>(name.size())) {
      uint64_t size = e.file_size(ec);
      files_[seq] = Entry{n, size};
      counters_.bytes += size;
      events += n;
      next_seq_ = std::max<uint64_t>(next_seq_, seq + 1);
    } else {
      fs::remove(e.path(), ec);
    }
  }
  counters_.batches = files_.size();
  if (!files_.empty()) {
    spdlog::info("spool {}: {} batches ({} events, {} bytes) waiting from before", dir_, files_.size(), events,
                 counters_.bytes.load());
  }
}

std::string Spool::PathOf(uint64_t seq, size_t events) const {
  char name[64];
  std::snprintf(name, sizeof(name), "%020llu-%zu.gz", static_cast<unsigned long long>(seq), events);
  return dir_ + "/" + name;
}

void Spool::Remove(std::map<uint64_t, Entry>::iterator it) {
  std::remove(PathOf(it->first, it->second.events).c_str());
  counters_.bytes -= it->second.bytes;
  files_.erase(it);
  counters_.batches = files_.size();
}

base::Status Spool::Append(std::string_view gzipped, size_t events) {
  if (gzipped.size() > max_bytes_) {
    counters_.dropped += events;
    return base::Status::TooLarge("a batch of " + std::to_string(gzipped.size()) + " bytes does not fit a spool of " +
                                  std::to_string(max_bytes_) + " bytes; its " + std::to_string(events) +
                                  " events are dropped");
  }
  while (!files_.empty() && counters_.bytes + gzipped.size() > max_bytes_) {
    auto oldest = files_.begin();
    counters_.dropped += oldest->second.events;
    spdlog::warn("spool full ({} bytes): dropping its oldest batch of {} events", max_bytes_, oldest->second.events);
    Remove(oldest);
  }
  uint64_t seq = next_seq_++;
  if (base::Status s = base::WriteFileDurably(PathOf(seq, events), gzipped); !s.ok()) return s;
  files_[seq] = Entry{events, gzipped.size()};
  counters_.bytes += gzipped.size();
  counters_.batches = files_.size();
  counters_.spooled += events;
  return {};
}

std::optional<Spool::Batch> Spool::Front() {
  while (!files_.empty()) {
    auto it = files_.begin();
    Batch batch{it->first, it->second.events, {}};
    base::Status s = base::ReadFile(PathOf(batch.seq, batch.events), &batch.gzipped);
    if (s.ok() && !batch.gzipped.empty()) return batch;
    spdlog::error("spool: {}; dropping its {} events", s.ok() ? PathOf(batch.seq, batch.events) + " is empty" : s.message(),
                  it->second.events);
    counters_.dropped += it->second.events;
    Remove(it);
  }
  return std::nullopt;
}

void Spool::Pop(const Batch& batch) {
  auto it = files_.find(batch.seq);
  if (it == files_.end()) return;
  counters_.replayed += it->second.events;
  Remove(it);
}

}  // namespace argus::agent
