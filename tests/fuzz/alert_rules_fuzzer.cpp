// libFuzzer target: raw text -> the alert rules parser (scripts/fuzz.sh).
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "tests/fuzz/alert_rules_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  argus::base::Status problem = argus::fuzz::CheckAlertRules(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!problem.ok()) {
    std::fprintf(stderr, "alert rules invariant broken: %s\n", problem.message().c_str());
    std::abort();
  }
  return 0;
}
