// Follows log files: reads what was appended, splits it into lines, and survives
// rename-and-create rotation (the old file is read to its end first) and truncation.
// Each line carries the file identity and offset that its event id is derived from.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agent/checkpoints.h"

namespace argus::agent {

struct Line {
  std::string path;
  FileIdentity id;
  uint64_t offset = 0;      // where the line starts
  uint64_t end_offset = 0;  // just past its newline
  std::string text;         // without the newline
};

struct TailerCounters {
  uint64_t lines = 0, bytes = 0, rotations = 0, truncations = 0, truncated_bytes = 0, long_lines = 0;
};

class Tailer {
 public:
  // `from_head`: where to start a file seen for the first time at startup (files that
  // appear later, or with a new identity, are always read from their start).
  // `from_head_by_path` overrides `from_head` for the paths it names.
  Tailer(std::vector<std::string> paths, const Checkpoints& checkpoints, bool from_head,
         size_t max_line_bytes = 64 * 1024, std::map<std::string, bool> from_head_by_path = {});
  ~Tailer();

  // Reads up to about `max_bytes` of new data across all files; appends complete lines
  // to `out`, and for each file read the position reached (for progress markers).
  void Poll(std::vector<Line>* out, std::vector<Line>* progress, size_t max_bytes);
  const TailerCounters& counters() const { return counters_; }

 private:
  struct File;
  void Open(File& f, bool first_time);
  size_t ReadAvailable(File& f, std::vector<Line>* out, size_t max_bytes);

  std::vector<std::unique_ptr<File>> files_;
  const Checkpoints& checkpoints_;
  bool from_head_;
  std::map<std::string, bool> from_head_by_path_;
  size_t max_line_bytes_;
  TailerCounters counters_;
};

}  // namespace argus::agent
