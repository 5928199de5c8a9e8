// Where each followed file has been read up to, saved atomically in the state dir.
// A file is known by its identity (device and inode) plus a fingerprint of its first
// bytes, so a file renamed by rotation keeps its place and a reused inode is not taken
// for the old file. An offset is advanced only once every line before it has been
// taken by a proxy or written to the spool, so after a crash the agent re-reads at
// most what was not yet safe; stable event ids make that re-send harmless.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace argus::agent {

// A file's identity: the inode on its device, plus a generation bumped on every
// truncation and inode reuse, so offsets (and the ids derived from them) never repeat.
struct FileIdentity {
  uint64_t dev = 0, ino = 0, gen = 0;
  bool operator==(const FileIdentity&) const = default;
};

// A hash of a file's first `len` bytes (len grows up to kFingerprintBytes as the
// file does). len 0 matches any file.
struct Fingerprint {
  static constexpr uint32_t kBytes = 256;
  uint64_t hash = 0;
  uint32_t len = 0;
  bool operator==(const Fingerprint&) const = default;
};

struct Checkpoint {
  FileIdentity id;
  Fingerprint fp;
  std::string path;  // where the file was last seen (for finding it after a rotation)
  uint64_t offset = 0;
  bool operator==(const Checkpoint&) const = default;
};

// "Every line of this file before cp.offset has been handed out"; with `retire`, the
// tailer is done with the file and its checkpoint can go once the lines are safe.
struct Progress {
  Checkpoint cp;
  bool retire = false;
};

// Thread-safe: the tailer reads it, the shipper advances it.
class Checkpoints {
 public:
  // Loads `<state_dir>/checkpoints.json` if present; throws on a corrupt file.
  explicit Checkpoints(std::string state_dir);

  std::optional<Checkpoint> Get(uint64_t dev, uint64_t ino) const;
  std::vector<Checkpoint> All() const;
  // Moves a file's offset forward (never back within one generation).
  void Advance(const Checkpoint& cp);
  // Forgets a file the tailer has finished with (rotated away and read to its end).
  void Retire(const FileIdentity& id);
  // Records progress whose lines are safe: Advance, or Retire when it says so.
  void Apply(const Progress& p);
  // Writes the file (temp file, fsync, rename) if anything changed since the last save.
  void Save();

 private:
  std::string path_;
  mutable std::mutex mu_;  // guards files_ and dirty_
  std::map<std::pair<uint64_t, uint64_t>, Checkpoint> files_;  // by (dev, ino)
  bool dirty_ = false;
};

}  // namespace argus::agent
