// What the tree-less JSON scans (proto/json_scan.h) must uphold for any input, checked
// by the libFuzzer target and by the unit suite's replay: they return (never throw),
// and they agree with simdjson, a parser written independently, on valid input —
// no syntax error reported, and the same top-level "token" string.
#pragma once

#include <string>
#include <string_view>

#include <simdjson.h>

#include "base/status.h"
#include "proto/json_scan.h"

namespace argus::fuzz {

inline base::Status CheckJsonScan(std::string_view text) {
  auto error_at = proto::JsonSyntaxErrorAt(text);
  auto token = proto::TopLevelString(text, "token", 64);
  thread_local simdjson::dom::parser parser(32 * 1024 * 1024);
  if (parser.allocate(text.size() + 64, 32) != simdjson::SUCCESS) return base::Status::Invalid("out of memory");
  simdjson::dom::element doc;
  if (parser.parse(text.data(), text.size(), true).get(doc)) return {};  // invalid: any answer is fine
  if (error_at) return base::Status::Invalid("a syntax error at byte " + std::to_string(*error_at) + " in valid JSON");
  std::string_view expected;
  bool has = doc.is_object() && !doc["token"].get_string().get(expected);
  if (has != token.has_value()) {
    return base::Status::Invalid(has ? "the top-level token was not found" : "a token was found where there is none");
  }
  if (has && *token != expected) return base::Status::Invalid("token '" + *token + "' instead of '" + std::string(expected) + "'");
  return {};
}

}  // namespace argus::fuzz
