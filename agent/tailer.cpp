#include "agent/tailer.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <cstring>
#include <optional>

#include <spdlog/spdlog.h>

#include "base/file.h"
#include "proto/hash.h"

namespace argus::agent {


struct Tailer::File {
  size_t source = 0;
  std::string path;
  int fd = -1;
  FileIdentity id;
  Fingerprint fp;
  uint64_t offset = 0;      // next byte to read
  uint64_t line_start = 0;  // where the unterminated rest (partial) begins
  std::string partial;      // bytes read after the last newline (bounded)
  uint64_t dropped = 0;     // bytes of the current line cut from `partial`
  uint64_t reported = UINT64_MAX;  // last position handed out as progress
  uint64_t last_size = UINT64_MAX;
  int64_t last_mtime_ns = -1;  // with the size: whether the file changed since the last look
  bool matched = true;  // still reached by a pattern under `path`
  base::Clock::SteadyTime last_growth{};  // set from the tailer's clock when opened
  ~File() {
    if (fd >= 0) ::close(fd);
  }
};

namespace {

// The fingerprint of the first min(size, kBytes) bytes of `fd`.
Fingerprint ReadFingerprint(int fd, uint64_t size, uint32_t len = Fingerprint::kBytes) {
  char buf[Fingerprint::kBytes];
  len = static_cast<uint32_t>(std::min<uint64_t>({size, len, Fingerprint::kBytes}));
  ssize_t n = len ? ::pread(fd, buf, len, 0) : 0;
  if (n < 0) n = 0;
  return Fingerprint{proto::Fnv1a64(std::string_view(buf, static_cast<size_t>(n))), static_cast<uint32_t>(n)};
}

// Whether the file still starts with the bytes `fp` was taken from.
bool StartsLike(int fd, uint64_t size, const Fingerprint& fp) {
  if (fp.len == 0) return true;
  if (size < fp.len) return false;
  return ReadFingerprint(fd, size, fp.len) == fp;
}

}  // namespace

Tailer::Tailer(const Checkpoints& checkpoints, TailerOptions options, const base::Clock& clock)
    : checkpoints_(checkpoints), options_(options), clock_(clock) {}

Tailer::~Tailer() = default;

size_t Tailer::SourceOf(const std::string& path) const {
  for (size_t i = 0; i < sources_.size(); ++i) {
    if (::fnmatch(sources_[i].pattern.c_str(), path.c_str(), FNM_PATHNAME) == 0) return i;
  }
  return SIZE_MAX;
}

bool Tailer::WithinSources(const std::string& path) {
  std::error_code ec;
  const auto real = std::filesystem::canonical(path, ec);
  if (ec) return false;
  // No symlink on the way: the path is itself what a pattern matched.
  if (real == std::filesystem::absolute(path, ec).lexically_normal()) return true;
  for (const auto& src : sources_) {
    const std::string pattern = std::filesystem::absolute(src.pattern, ec).lexically_normal().string();
    if (::fnmatch(pattern.c_str(), real.c_str(), FNM_PATHNAME) == 0) return true;
  }
  // A link out of the configured files (say app.log -> /etc/shadow): not followed.
  if (refused_links_.insert(path).second) {
    ++counters_.refused_links;
    spdlog::warn("tail {}: not followed: it leads to {}, which no configured pattern covers (add a pattern for it "
                 "to read it)",
                 path, real.string());
  }
  return false;
}

void Tailer::SetSources(std::vector<TailSource> sources) {
  sources_ = std::move(sources);
  // Indexes into the old list mean nothing now. The next scan sets them for files a
  // pattern reaches; a file being read to its end keeps the rules its name matches
  // (or none: its lines are skipped).
  for (auto& [key, f] : files_) f->source = SourceOf(f->path);
  next_scan_ = {};  // scan at the next poll
}

void Tailer::Follow(const std::string& path, size_t source, bool start_at_end) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;  // gone again: the next scan will tell
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return;
  }
  Key key{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
  if (files_.count(key)) {  // replaced between stat and open by a file we follow
    ::close(fd);
    return;
  }
  auto f = std::make_unique<File>();
  f->last_growth = clock_.Steady();
  f->fd = fd;
  f->path = path;
  f->source = source;
  f->id = FileIdentity{key.first, key.second, 0};
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (auto cp = checkpoints_.Get(key.first, key.second)) {
    if (StartsLike(fd, size, cp->fp)) {
      // The file we were reading before (under this name or, before a rename, another).
      f->id.gen = cp->id.gen;
      f->offset = cp->offset;
      if (f->offset > size) {
        ++f->id.gen;
        ++counters_.truncations;
        f->offset = 0;
        spdlog::warn("tail {}: truncated while the agent was away; reading from the start", path);
      } else {
        spdlog::info("tail {}: resuming at offset {}", path, f->offset);
      }
    } else {
      // Same inode, other content: the old file was deleted and its inode reused.
      f->id.gen = cp->id.gen + 1;
      spdlog::info("tail {}: a new file on a reused inode; reading from the start", path);
    }
  } else if (start_at_end) {
    f->offset = size;
    spdlog::info("tail {}: new file, starting at its end ({} bytes)", path, size);
  } else {
    spdlog::info("tail {}: reading from the start", path);
  }
  f->fp = ReadFingerprint(fd, size);
  f->line_start = f->offset;
  files_[key] = std::move(f);
}

void Tailer::Scan() {
  std::map<Key, std::pair<std::string, size_t>> found;
  for (size_t i = 0; i < sources_.size(); ++i) {
    glob_t g{};
    if (::glob(sources_[i].pattern.c_str(), 0, nullptr, &g) == 0) {
      for (size_t k = 0; k < g.gl_pathc; ++k) {
        struct stat st {};
        if (::stat(g.gl_pathv[k], &st) != 0 || !S_ISREG(st.st_mode)) continue;
        const Key key{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
        // Resolving links costs a look at every part of the path: done for files not
        // followed yet only; one followed already was checked when it was first found.
        if (!files_.count(key) && !WithinSources(g.gl_pathv[k])) continue;
        // First pattern (and, within it, first name in order) wins.
        found.emplace(key, std::pair{std::string(g.gl_pathv[k]), i});
      }
    }
    ::globfree(&g);
  }
  for (auto& [key, f] : files_) {
    bool was = f->matched;
    f->matched = false;
    auto it = found.find(key);
    if (it != found.end()) {
      if (it->second.first != f->path) spdlog::info("tail {}: renamed to {}", f->path, it->second.first);
      f->path = it->second.first;
      f->source = it->second.second;
      f->matched = true;
      found.erase(it);
    } else if (was) {
      ++counters_.rotations;
      spdlog::info("tail {}: renamed away or deleted; reading it to its end", f->path);
    }
  }
  // Names other files had before a restart: a file there now came by rotation since,
  // so it is read from its start. Read once per scan, and only when needed.
  std::optional<std::set<std::string>> followed_before;
  for (const auto& [key, where] : found) {
    const TailSource& source = sources_[where.second];
    bool start_at_end = !source.from_head && !scanned_patterns_.count(source.pattern);
    if (start_at_end && !followed_before) {
      followed_before.emplace();
      for (const auto& cp : checkpoints_.All()) followed_before->insert(cp.path);
    }
    Follow(where.first, where.second, start_at_end && !followed_before->count(where.first));
  }
  for (const auto& s : sources_) scanned_patterns_.insert(s.pattern);
  if (!recovered_) {
    recovered_ = true;
    Recover();
  }
}

void Tailer::Recover() {
  for (const auto& cp : checkpoints_.All()) {
    if (files_.count({cp.id.dev, cp.id.ino})) continue;
    const size_t source = SourceOf(cp.path);
    if (source == SIZE_MAX) continue;  // no longer followed: leave its checkpoint be
    // Rotated while we were down: look for the inode next to where it was.
    std::string found;
    if (DIR* d = ::opendir(base::DirOf(cp.path).c_str())) {
      while (dirent* e = ::readdir(d)) {
        if (static_cast<uint64_t>(e->d_ino) == cp.id.ino) {
          found = base::DirOf(cp.path) + "/" + e->d_name;
          break;
        }
      }
      ::closedir(d);
    }
    struct stat st {};
    int fd = found.empty() ? -1 : ::open(found.c_str(), O_RDONLY | O_CLOEXEC);
    bool same = fd >= 0 && ::fstat(fd, &st) == 0 && static_cast<uint64_t>(st.st_dev) == cp.id.dev &&
                static_cast<uint64_t>(st.st_size) >= cp.offset && StartsLike(fd, static_cast<uint64_t>(st.st_size), cp.fp);
    if (!same) {
      if (fd >= 0) ::close(fd);
      ++counters_.lost_files;
      spdlog::warn("tail {}: rotated while the agent was down and the old file is gone; what was written "
                   "there after offset {} is lost",
                   cp.path, cp.offset);
      pending_.push_back(Progress{cp, /*retire=*/true});
      continue;
    }
    auto f = std::make_unique<File>();
    f->last_growth = clock_.Steady();
    f->fd = fd;
    f->path = found;
    f->source = source;
    f->id = cp.id;
    f->fp = ReadFingerprint(fd, static_cast<uint64_t>(st.st_size));
    f->offset = f->line_start = cp.offset;
    f->matched = false;
    spdlog::info("tail {}: rotated while the agent was down; reading the rest of it from {} at offset {}",
                 cp.path, found, cp.offset);
    files_[{cp.id.dev, cp.id.ino}] = std::move(f);
  }
}

bool Tailer::FollowCopy(const File& f) {
  if (f.fp.len == 0) return false;  // an empty fingerprint would match any file
  DIR* d = ::opendir(base::DirOf(f.path).c_str());
  if (!d) return false;
  bool found = false;
  while (dirent* e = ::readdir(d)) {
    std::string path = base::DirOf(f.path) + "/" + e->d_name;
    struct stat st {};
    if (static_cast<uint64_t>(e->d_ino) == f.id.ino || ::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
        static_cast<uint64_t>(st.st_size) < f.line_start) {
      continue;
    }
    Key key{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
    if (files_.count(key)) continue;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    if (!StartsLike(fd, static_cast<uint64_t>(st.st_size), f.fp)) {
      ::close(fd);
      continue;
    }
    auto copy = std::make_unique<File>();
    copy->last_growth = clock_.Steady();
    copy->fd = fd;
    copy->path = path;
    copy->source = f.source;
    copy->id = FileIdentity{key.first, key.second, 0};
    copy->fp = ReadFingerprint(fd, static_cast<uint64_t>(st.st_size));
    copy->offset = copy->line_start = f.line_start;
    copy->matched = false;  // read to its end, then let go
    spdlog::info("tail {}: reading what was not read yet from its copy {} (offset {})", f.path, path, f.line_start);
    files_[key] = std::move(copy);
    found = true;
    break;
  }
  ::closedir(d);
  return found;
}

char* Tailer::Grow(size_t n) {
  if (arena_size_ + n > arena_cap_) {
    size_t cap = std::max(arena_size_ + n, arena_cap_ * 2);
    auto bigger = std::make_unique<char[]>(cap);
    if (arena_size_) std::memcpy(bigger.get(), arena_.get(), arena_size_);
    arena_ = std::move(bigger);
    arena_cap_ = cap;
  }
  char* at = arena_.get() + arena_size_;
  arena_size_ += n;
  return at;
}

void Tailer::EmitLine(File& f, size_t begin, size_t end, uint64_t end_offset, std::vector<Line>* out) {
  const size_t max_line = options_.max_line_bytes;
  const uint64_t length = (end - begin) + f.dropped;
  size_t len = end - begin;
  if (length > max_line) {
    // Cut, and what was cut is counted.
    counters_.skipped_bytes += length - max_line;
    len = std::min(len, max_line);
    ++counters_.long_lines;
  } else if (len > 0 && arena_[begin + len - 1] == '\r') {
    --len;
  }
  spans_.emplace_back(begin, len);
  out->push_back(Line{f.source, f.id, f.line_start, end_offset, {}});
  f.dropped = 0;
  f.line_start = end_offset;
  ++counters_.lines;
}

size_t Tailer::ReadAvailable(File& f, std::vector<Line>* out, size_t max_bytes) {
  constexpr size_t kChunk = 64 * 1024;
  const size_t max_line = options_.max_line_bytes;
  // Reads go straight into the arena, after the unterminated rest of last time, so
  // every line is one span of it: no copy per line.
  size_t line_begin = arena_size_;
  if (!f.partial.empty()) std::memcpy(Grow(f.partial.size()), f.partial.data(), f.partial.size());
  f.partial.clear();
  size_t total = 0;
  while (total < max_bytes) {
    const size_t old = arena_size_;
    char* dst = Grow(kChunk);
    ssize_t got = ::pread(f.fd, dst, kChunk, static_cast<off_t>(f.offset));
    arena_size_ = old + static_cast<size_t>(std::max<ssize_t>(got, 0));
    if (got <= 0) break;
    const uint64_t chunk_start = f.offset;
    f.offset += static_cast<uint64_t>(got);
    total += static_cast<size_t>(got);
    counters_.bytes += static_cast<uint64_t>(got);
    size_t pos = old;
    while (const void* nl = std::memchr(arena_.get() + pos, '\n', arena_size_ - pos)) {
      size_t i = static_cast<size_t>(static_cast<const char*>(nl) - arena_.get());
      EmitLine(f, line_begin, i, chunk_start + (i - old) + 1, out);
      line_begin = pos = i + 1;
    }
    // A runaway line is cut, not buffered forever: keep its first max_line + 1 bytes.
    if (arena_size_ - line_begin > max_line + 1) {
      f.dropped += arena_size_ - line_begin - (max_line + 1);
      arena_size_ = line_begin + max_line + 1;
    }
  }
  f.partial.assign(arena_.get() + line_begin, arena_size_ - line_begin);
  arena_size_ = line_begin;
  return total;
}

void Tailer::FlushPartial(File& f, std::vector<Line>* out) {
  if (f.partial.empty()) return;
  size_t begin = arena_size_;
  std::memcpy(Grow(f.partial.size()), f.partial.data(), f.partial.size());
  f.partial.clear();
  EmitLine(f, begin, arena_size_, f.offset, out);
}

void Tailer::Poll(std::vector<Line>* out, std::vector<Progress>* progress, size_t max_bytes) {
  arena_size_ = 0;
  spans_.clear();
  const size_t first = out->size();
  size_t budget = max_bytes;  // across all files
  const auto now = clock_.Steady();
  if (now >= next_scan_) {
    Scan();
    next_scan_ = now + options_.rescan_interval;
  }
  for (auto& p : pending_) progress->push_back(std::move(p));
  pending_.clear();
  for (auto it = files_.begin(); it != files_.end();) {
    File& f = *it->second;
    struct stat st {};
    ::fstat(f.fd, &st);
    uint64_t size = static_cast<uint64_t>(st.st_size);
    int64_t mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    bool changed = size != f.last_size || mtime_ns != f.last_mtime_ns;
    bool restarted = false;
    if (size < f.offset) {
      restarted = true;
      spdlog::info("tail {}: truncated, reading from the start", f.path);
    } else if (changed && !StartsLike(f.fd, size, f.fp)) {
      // Truncated and written past our offset again between two looks.
      restarted = true;
      spdlog::warn("tail {}: truncated and rewritten; reading from the start", f.path);
    }
    if (restarted) {
      // copytruncate copies the file before truncating it: what we had not read yet
      // is in the copy. Without one, what we knew was there and never read is lost.
      if (!FollowCopy(f) && f.last_size != UINT64_MAX && f.last_size > f.line_start) {
        counters_.skipped_bytes += f.last_size - f.line_start;
      }
      ++counters_.truncations;
      ++f.id.gen;
      f.offset = f.line_start = f.dropped = 0;
      f.partial.clear();
      f.fp = {};
    }
    if (changed && f.fp.len < Fingerprint::kBytes) f.fp = ReadFingerprint(f.fd, size);
    f.last_size = size;
    f.last_mtime_ns = mtime_ns;
    if (size > f.offset) {
      budget -= std::min(budget, ReadAvailable(f, out, budget));
      f.last_growth = now;
    }
    bool done = !f.matched && now - f.last_growth >= options_.rotate_grace && f.offset >= size;
    // The writer has moved on: the old file is complete, so its last line is too.
    if (done) FlushPartial(f, out);
    // The position to commit is the start of the unterminated rest.
    if (f.line_start != f.reported || done) {
      f.reported = f.line_start;
      progress->push_back(Progress{Checkpoint{f.id, f.fp, f.path, f.line_start}, done});
    }
    if (done) {
      spdlog::info("tail {}: finished with it", f.path);
      it = files_.erase(it);
    } else {
      ++it;
    }
  }
  counters_.files = files_.size();
  for (size_t i = 0; i < spans_.size(); ++i) {
    (*out)[first + i].text = std::string_view(arena_.get() + spans_[i].first, spans_[i].second);
  }
}

}  // namespace argus::agent
