// libFuzzer target: raw text -> the tree-less JSON scans (scripts/fuzz.sh).
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "tests/fuzz/json_scan_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  argus::base::Status problem = argus::fuzz::CheckJsonScan(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!problem.ok()) {
    std::fprintf(stderr, "json scan invariant broken: %s\n", problem.message().c_str());
    std::abort();
  }
  return 0;
}
