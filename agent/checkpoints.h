// Where each followed file has been read up to, saved atomically in the state dir.
// An offset is advanced only once every line before it has been taken by a proxy, so
// after a crash the agent re-reads at most what was not yet acknowledged; stable
// event ids make that re-send harmless.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace argus::agent {

// A file's identity: the inode on its device, plus a generation bumped on every
// truncation so offsets (and the ids derived from them) never repeat.
struct FileIdentity {
  uint64_t dev = 0, ino = 0, gen = 0;
  bool operator==(const FileIdentity&) const = default;
};

struct Checkpoint {
  FileIdentity id;
  uint64_t offset = 0;
};

// Thread-safe: the tailer reads it at start, the shipper advances it.
class Checkpoints {
 public:
  // Loads `<state_dir>/checkpoints.json` if present; throws on a corrupt file.
  explicit Checkpoints(std::string state_dir);

  std::optional<Checkpoint> Get(const std::string& path) const;
  // Moves the offset of `path` forward (never back, for the same identity).
  void Advance(const std::string& path, const Checkpoint& cp);
  // Writes the file (temp file, fsync, rename) if anything changed since the last save.
  void Save();

 private:
  std::string path_;
  mutable std::mutex mu_;  // guards files_ and dirty_
  std::map<std::string, Checkpoint> files_;
  bool dirty_ = false;
};

}  // namespace argus::agent
