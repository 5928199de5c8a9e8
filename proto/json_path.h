// Dotted paths into an event's content, as docs/design.md writes them ("upstream.db_ms",
// a rule's sample_key, an aggregator's key fields): each step a key of an object.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

namespace argus::proto {

// The value at `path` ("a.b" is j["a"]["b"]), or nullptr when a step is missing or
// not an object.
const nlohmann::json* FindPath(const nlohmann::json& j, std::string_view path);

}  // namespace argus::proto
