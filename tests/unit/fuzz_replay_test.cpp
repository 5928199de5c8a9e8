// Replays the fuzz corpus seeds and every saved regression input through the fuzz
// targets' invariants, in the normal build: a crash found once stays fixed.
#include <doctest/doctest.h>

#include <filesystem>
#include <functional>
#include <initializer_list>

#include "tests/fuzz/agent_line_check.h"
#include "tests/fuzz/alert_rules_check.h"
#include "tests/fuzz/decode_check.h"
#include "tests/fuzz/json_scan_check.h"
#include "tests/support/support.h"

namespace {

// Every input file (READMEs aside) in the given folders under tests/fuzz, through `check`;
// returns how many were replayed.
size_t Replay(std::initializer_list<const char*> folders, const std::function<argus::base::Status(std::string_view)>& check) {
  size_t replayed = 0;
  for (const char* folder : folders) {
    for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(ARGUS_FUZZ_DIR) / folder)) {
      if (!entry.is_regular_file() || entry.path().extension() == ".md") continue;
      std::string input = argus::testing::ReadFile(entry.path().string());
      INFO(entry.path().string());
      CHECK_OK(check(input));
      ++replayed;
    }
  }
  return replayed;
}

}  // namespace

TEST_SUITE("fuzz replay") {
  TEST_CASE("corpus seeds and regression inputs keep the decoder's invariants") {
    CHECK(Replay({"corpus/decode_batch", "regressions"}, argus::fuzz::CheckDecode) >= 5);
  }

  TEST_CASE("JSON scan seeds, decoder seeds and regressions keep the scans' invariants") {
    CHECK(Replay({"corpus/json_scan", "corpus/decode_batch", "regressions"}, argus::fuzz::CheckJsonScan) >= 5);
  }

  TEST_CASE("agent line seeds keep the rules' invariants") {
    CHECK(Replay({"corpus/agent_line"}, argus::fuzz::CheckAgentLine) >= 5);
  }

  TEST_CASE("alert rule seeds and regressions keep the rules parser's invariants") {
    CHECK(Replay({"corpus/alert_rules", "regressions"}, argus::fuzz::CheckAlertRules) >= 3);
  }
}
