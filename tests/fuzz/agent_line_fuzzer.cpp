// libFuzzer target: a log line -> the agent's rules and extraction (scripts/fuzz.sh).
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include <spdlog/spdlog.h>

#include "tests/fuzz/agent_line_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bool quiet = (spdlog::set_level(spdlog::level::off), true);
  (void)quiet;
  argus::base::Status problem = argus::fuzz::CheckAgentLine(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!problem.ok()) {
    std::fprintf(stderr, "agent line invariant broken: %s\n", problem.message().c_str());
    std::abort();
  }
  return 0;
}
