#include "agent/tailer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

namespace argus::agent {

struct Tailer::File {
  std::string path;
  int fd = -1;
  FileIdentity id;
  uint64_t offset = 0;      // next byte to read
  uint64_t line_start = 0;  // where the unterminated rest (partial) begins
  std::string partial;      // bytes read after the last newline (bounded)
  uint64_t reported = UINT64_MAX;  // last position handed out as progress
  bool opened_once = false;
  ~File() {
    if (fd >= 0) ::close(fd);
  }
};

Tailer::Tailer(std::vector<std::string> paths, const Checkpoints& checkpoints, bool from_head,
               size_t max_line_bytes, std::map<std::string, bool> from_head_by_path)
    : checkpoints_(checkpoints),
      from_head_(from_head),
      from_head_by_path_(std::move(from_head_by_path)),
      max_line_bytes_(max_line_bytes) {
  for (auto& p : paths) {
    auto f = std::make_unique<File>();
    f->path = std::move(p);
    Open(*f, /*first_time=*/true);
    files_.push_back(std::move(f));
  }
}

Tailer::~Tailer() = default;

void Tailer::Open(File& f, bool first_time) {
  int fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;  // not there (yet): picked up when it appears
  struct stat st {};
  ::fstat(fd, &st);
  if (f.fd >= 0) ::close(f.fd);
  f.fd = fd;
  f.partial.clear();
  FileIdentity id{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino), 0};
  auto cp = checkpoints_.Get(f.path);
  if (cp && cp->id.dev == id.dev && cp->id.ino == id.ino && !f.opened_once) {
    // The file we were reading before a restart.
    id.gen = cp->id.gen;
    f.offset = cp->offset;
    if (f.offset > static_cast<uint64_t>(st.st_size)) {
      // Truncated while we were away: what was past the new end is gone.
      ++id.gen;
      ++counters_.truncations;
      f.offset = 0;
    }
    spdlog::info("tail {}: resuming at offset {}", f.path, f.offset);
  } else if (first_time && !cp &&
             !(from_head_by_path_.count(f.path) ? from_head_by_path_.at(f.path) : from_head_)) {
    f.offset = static_cast<uint64_t>(st.st_size);
    spdlog::info("tail {}: new file, starting at its end ({} bytes)", f.path, f.offset);
  } else {
    // A file created after we started, or a new file behind a known path.
    if (cp && cp->id.dev == id.dev && cp->id.ino == id.ino) id.gen = cp->id.gen + 1;
    f.offset = 0;
    spdlog::info("tail {}: reading from the start", f.path);
  }
  f.id = id;
  f.line_start = f.offset;
  f.reported = UINT64_MAX;
  f.opened_once = true;
}

size_t Tailer::ReadAvailable(File& f, std::vector<Line>* out, size_t max_bytes) {
  size_t total = 0;
  char buf[65536];
  while (total < max_bytes) {
    ssize_t n = ::pread(f.fd, buf, sizeof(buf), static_cast<off_t>(f.offset));
    if (n <= 0) break;
    uint64_t chunk_start = f.offset;
    f.offset += static_cast<uint64_t>(n);
    total += static_cast<size_t>(n);
    counters_.bytes += static_cast<uint64_t>(n);
    size_t start = 0;
    for (size_t i = 0; i < static_cast<size_t>(n); ++i) {
      if (buf[i] != '\n') continue;
      uint64_t end = chunk_start + i + 1;
      Line line;
      line.path = f.path;
      line.id = f.id;
      line.end_offset = end;
      line.text = std::move(f.partial);
      f.partial.clear();
      line.text.append(buf + start, std::min(i - start, max_line_bytes_ + 1));
      line.offset = f.line_start;
      f.line_start = end;
      if (!line.text.empty() && line.text.back() == '\r') line.text.pop_back();
      if (line.text.size() > max_line_bytes_) {
        line.text.resize(max_line_bytes_);
        ++counters_.long_lines;
      }
      ++counters_.lines;
      out->push_back(std::move(line));
      start = i + 1;
    }
    // Keep the unterminated rest, bounded: a runaway line is cut, not buffered forever.
    size_t room = max_line_bytes_ + 1 > f.partial.size() ? max_line_bytes_ + 1 - f.partial.size() : 0;
    f.partial.append(buf + start, std::min(room, static_cast<size_t>(n) - start));
  }
  return total;
}

void Tailer::Poll(std::vector<Line>* out, std::vector<Line>* progress, size_t max_bytes) {
  for (auto& fp : files_) {
    File& f = *fp;
    if (f.fd < 0) {
      Open(f, /*first_time=*/false);
      if (f.fd < 0) continue;
    }
    struct stat path_st {};
    bool path_exists = ::stat(f.path.c_str(), &path_st) == 0;
    bool rotated = path_exists && (static_cast<uint64_t>(path_st.st_ino) != f.id.ino ||
                                   static_cast<uint64_t>(path_st.st_dev) != f.id.dev);
    struct stat fd_st {};
    ::fstat(f.fd, &fd_st);
    if (!rotated && static_cast<uint64_t>(fd_st.st_size) < f.offset) {
      // Truncated in place (copytruncate): start over under a new generation.
      counters_.truncated_bytes += f.offset - static_cast<uint64_t>(fd_st.st_size);
      ++counters_.truncations;
      ++f.id.gen;
      f.offset = 0;
      f.line_start = 0;
      f.partial.clear();
      spdlog::info("tail {}: truncated, reading from the start", f.path);
    }
    ReadAvailable(f, out, max_bytes);
    if (rotated) {
      // Renamed away and replaced: the old file is complete, so its last line is too.
      ReadAvailable(f, out, SIZE_MAX);
      if (!f.partial.empty()) {
        Line line{f.path, f.id, f.line_start, f.offset, f.partial};
        f.partial.clear();
        f.line_start = f.offset;
        ++counters_.lines;
        out->push_back(std::move(line));
      }
      ++counters_.rotations;
      spdlog::info("tail {}: rotated, following the new file", f.path);
      Open(f, /*first_time=*/false);
      ReadAvailable(f, out, max_bytes);
    }
    // The position to commit is the start of the unterminated rest.
    if (f.line_start != f.reported) {
      f.reported = f.line_start;
      progress->push_back(Line{f.path, f.id, 0, f.line_start, {}});
    }
  }
}

}  // namespace argus::agent
