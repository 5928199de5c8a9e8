// What the decoder must uphold for any input, checked by the libFuzzer target and by
// the unit suite's replay of the corpus and of every input a fuzzer ever crashed on:
// it returns (never throws), and every event it accepts survives serialize ->
// deserialize unchanged. Returns an empty string, or what broke.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"
#include "proto/event.h"

namespace argus::fuzz {

inline base::Status CheckDecode(std::string_view body) {
  proto::Limits limits;
  limits.max_depth = 8;
  limits.max_event_bytes = 4096;
  limits.max_batch_events = 64;
  proto::BatchResult r = proto::DecodeBatch(body, limits);
  if (!r.error.empty()) {
    if (r.status == 400 || r.status == 413) return {};
    return base::Status::Invalid("envelope error with status " + std::to_string(r.status));
  }
  for (const auto& e : r.events) {
    proto::Event back;
    std::string text = proto::Serialize(e);
    if (auto s = proto::Deserialize(text, &back); !s.ok()) return base::Status::Invalid("round trip failed: " + s.message() + " for " + text);
    if (back.type != e.type || back.content != e.content || back.host != e.host || back.id != e.id ||
        back.ts != e.ts || back.priority != e.priority) {
      return base::Status::Invalid("round trip changed the event: " + text);
    }
  }
  return {};
}

}  // namespace argus::fuzz
