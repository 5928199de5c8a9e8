#include <doctest/doctest.h>

#include <cstdio>

#include "agent/checkpoints.h"
#include "agent/tailer.h"
#include "tests/support/support.h"

using namespace argus;
using argus::agent::Line;

namespace {

std::vector<Line> PollAll(agent::Tailer& t, std::vector<Line>* progress = nullptr) {
  std::vector<Line> lines, prog;
  t.Poll(&lines, &prog, 1 << 20);
  if (progress) *progress = prog;
  return lines;
}

std::vector<std::string> Texts(const std::vector<Line>& lines) {
  std::vector<std::string> out;
  for (const auto& l : lines) out.push_back(l.text);
  return out;
}

}  // namespace

TEST_SUITE("agent::tailer") {
  TEST_CASE("follows appends; a partial line waits for its newline") {
    testing::TempDir dir;
    std::string log = dir / "a.log";
    testing::WriteFile(log, "before\n");
    agent::Checkpoints cps(dir.path());
    agent::Tailer t({log}, cps, /*from_head=*/false);
    CHECK(PollAll(t).empty());  // started at the end
    testing::AppendFile(log, "one\ntw");
    std::vector<Line> progress;
    auto lines = PollAll(t, &progress);
    CHECK(Texts(lines) == std::vector<std::string>{"one"});
    CHECK(lines[0].offset == 7);
    CHECK(lines[0].end_offset == 11);
    REQUIRE(progress.size() == 1);
    CHECK(progress[0].end_offset == 11);  // not past the partial "tw"
    testing::AppendFile(log, "o\r\nthree\n");
    lines = PollAll(t);
    CHECK(Texts(lines) == std::vector<std::string>{"two", "three"});
    CHECK(lines[0].offset == 11);
  }

  TEST_CASE("from head reads existing lines; a missing file is picked up when it appears") {
    testing::TempDir dir;
    testing::WriteFile(dir / "a.log", "x\ny\n");
    agent::Checkpoints cps(dir.path());
    agent::Tailer t({dir / "a.log", dir / "later.log"}, cps, /*from_head=*/true);
    CHECK(Texts(PollAll(t)) == std::vector<std::string>{"x", "y"});
    testing::WriteFile(dir / "later.log", "new\n");
    CHECK(Texts(PollAll(t)) == std::vector<std::string>{"new"});
  }

  TEST_CASE("resumes from a checkpoint after a restart") {
    testing::TempDir dir;
    std::string log = dir / "a.log";
    testing::WriteFile(log, "a\nb\n");
    {
      agent::Checkpoints cps(dir.path());
      agent::Tailer t({log}, cps, true);
      std::vector<Line> progress;
      auto lines = PollAll(t, &progress);
      REQUIRE(lines.size() == 2);
      // Acknowledge only the first line.
      cps.Advance(log, agent::Checkpoint{lines[0].id, lines[0].end_offset});
      cps.Save();
    }
    testing::AppendFile(log, "c\n");
    agent::Checkpoints cps(dir.path());
    agent::Tailer t({log}, cps, true);
    auto lines = PollAll(t);
    CHECK(Texts(lines) == std::vector<std::string>{"b", "c"});
    CHECK(lines[0].offset == 2);
  }

  TEST_CASE("truncation starts over under a new generation, so ids never repeat") {
    testing::TempDir dir;
    std::string log = dir / "a.log";
    testing::WriteFile(log, "");
    agent::Checkpoints cps(dir.path());
    agent::Tailer t({log}, cps, true);
    testing::AppendFile(log, "first line\n");
    auto a = PollAll(t);
    REQUIRE(a.size() == 1);
    testing::WriteFile(log, "x\n");  // copytruncate-style: same inode, shorter
    auto b = PollAll(t);
    REQUIRE(b.size() == 1);
    CHECK(b[0].text == "x");
    CHECK(b[0].offset == 0);
    CHECK(b[0].id.ino == a[0].id.ino);
    CHECK(b[0].id.gen == a[0].id.gen + 1);
    CHECK(t.counters().truncations == 1);
  }

  TEST_CASE("rename rotation: the old file is read to its end, then the new one") {
    testing::TempDir dir;
    std::string log = dir / "a.log";
    testing::WriteFile(log, "");
    agent::Checkpoints cps(dir.path());
    agent::Tailer t({log}, cps, true);
    testing::AppendFile(log, "1\n");
    CHECK(Texts(PollAll(t)) == std::vector<std::string>{"1"});
    testing::AppendFile(log, "2\n3");  // written before the rename, last line unterminated
    REQUIRE(std::rename(log.c_str(), (dir / "a.log.1").c_str()) == 0);
    testing::WriteFile(log, "4\n");
    auto lines = PollAll(t);
    CHECK(Texts(lines) == std::vector<std::string>{"2", "3", "4"});
    CHECK(lines[2].id.ino != lines[0].id.ino);
    CHECK(lines[2].offset == 0);
    CHECK(t.counters().rotations == 1);
  }

  TEST_CASE("very long lines are cut at the limit and counted") {
    testing::TempDir dir;
    std::string log = dir / "a.log";
    testing::WriteFile(log, "");
    agent::Checkpoints cps(dir.path());
    agent::Tailer t({log}, cps, true, /*max_line_bytes=*/10);
    testing::AppendFile(log, std::string(100000, 'x') + "\nshort\n");
    auto lines = PollAll(t);
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].text == std::string(10, 'x'));
    CHECK(lines[1].text == "short");
    CHECK(lines[1].offset == 100001);
    CHECK(t.counters().long_lines == 1);
  }

  TEST_CASE("a corrupt checkpoint file is refused with its path") {
    testing::TempDir dir;
    testing::WriteFile(dir / "checkpoints.json", "{not json");
    CHECK_THROWS_WITH_AS(agent::Checkpoints(dir.path()),
                         doctest::Contains("is corrupt"), std::runtime_error);
  }
}
