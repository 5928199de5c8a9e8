#include "proto/event.h"

#include "proto/json_depth.h"

namespace argus::proto {
namespace {

using nlohmann::json;

bool IsTypeChar(char c, bool first) {
  if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
  return !first && (c == '_' || c == '.' || c == '-');
}

bool HasControlChar(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

// Depth of a parsed value; the raw-text pre-scan bounds the recursion.
size_t Depth(const json& j) {
  if (!j.is_structured()) return 0;
  size_t inner = 0;
  for (const auto& v : j) inner = std::max(inner, Depth(v));
  return inner + 1;
}

std::string TypeName(const json& j) {
  switch (j.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_float: return "a fractional number";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "an integer";
    case json::value_t::string: return "a string";
    case json::value_t::array: return "an array";
    case json::value_t::object: return "an object";
    default: return "an unsupported value";
  }
}

std::string WrongType(std::string_view field, std::string_view want, const json& got) {
  return "field '" + std::string(field) + "' must be " + std::string(want) + ", not " +
         TypeName(got);
}

// A host or an id: a non-empty string of at most `max` characters, no control characters
// (they end up in logs, keys and URLs).
std::string Name(const std::string& field, const json& v, size_t max, std::string* out) {
  if (!v.is_string()) return WrongType(field, "a string", v);
  *out = v.get<std::string>();
  if (out->empty()) return "field '" + field + "' must not be empty";
  if (out->size() > max) {
    return "field '" + field + "' is longer than " + std::to_string(max) + " characters";
  }
  if (HasControlChar(*out)) return "field '" + field + "' contains control characters";
  return {};
}

// Shared by client decoding and stream decoding; `stored` allows the proxy's fields.
std::string DecodeFields(const json& j, const Limits& limits, bool stored, Event* out) {
  if (!j.is_object()) return "an event must be a JSON object, not " + TypeName(j);
  Event e;
  bool has_type = false;
  bool has_content = false;
  for (const auto& [key, v] : j.items()) {
    if (key == "type") {
      if (!v.is_string()) return WrongType(key, "a string", v);
      e.type = v.get<std::string>();
      if (!IsValidType(e.type)) {
        return "field 'type' must match [a-z0-9][a-z0-9_.-]{0,63}, got \"" +
               e.type.substr(0, 80) + "\"";
      }
      has_type = true;
    } else if (key == "content") {
      if (!v.is_object()) return WrongType(key, "an object", v);
      e.content = v;
      has_content = true;
    } else if (key == "host" || key == "id") {
      size_t max = key == "host" ? limits.max_host_chars : limits.max_id_chars;
      if (auto err = Name(key, v, max, key == "host" ? &e.host : &e.id); !err.empty()) return err;
    } else if (key == "ts" || (stored && key == "recv_ts")) {
      if (!v.is_number_integer()) return WrongType(key, "an integer (ms since the epoch)", v);
      if (v.is_number_unsigned() ? v.get<uint64_t>() > (1ULL << 53) : v.get<int64_t>() < 0) {
        return "field '" + key + "' is out of range (ms since the epoch)";
      }
      (key == "ts" ? e.ts : e.recv_ts) = v.get<int64_t>();
    } else if (key == "priority") {
      if (!v.is_string()) return WrongType(key, "a string", v);
      const auto& p = v.get_ref<const std::string&>();
      if (p == "high") {
        e.priority = Priority::kHigh;
      } else if (p == "normal") {
        e.priority = Priority::kNormal;
      } else {
        return "field 'priority' must be \"high\" or \"normal\", got \"" + p.substr(0, 40) +
               "\"";
      }
    } else if (stored && key == "addr") {
      if (!v.is_string()) return WrongType(key, "a string", v);
      e.addr = v.get<std::string>();
    } else if (key == "recv_ts" || key == "addr") {
      return "field '" + key + "' is set by the proxy and must not be sent";
    } else {
      return "unknown field '" + key.substr(0, 64) +
             "' (allowed: type, content, host, ts, id, priority)";
    }
  }
  if (!has_type) return "missing required field 'type'";
  if (!has_content) return "missing required field 'content' (an object)";
  *out = std::move(e);
  return {};
}

}  // namespace

std::string_view PriorityName(Priority p) {
  return p == Priority::kHigh ? "high" : "normal";
}

bool IsValidType(std::string_view type) {
  if (type.empty() || type.size() > 64) return false;
  for (size_t i = 0; i < type.size(); ++i) {
    if (!IsTypeChar(type[i], i == 0)) return false;
  }
  return true;
}

std::string DecodeEvent(const json& j, const Limits& limits, Event* out) {
  size_t depth = Depth(j);
  if (depth > limits.max_depth) {
    return "event nesting depth " + std::to_string(depth) + " exceeds the limit of " +
           std::to_string(limits.max_depth);
  }
  size_t bytes = j.dump().size();
  if (bytes > limits.max_event_bytes) {
    return "event is " + std::to_string(bytes) + " bytes; the limit is " +
           std::to_string(limits.max_event_bytes);
  }
  return DecodeFields(j, limits, /*stored=*/false, out);
}

BatchResult DecodeBatch(std::string_view body, const Limits& limits) {
  BatchResult r;
  auto fail = [&r](int status, std::string msg) {
    r.status = status;
    r.error = std::move(msg);
    return std::move(r);
  };
  if (body.size() > limits.max_batch_bytes) {
    return fail(413, "request body is " + std::to_string(body.size()) +
                         " bytes; the limit is " + std::to_string(limits.max_batch_bytes));
  }
  // The envelope adds two levels (object, array). Twice the per-event limit is the
  // hard stop for the whole body; an event between the two limits is refused alone.
  const size_t hard_depth = 2 * limits.max_depth + 2;
  if (JsonDepth(body, hard_depth) > hard_depth) {
    return fail(400, "JSON nesting is deeper than " + std::to_string(hard_depth) +
                         " levels; an event may nest at most " +
                         std::to_string(limits.max_depth));
  }
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    // Parse again with exceptions for the position of the error; bodies are bounded.
    try {
      json again = json::parse(body);
      (void)again;
    } catch (const json::parse_error& e) {
      return fail(400, "malformed JSON at byte " + std::to_string(e.byte) +
                           ": the body must be {\"events\":[...]}");
    }
    return fail(400, "malformed JSON: the body must be {\"events\":[...]}");
  }
  if (!doc.is_object()) {
    return fail(400, "the body must be a JSON object {\"events\":[...]}, not " + TypeName(doc));
  }
  auto it = doc.find("events");
  if (it == doc.end()) return fail(400, "missing field 'events' (an array of events)");
  for (const auto& [key, v] : doc.items()) {
    if (key != "events") return fail(400, "unknown field '" + key.substr(0, 64) + "' in the body; only 'events' is allowed");
  }
  if (!it->is_array()) return fail(400, WrongType("events", "an array", *it));
  if (it->size() > limits.max_batch_events) {
    return fail(413, "batch has " + std::to_string(it->size()) + " events; the limit is " +
                         std::to_string(limits.max_batch_events));
  }
  r.events.reserve(it->size());
  for (size_t i = 0; i < it->size(); ++i) {
    Event e;
    std::string err = DecodeEvent((*it)[i], limits, &e);
    if (err.empty()) {
      r.events.push_back(std::move(e));
      r.event_index.push_back(i);
    } else {
      r.rejected.push_back({i, std::move(err)});
    }
  }
  return r;
}

json ToJson(const Event& e) {
  json j = json::object();
  j["id"] = e.id;
  j["type"] = e.type;
  if (!e.host.empty()) j["host"] = e.host;
  if (e.ts) j["ts"] = *e.ts;
  j["priority"] = PriorityName(e.priority);
  j["content"] = e.content;
  if (e.recv_ts) j["recv_ts"] = *e.recv_ts;
  if (!e.addr.empty()) j["addr"] = e.addr;
  if (e.id.empty()) j.erase("id");
  return j;
}

std::string Serialize(const Event& e) {
  // Invalid UTF-8 in content cannot come from a parsed body, but agents build events
  // from raw log bytes: replace rather than throw.
  return ToJson(e).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string Deserialize(std::string_view text, Event* out) {
  Limits lenient;
  lenient.max_event_bytes = SIZE_MAX;
  if (JsonDepth(text, 2 * lenient.max_depth + 2) > 2 * lenient.max_depth + 2) {
    return "stored event nests too deeply";
  }
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return "stored event is not valid JSON";
  return DecodeFields(j, lenient, /*stored=*/true, out);
}

}  // namespace argus::proto
