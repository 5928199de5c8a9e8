// Replays the fuzz corpus seeds and every saved regression input through the decoder's
// invariants, in the normal build: a crash found once stays fixed.
#include <doctest/doctest.h>

#include <filesystem>

#include "tests/fuzz/agent_line_check.h"
#include "tests/fuzz/decode_check.h"
#include "tests/support/support.h"

TEST_SUITE("fuzz replay") {
  TEST_CASE("corpus seeds and regression inputs keep the decoder's invariants") {
    size_t replayed = 0;
    for (const char* folder : {"corpus/decode_batch", "regressions"}) {
      std::filesystem::path dir = std::filesystem::path(ARGUS_FUZZ_DIR) / folder;
      for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (!entry.is_regular_file() || entry.path().extension() == ".md") continue;
        std::string input = argus::testing::ReadFile(entry.path().string());
        INFO(entry.path().string());
        CHECK(argus::fuzz::CheckDecode(input) == "");
        ++replayed;
      }
    }
    CHECK(replayed >= 5);
  }

  TEST_CASE("agent line seeds keep the rules' invariants") {
    size_t replayed = 0;
    for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(ARGUS_FUZZ_DIR) / "corpus/agent_line")) {
      std::string input = argus::testing::ReadFile(entry.path().string());
      INFO(entry.path().string());
      CHECK(argus::fuzz::CheckAgentLine(input) == "");
      ++replayed;
    }
    CHECK(replayed >= 5);
  }
}
