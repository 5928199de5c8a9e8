#include "base/duration.h"

#include <charconv>

namespace argus::base {

std::optional<int64_t> ParseDurationMs(std::string_view s) {
  constexpr int64_t kMax = int64_t{1} << 53;
  if (s.empty()) return std::nullopt;
  int64_t unit = 1;
  switch (s.back()) {
    case 's': unit = 1000; break;
    case 'm': unit = 60 * 1000; break;
    case 'h': unit = 3600 * 1000; break;
    case 'd': unit = 24 * 3600 * 1000; break;
    case 'w': unit = 7 * 24 * 3600 * 1000LL; break;
    default: break;
  }
  if (unit != 1) s.remove_suffix(1);
  int64_t n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || n < 0 || n > kMax / unit) return std::nullopt;
  return n * unit;
}

}  // namespace argus::base
