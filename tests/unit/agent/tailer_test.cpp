#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "agent/checkpoints.h"
#include "agent/tailer.h"
#include "tests/support/support.h"

using namespace argus;
using argus::agent::Line;
using argus::agent::Progress;

namespace {

// Tests look at every change at once: no rescan delay, no grace for rotated files.
agent::TailerOptions Immediate(size_t max_line_bytes = 64 * 1024) {
  agent::TailerOptions o;
  o.max_line_bytes = max_line_bytes;
  o.rescan_interval = std::chrono::milliseconds(0);
  o.rotate_grace = std::chrono::milliseconds(0);
  return o;
}

std::unique_ptr<agent::Tailer> Follow(const agent::Checkpoints& cps, std::vector<std::string> patterns,
                                      bool from_head, agent::TailerOptions o = Immediate()) {
  auto t = std::make_unique<agent::Tailer>(cps, o);
  std::vector<agent::TailSource> sources;
  for (auto& p : patterns) sources.push_back({p, from_head});
  t->SetSources(sources);
  return t;
}

std::vector<Line> PollAll(agent::Tailer& t, std::vector<Progress>* progress = nullptr) {
  std::vector<Line> lines;
  std::vector<Progress> prog;
  t.Poll(&lines, &prog, 1 << 20);
  if (progress) *progress = prog;
  return lines;
}

std::vector<std::string> Texts(const std::vector<Line>& lines) {
  std::vector<std::string> out;
  for (const auto& l : lines) out.emplace_back(l.text);
  return out;
}

// Acknowledges everything handed out, as the shipper does once a proxy took it.
void Commit(agent::Checkpoints& cps, const std::vector<Progress>& progress) {
  for (const auto& p : progress) cps.Apply(p);
  cps.Save();
}

}  // namespace

TEST_SUITE("agent::tailer") {
  TEST_CASE("follows appends, a partial line waits for its newline") {
    testing::TempDir dir;
    std::string log = dir / "a.log";
    testing::WriteFile(log, "before\n");
    agent::Checkpoints cps(dir.path());
    auto t = Follow(cps, {log}, /*from_head=*/false);
    CHECK(PollAll(*t).empty());  // started at the end
    testing::AppendFile(log, "one\ntw");
    std::vector<Progress> progress;
    auto lines = PollAll(*t, &progress);
    CHECK(Texts(lines) == std::vector<std::string>{"one"});
    CHECK(lines[0].offset == 7);
    CHECK(lines[0].end_offset == 11);
    REQUIRE(progress.size() == 1);
    CHECK(progress[0].cp.offset == 11);  // not past the partial "tw"
    CHECK(progress[0].cp.path == log);
    CHECK(progress[0].cp.fp.len == 13);  // "before\none\ntw"
    testing::AppendFile(log, "o\r\nthree\n");
    lines = PollAll(*t);
    CHECK(Texts(lines) == std::vector<std::string>{"two", "three"});
    CHECK(lines[0].offset == 11);
  }

  TEST_CASE("from head reads existing lines, a missing file is picked up when it appears") {
    testing::TempDir dir;
    testing::WriteFile(dir / "a.log", "x\ny\n");
    agent::Checkpoints cps(dir.path());
    auto t = Follow(cps, {dir / "a.log", dir / "later.log"}, /*from_head=*/true);
    CHECK(Texts(PollAll(*t)) == std::vector<std::string>{"x", "y"});
    testing::WriteFile(dir / "later.log", "new\n");
    auto lines = PollAll(*t);
    CHECK(Texts(lines) == std::vector<std::string>{"new"});
    CHECK(lines[0].source == 1);
  }

  TEST_CASE("a glob picks up files that appear later, from their start, even when starting at the end") {
    testing::TempDir dir;
    testing::WriteFile(dir / "a.log", "old\n");
    testing::WriteFile(dir / "skip.txt", "not matched\n");
    agent::Checkpoints cps(dir.path());
    auto t = Follow(cps, {dir / "*.log"}, /*from_head=*/false);
    CHECK(PollAll(*t).empty());
    testing::AppendFile(dir / "a.log", "a1\n");
    testing::WriteFile(dir / "b.log", "b1\nb2\n");
    testing::AppendFile(dir / "skip.txt", "still not\n");
    auto texts = Texts(PollAll(*t));
    std::sort(texts.begin(), texts.end());
    CHECK(texts == std::vector<std::string>{"a1", "b1", "b2"});
    CHECK(t->counters().files == 2);
  }

  TEST_CASE("resumes from a checkpoint after a restart") {
    testing::TempDir dir;
    std::string log = dir / "a.log";
    testing::WriteFile(log, "a\nb\n");
    {
      agent::Checkpoints cps(dir.path());
      auto t = Follow(cps, {log}, true);
      auto lines = PollAll(*t);
      REQUIRE(lines.size() == 2);
      // Acknowledge only the first line.
      cps.Advance(agent::Checkpoint{lines[0].id, {}, log, lines[0].end_offset});
      cps.Save();
    }
    testing::AppendFile(log, "c\n");
    agent::Checkpoints cps(dir.path());
    auto t = Follow(cps, {log}, true);
    auto lines = PollAll(*t);
    CHECK(Texts(lines) == std::vector<std::string>{"b", "c"});
    CHECK(lines[0].offset == 2);
  }

  TEST_CASE("truncation starts over under a new generation, so ids never repeat") {
    testing::TempDir dir;
    std::string log = dir / "a.log";
    testing::WriteFile(log, "");
    agent::Checkpoints cps(dir.path());
    auto t = Follow(cps, {log}, true);
    testing::AppendFile(log, "first line\n");
    auto a = PollAll(*t);
    REQUIRE(a.size() == 1);
    testing::WriteFile(log, "x\n");  // copytruncate-style: same inode, shorter
    auto b = PollAll(*t);
    REQUIRE(b.size() == 1);
    CHECK(b[0].text == "x");
    CHECK(b[0].offset == 0);
    CHECK(b[0].id.ino == a[0].id.ino);
    CHECK(b[0].id.gen == a[0].id.gen + 1);
    CHECK(t->counters().truncations == 1);
    CHECK(t->counters().skipped_bytes == 0);  // everything was read before the truncation
  }

  TEST_CASE("copytruncate: lines not read before the truncation are read from the copy, once") {
    testing::TempDir dir;
    std::string log = dir / "a.log";
    testing::WriteFile(log, "");
    agent::Checkpoints cps(dir.path());
    auto t = Follow(cps, {log}, true);
    testing::AppendFile(log, "1\n");
    CHECK(Texts(PollAll(*t)) == std::vector<std::string>{"1"});
    testing::AppendFile(log, "2\n3\n");  // not read before the rotation
    testing::WriteFile(dir / "a.log.1", testing::ReadFile(log));
    REQUIRE(::truncate(log.c_str(), 0) == 0);
    testing::AppendFile(log, "4\n");
    auto texts = Texts(PollAll(*t));
    std::sort(texts.begin(), texts.end());
    CHECK(texts == std::vector<std::string>{"2", "3", "4"});
    CHECK(t->counters().skipped_bytes == 0);
    CHECK(t->counters().truncations == 1);
  }

  TEST_CASE("truncated with no copy: the bytes known and never read are counted") {
    testing::TempDir dir;
    std::string log = dir / "a.log";
    testing::WriteFile(log, "");
    agent::Checkpoints cps(dir.path());
    auto t = Follow(cps, {log}, true);
    testing::AppendFile(log, "1\n");
    PollAll(*t);
    testing::AppendFile(log, "2345\n");
    // Seen by a poll that read nothing (no budget), then gone.
    std::vector<Line> none;
    std::vector<Progress> progress;
    t->Poll(&none, &progress, 0);
    REQUIRE(::truncate(log.c_str(), 0) == 0);
    CHECK(PollAll(*t).empty());
    CHECK(t->counters().skipped_bytes == 5);
  }

  TEST_CASE("truncated and rewritten past the old offset between two looks: caught by the fingerprint") {
    testing::TempDir dir;
    std::string log = dir / "a.log";
    testing::WriteFile(log, "");
    agent::Checkpoints cps(dir.path());
    auto t = Follow(cps, {log}, true);
    testing::AppendFile(log, "aaaa\n");
    REQUIRE(PollAll(*t).size() == 1);
    testing::WriteFile(log, "bbbbbbbb\ncc\n");  // same inode, now longer than before
    auto lines = PollAll(*t);
    CHECK(Texts(lines) == std::vector<std::string>{"bbbbbbbb", "cc"});
    CHECK(t->counters().truncations == 1);
  }

  TEST_CASE("a symlink is followed only when a pattern covers where it leads") {
    testing::TempDir dir, outside;
    testing::WriteFile(outside / "shadow", "root:secret\n");
    testing::WriteFile(dir / "real.log", "");
    REQUIRE(::symlink((outside / "shadow").c_str(), (dir / "evil.log").c_str()) == 0);
    REQUIRE(::symlink((dir / "real.log").c_str(), (dir / "alias.log").c_str()) == 0);
    agent::Checkpoints cps(dir.path());
    auto t = Follow(cps, {dir / "*.log"}, /*from_head=*/true);
    testing::AppendFile(dir / "real.log", "fine\n");
    auto texts = Texts(PollAll(*t));
    CHECK(texts == std::vector<std::string>{"fine"});  // once: alias.log is the same file
    CHECK(t->counters().refused_links == 1);
    CHECK(t->counters().files == 1);
    PollAll(*t);
    CHECK(t->counters().refused_links == 1);  // counted (and logged) once
    // Covered by a pattern of its own, the target may be read.
    auto both = Follow(cps, {dir / "*.log", outside / "*"}, /*from_head=*/true);
    auto all = Texts(PollAll(*both));
    CHECK(std::find(all.begin(), all.end(), "root:secret") != all.end());
  }

  TEST_CASE("rename rotation: the old file is read to its end, then the new one") {
    testing::TempDir dir;
    std::string log = dir / "a.log";
    testing::WriteFile(log, "");
    agent::Checkpoints cps(dir.path());
    auto t = Follow(cps, {log}, true);
    testing::AppendFile(log, "1\n");
    CHECK(Texts(PollAll(*t)) == std::vector<std::string>{"1"});
    testing::AppendFile(log, "2\n3");  // written before the rename, last line unterminated
    REQUIRE(std::rename(log.c_str(), (dir / "a.log.1").c_str()) == 0);
    testing::WriteFile(log, "4\n");
    std::vector<Progress> progress;
    auto lines = PollAll(*t, &progress);
    auto texts = Texts(lines);
    std::sort(texts.begin(), texts.end());
    CHECK(texts == std::vector<std::string>{"2", "3", "4"});
    CHECK(t->counters().rotations == 1);
    // The old file is done with: its checkpoint is retired.
    bool retired = false;
    for (const auto& p : progress) retired |= p.retire && p.cp.id.ino == lines[0].id.ino;
    CHECK(retired);
  }

  TEST_CASE("a renamed file is still followed during the grace period, for writers that reopen late") {
    testing::TempDir dir;
    std::string log = dir / "a.log";
    testing::WriteFile(log, "");
    agent::Checkpoints cps(dir.path());
    auto o = Immediate();
    o.rotate_grace = std::chrono::hours(1);
    auto t = Follow(cps, {log}, true, o);
    PollAll(*t);
    REQUIRE(std::rename(log.c_str(), (dir / "a.log.1").c_str()) == 0);
    testing::WriteFile(log, "new\n");
    CHECK(Texts(PollAll(*t)) == std::vector<std::string>{"new"});
    testing::AppendFile(dir / "a.log.1", "late\n");  // the writer had not reopened yet
    CHECK(Texts(PollAll(*t)) == std::vector<std::string>{"late"});
    CHECK(t->counters().files == 2);
  }

  TEST_CASE("a file renamed within the glob keeps its place: nothing is read twice") {
    testing::TempDir dir;
    testing::WriteFile(dir / "app.log", "");
    agent::Checkpoints cps(dir.path());
    auto t = Follow(cps, {dir / "app.log*"}, true);
    testing::AppendFile(dir / "app.log", "1\n2\n");
    CHECK(PollAll(*t).size() == 2);
    REQUIRE(std::rename((dir / "app.log").c_str(), (dir / "app.log.1").c_str()) == 0);
    testing::AppendFile(dir / "app.log.1", "3\n");
    testing::WriteFile(dir / "app.log", "4\n");
    auto texts = Texts(PollAll(*t));
    std::sort(texts.begin(), texts.end());
    CHECK(texts == std::vector<std::string>{"3", "4"});
  }

  TEST_CASE("rotated while the agent was down: the rest of the old file is read, then the new one") {
    testing::TempDir dir;
    std::string log = dir / "a.log";
    testing::WriteFile(log, "1\n");
    {
      agent::Checkpoints cps(dir.path());
      auto t = Follow(cps, {log}, true);
      std::vector<Progress> progress;
      REQUIRE(PollAll(*t, &progress).size() == 1);
      Commit(cps, progress);
    }
    testing::AppendFile(log, "2\n");  // written before the rotation, never read
    REQUIRE(std::rename(log.c_str(), (dir / "a.log.1").c_str()) == 0);
    testing::WriteFile(log, "3\n");
    agent::Checkpoints cps(dir.path());
    auto t = Follow(cps, {log}, /*from_head=*/false);
    std::vector<Progress> progress;
    auto texts = Texts(PollAll(*t, &progress));
    std::sort(texts.begin(), texts.end());
    // "3" is read although starting at the end: a new file behind a followed name.
    CHECK(texts == std::vector<std::string>{"2", "3"});
    Commit(cps, progress);
    CHECK(cps.All().size() == 1);  // the old file's checkpoint is gone with it
  }

  TEST_CASE("rotated while down and the old file deleted: counted as lost, never silent") {
    testing::TempDir dir;
    std::string log = dir / "a.log";
    testing::WriteFile(log, "1\n");
    {
      agent::Checkpoints cps(dir.path());
      auto t = Follow(cps, {log}, true);
      std::vector<Progress> progress;
      PollAll(*t, &progress);
      Commit(cps, progress);
    }
    REQUIRE(std::remove(log.c_str()) == 0);
    testing::WriteFile(dir / "pad", std::string(100, 'p'));  // keep the inode from coming straight back
    testing::WriteFile(log, "fresh\n");
    agent::Checkpoints cps(dir.path());
    auto t = Follow(cps, {log}, false);
    auto lines = PollAll(*t);
    CHECK(Texts(lines) == std::vector<std::string>{"fresh"});
    CHECK(t->counters().lost_files == 1);
  }

  TEST_CASE("an inode reused by a new file is told apart by the fingerprint") {
    testing::TempDir dir;
    std::string log = dir / "a.log";
    testing::WriteFile(log, "the old file's first line\n");
    agent::Checkpoints cps(dir.path());
    struct stat st {};
    REQUIRE(::stat(log.c_str(), &st) == 0);
    // A checkpoint for this inode, but taken of different content.
    cps.Advance(agent::Checkpoint{{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino), 4},
                                  {0x1234, 10}, log, 20});
    auto t = Follow(cps, {log}, false);
    auto lines = PollAll(*t);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].offset == 0);
    CHECK(lines[0].id.gen == 5);  // new ids, not the old file's
  }

  TEST_CASE("one poll reads about its budget across all files, the rest comes next time") {
    testing::TempDir dir;
    for (const char* name : {"a.log", "b.log"}) testing::WriteFile(dir / name, std::string(300000, 'x') + "\n");
    agent::Checkpoints cps(dir.path());
    auto t = Follow(cps, {dir / "*.log"}, true);
    std::vector<Line> lines;
    std::vector<Progress> progress;
    t->Poll(&lines, &progress, 100000);
    CHECK(t->counters().bytes <= 100000 + 64 * 1024);  // at most one read past the budget
    CHECK(lines.empty());
    for (int i = 0; i < 20 && lines.size() < 2; ++i) t->Poll(&lines, &progress, 100000);
    CHECK(lines.size() == 2);
  }

  TEST_CASE("a new list of patterns re-points a file's rules, or drops them when none matches") {
    testing::TempDir dir;
    testing::WriteFile(dir / "a.log", "");
    testing::WriteFile(dir / "b.log", "");
    agent::Checkpoints cps(dir.path());
    auto t = Follow(cps, {dir / "a.log", dir / "b.log"}, true);
    PollAll(*t);
    t->SetSources({{dir / "b.log", true}});
    testing::AppendFile(dir / "b.log", "b\n");
    testing::AppendFile(dir / "a.log", "a\n");  // no longer followed: read to its end, no rules
    auto lines = PollAll(*t);
    REQUIRE(lines.size() == 2);
    for (const auto& l : lines) CHECK(l.source == (l.text == "b" ? 0 : SIZE_MAX));
  }

  TEST_CASE("very long lines are cut at the limit and counted") {
    testing::TempDir dir;
    std::string log = dir / "a.log";
    testing::WriteFile(log, "");
    agent::Checkpoints cps(dir.path());
    auto t = Follow(cps, {log}, true, Immediate(/*max_line_bytes=*/10));
    testing::AppendFile(log, std::string(100000, 'x') + "\nshort\n");
    auto lines = PollAll(*t);
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].text == std::string(10, 'x'));
    CHECK(lines[1].text == "short");
    CHECK(lines[1].offset == 100001);
    CHECK(t->counters().long_lines == 1);
    CHECK(t->counters().skipped_bytes == 100000 - 10);
  }

  TEST_CASE("a corrupt checkpoint file is refused with its path") {
    testing::TempDir dir;
    testing::WriteFile(dir / "checkpoints.json", "{not json");
    CHECK_THROWS_WITH_AS(agent::Checkpoints(dir.path()), doctest::Contains("is corrupt"), std::runtime_error);
  }

  TEST_CASE("a version-1 checkpoint file (keyed by path) is still read") {
    testing::TempDir dir;
    testing::WriteFile(dir / "checkpoints.json",
                       R"({"files":{"/var/log/a.log":{"dev":1,"ino":2,"gen":3,"offset":40}}})");
    agent::Checkpoints cps(dir.path());
    auto cp = cps.Get(1, 2);
    REQUIRE(cp);
    CHECK(cp->path == "/var/log/a.log");
    CHECK(cp->offset == 40);
    CHECK(cp->id.gen == 3);
  }
}
