// Deterministic mutation testing of the batch decoder: whatever the bytes, it returns
// (never throws or crashes) and accounts for every element of an accepted envelope.
#include <doctest/doctest.h>

#include <random>

#include <nlohmann/json.hpp>

#include "proto/event.h"

using namespace argus::proto;

TEST_SUITE("proto::decode mutations") {
  TEST_CASE("mutated batches never throw and every element is accepted or rejected") {
    const std::vector<std::string> seeds = {
        R"({"events":[{"type":"a","content":{"x":1,"y":[1,2,{"z":"s"}]},"host":"h","ts":5,"id":"i","priority":"high"}]})",
        R"({"events":[{"type":"b.c","content":{}},{"type":"x","content":{"s":"\u00e9\ud83d\ude00"}},3,null]})",
        R"({"events":[]})",
    };
    const std::string alphabet = "{}[]\":,\\0123456789abcdefghijklmnopqrstuvwxyz.-_ \x01\xff\xc3";
    std::mt19937_64 rng(20261121);
    Limits limits;
    limits.max_depth = 6;
    size_t checked = 0;
    for (int round = 0; round < 20000; ++round) {
      std::string s = seeds[rng() % seeds.size()];
      int edits = 1 + static_cast<int>(rng() % 6);
      for (int e = 0; e < edits && !s.empty(); ++e) {
        size_t pos = rng() % s.size();
        switch (rng() % 4) {
          case 0: s[pos] = alphabet[rng() % alphabet.size()]; break;
          case 1: s.insert(pos, 1, alphabet[rng() % alphabet.size()]); break;
          case 2: s.erase(pos, 1 + rng() % 4); break;
          case 3: s.insert(pos, s.substr(rng() % s.size(), rng() % 40)); break;
        }
      }
      BatchResult r;
      REQUIRE_NOTHROW(r = DecodeBatch(s, limits));
      if (r.error.empty()) {
        auto doc = nlohmann::json::parse(s);
        REQUIRE(r.events.size() + r.rejected.size() == doc["events"].size());
        for (const auto& ev : r.events) {
          REQUIRE(IsValidType(ev.type));
          REQUIRE(nlohmann::json::parse(ev.content).is_object());
          REQUIRE_NOTHROW((void)Serialize(ev));
        }
        ++checked;
      } else {
        REQUIRE((r.status == 400 || r.status == 413));
      }
    }
    CHECK(checked > 100);  // the mutations also produced valid envelopes to check
  }
}
