// Follows log files named by paths or globs: reads what was appended and splits it
// into lines. Files are known by identity (device, inode, fingerprint), not by name,
// so a file renamed by rotation is read to its end (and for a grace period after, for
// writers that reopen late) while the new file under the old name is read from its
// start; truncation starts a new generation, and what was not read yet before it is
// read from the copy (copytruncate) found by its fingerprint in the same folder. After
// a restart, the tail of a file rotated while the agent was down is found by inode.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/checkpoints.h"
#include "base/clock.h"

namespace argus::agent {

// A path or glob to follow.
struct TailSource {
  std::string pattern;
  bool from_head = false;  // where a file found by the first scan of this pattern starts
};

struct Line {
  size_t source = 0;  // index of the TailSource that reached the file (SIZE_MAX: none now)
  FileIdentity id;
  uint64_t offset = 0;      // where the line starts
  uint64_t end_offset = 0;  // just past its newline
  std::string_view text;    // without the newline; valid until the next Poll
};

struct TailerOptions {
  size_t max_line_bytes = 64 * 1024;
  std::chrono::milliseconds rescan_interval{1000};  // how often globs are expanded again
  // A file renamed away or deleted is still read until it has not grown for this long.
  std::chrono::milliseconds rotate_grace{5000};
};

// Read by other threads (the heartbeat); written by the tail loop only.
struct TailerCounters {
  std::atomic<uint64_t> lines{0}, bytes{0}, files{0}, rotations{0}, truncations{0}, skipped_bytes{0},
      long_lines{0}, lost_files{0}, refused_links{0};
};

class Tailer {
 public:
  // Rescans and rotation grace are measured on `clock`.
  Tailer(const Checkpoints& checkpoints, TailerOptions options = {}, const base::Clock& clock = base::SystemClock());
  ~Tailer();

  // What to follow. A file found by the first scan of a pattern starts at its end
  // unless the source says head; files that appear later start at their head. Files
  // no longer reached by any pattern are read to their end, then let go.
  void SetSources(std::vector<TailSource> sources);

  // Reads up to about `max_bytes` of new data across all files; appends complete lines
  // to `out` and, for each file that moved, its new safe position to `progress`.
  void Poll(std::vector<Line>* out, std::vector<Progress>* progress, size_t max_bytes);
  const TailerCounters& counters() const { return counters_; }

 private:
  struct File;
  using Key = std::pair<uint64_t, uint64_t>;  // (dev, ino)
  void Scan();
  void Recover();
  // Starts following `path`: at its checkpoint if it has one, else at its end or start.
  void Follow(const std::string& path, size_t source, bool start_at_end);
  // The first source whose pattern matches `path`, or SIZE_MAX.
  size_t SourceOf(const std::string& path) const;
  // Whether `path` is what it seems: a path with a symlink on the way is followed only
  // when what it resolves to is covered by a pattern too (logged and counted once).
  bool WithinSources(const std::string& path);
  // After `f` was truncated: follows the copy copytruncate made of it, from where we
  // were; false when there is none.
  bool FollowCopy(const File& f);
  // Reads at most about `max_bytes` of `f`; returns how much it read.
  size_t ReadAvailable(File& f, std::vector<Line>* out, size_t max_bytes);
  // Hands out the line of `f` held in arena bytes [begin, end), ending at `end_offset`
  // in the file.
  void EmitLine(File& f, size_t begin, size_t end, uint64_t end_offset, std::vector<Line>* out);
  // The unterminated rest of a finished file is its last line.
  void FlushPartial(File& f, std::vector<Line>* out);
  // Makes room for `n` more arena bytes; returns where they start.
  char* Grow(size_t n);

  const Checkpoints& checkpoints_;
  TailerOptions options_;
  const base::Clock& clock_;
  std::vector<TailSource> sources_;
  std::set<std::string> scanned_patterns_;
  std::map<Key, std::unique_ptr<File>> files_;
  std::vector<Progress> pending_;  // handed out by the next Poll
  // What one Poll read, back to back (one allocation, not one per line), and each
  // line's span of it; the lines' views are set once the arena stops growing.
  std::unique_ptr<char[]> arena_;
  size_t arena_size_ = 0, arena_cap_ = 0;
  std::vector<std::pair<size_t, size_t>> spans_;
  base::Clock::SteadyTime next_scan_{};
  bool recovered_ = false;
  TailerCounters counters_;
  std::set<std::string> refused_links_;  // paths whose refusal was logged
};

}  // namespace argus::agent
