// libFuzzer target: request body -> validated events (scripts/fuzz.sh runs it).
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "tests/fuzz/decode_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  argus::base::Status problem = argus::fuzz::CheckDecode(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!problem.ok()) {
    std::fprintf(stderr, "decode invariant broken: %s\n", problem.message().c_str());
    std::abort();
  }
  return 0;
}
