#include "proto/hash.h"

namespace argus::proto {

uint64_t Fnv1a64(std::string_view data, uint64_t seed) {
  uint64_t h = seed;
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

uint64_t HashParts(std::initializer_list<std::string_view> parts) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (std::string_view p : parts) {
    // Length-prefixing keeps ("ab","c") and ("a","bc") apart.
    std::string len = std::to_string(p.size()) + ":";
    h = Fnv1a64(len, h);
    h = Fnv1a64(p, h);
  }
  return h;
}

std::string Hex64(uint64_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[static_cast<size_t>(i)] = kDigits[v & 0xf];
    v >>= 4;
  }
  return out;
}

}  // namespace argus::proto
