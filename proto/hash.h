// Stable 64-bit hashes that are part of the wire contract: event ids derived by the
// agent and the shard a proxy picks must not change between builds or machines.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace argus::proto {

// FNV-1a, 64 bit. Not cryptographic; used for ids, shards and sampling.
uint64_t Fnv1a64(std::string_view data, uint64_t seed = 0xcbf29ce484222325ULL);

// Hashes several parts with a separator that cannot be confused with the parts' text.
uint64_t HashParts(std::initializer_list<std::string_view> parts);

// 16 lowercase hex digits.
std::string Hex64(uint64_t v);

}  // namespace argus::proto
