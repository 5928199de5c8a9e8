// libFuzzer target: a log line -> the agent's rules and extraction (scripts/fuzz.sh).
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include <spdlog/spdlog.h>

#include "tests/fuzz/agent_line_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bool quiet = (spdlog::set_level(spdlog::level::off), true);
  (void)quiet;
  std::string problem = argus::fuzz::CheckAgentLine(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!problem.empty()) {
    std::fprintf(stderr, "agent line invariant broken: %s\n", problem.c_str());
    std::abort();
  }
  return 0;
}
