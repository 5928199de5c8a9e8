// Durations as people write them in query strings and config files: "30s", "5m", "2h",
// "7d", "1w", or a bare number of milliseconds.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace argus::base {

// Milliseconds, or nullopt for anything else (a sign, a fraction, an unknown unit, or
// more than 2^53 ms).
std::optional<int64_t> ParseDurationMs(std::string_view text);

}  // namespace argus::base
