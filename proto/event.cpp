#include "proto/event.h"

#include <algorithm>

#include <nlohmann/json.hpp>
#include <simdjson.h>

#include "proto/json_scan.h"

namespace argus::proto {
namespace {

namespace dom = simdjson::dom;

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

// Depth of a value (a scalar is 0); bounded by the parser's depth limit.
size_t Depth(dom::element e) {
  size_t inner = 0;
  if (e.is_object()) {
    for (auto field : dom::object(e)) inner = std::max(inner, Depth(field.value));
    return inner + 1;
  }
  if (e.is_array()) {
    for (auto v : dom::array(e)) inner = std::max(inner, Depth(v));
    return inner + 1;
  }
  return 0;
}

std::string TypeName(dom::element e) {
  switch (e.type()) {
    case dom::element_type::NULL_VALUE: return "null";
    case dom::element_type::BOOL: return "a boolean";
    case dom::element_type::DOUBLE: return "a fractional number";
    case dom::element_type::INT64:
    case dom::element_type::UINT64: return "an integer";
    case dom::element_type::STRING: return "a string";
    case dom::element_type::ARRAY: return "an array";
    case dom::element_type::OBJECT: return "an object";
  }
  return "an unsupported value";
}

std::string WrongType(std::string_view field, std::string_view want, dom::element got) {
  return "field '" + std::string(field) + "' must be " + std::string(want) + ", not " + TypeName(got);
}

// A host or an id: a non-empty string of at most `max` characters, no control characters
// (they end up in logs, keys and URLs).
std::string Name(std::string_view field, dom::element v, size_t max, std::string* out) {
  if (!v.is_string()) return WrongType(field, "a string", v);
  *out = std::string(std::string_view(v));
  std::string f(field);
  if (out->empty()) return "field '" + f + "' must not be empty";
  if (out->size() > max) return "field '" + f + "' is longer than " + std::to_string(max) + " characters";
  if (HasControlChar(*out)) return "field '" + f + "' contains control characters";
  return {};
}

// Shared by client decoding and stream decoding; `stored` allows the proxy's fields.
std::string DecodeFields(dom::element j, const Limits& limits, bool stored, Event* out) {
  if (!j.is_object()) return "an event must be a JSON object, not " + TypeName(j);
  if (!stored) {
    size_t depth = Depth(j);
    if (depth > limits.max_depth) {
      return "event nesting depth " + std::to_string(depth) + " exceeds the limit of " +
             std::to_string(limits.max_depth);
    }
  }
  Event e;
  bool has_type = false;
  bool has_content = false;
  for (auto [key, v] : dom::object(j)) {
    if (key == "type") {
      if (!v.is_string()) return WrongType(key, "a string", v);
      e.type = std::string(std::string_view(v));
      if (!IsValidType(e.type)) {
        return "field 'type' must match [a-z0-9][a-z0-9_.-]{0,63}, got " + JsonString(e.type.substr(0, 80));
      }
      has_type = true;
    } else if (key == "content") {
      if (!v.is_object()) return WrongType(key, "an object", v);
      e.content = simdjson::minify(v);
      has_content = true;
    } else if (key == "host" || key == "id") {
      size_t max = key == "host" ? limits.max_host_chars : limits.max_id_chars;
      if (auto err = Name(key, v, max, key == "host" ? &e.host : &e.id); !err.empty()) return err;
    } else if (key == "ts" || (stored && key == "recv_ts")) {
      const bool in_range = (v.is_int64() && int64_t(v) >= 0) ||
                            (v.is_uint64() && uint64_t(v) <= (uint64_t{1} << 53));
      if (!v.is_int64() && !v.is_uint64()) return WrongType(key, "an integer (ms since the epoch)", v);
      if (!in_range) return "field '" + std::string(key) + "' is out of range (ms since the epoch)";
      (key == "ts" ? e.ts : e.recv_ts) = v.is_int64() ? int64_t(v) : static_cast<int64_t>(uint64_t(v));
    } else if (key == "priority") {
      if (!v.is_string()) return WrongType(key, "a string", v);
      std::string_view p(v);
      if (p == "high") {
        e.priority = Priority::kHigh;
      } else if (p == "normal") {
        e.priority = Priority::kNormal;
      } else {
        return "field 'priority' must be \"high\" or \"normal\", got " + JsonString(p.substr(0, 40));
      }
    } else if (stored && key == "addr") {
      if (!v.is_string()) return WrongType(key, "a string", v);
      e.addr = std::string(std::string_view(v));
    } else if (key == "recv_ts" || key == "addr") {
      return "field '" + std::string(key) + "' is set by the proxy and must not be sent";
    } else {
      return "unknown field '" + std::string(key.substr(0, 64)) +
             "' (allowed: type, content, host, ts, id, priority)";
    }
  }
  if (!has_type) return "missing required field 'type'";
  if (!has_content) return "missing required field 'content' (an object)";
  if (!stored) {
    // The event as compact JSON: content, the other values, and their keys and quotes.
    size_t bytes = e.content.size() + e.type.size() + e.host.size() + e.id.size() + 80;
    if (bytes > limits.max_event_bytes) {
      return "event is about " + std::to_string(bytes) + " bytes as JSON; the limit is " +
             std::to_string(limits.max_event_bytes);
    }
  }
  *out = std::move(e);
  return {};
}

// Gives a thread's parser buffers back once they grew past what ordinary batches need:
// simdjson sizes them by the document (about 30 bytes a byte at worst), and keeping
// them for every thread after one 4 MiB body would hold a lot for nothing.
class ShrinkAfter {
 public:
  explicit ShrinkAfter(dom::parser& p) : parser_(p) {}
  ~ShrinkAfter() {
    constexpr size_t kKeep = 256 * 1024;
    // On failure the parser is left empty and grows again on its next use.
    if (parser_.capacity() > kKeep && parser_.allocate(kKeep, parser_.max_depth()) != simdjson::SUCCESS) return;
  }

 private:
  dom::parser& parser_;
};

// One parser per thread: it keeps its buffers between requests.
dom::parser& ThreadParser(size_t max_depth) {
  thread_local dom::parser parser;
  if (parser.max_depth() != max_depth) {
    if (parser.allocate(std::max<size_t>(parser.capacity(), 4096), max_depth) != simdjson::SUCCESS) {
      throw std::bad_alloc();
    }
  }
  return parser;
}

// Why a body is not JSON, with a byte position where one can be had.
std::string MalformedMessage(std::string_view body, simdjson::error_code code) {
  if (code == simdjson::UTF8_ERROR) return "the body is not valid UTF-8";
  if (code == simdjson::EMPTY) return "the body is empty: it must be {\"events\":[...]}";
  // Where it went wrong, from a second pass that builds nothing: building a tree here
  // made 4 M nested arrays of 4 KB of gzip.
  if (auto at = JsonSyntaxErrorAt(body)) {
    return "malformed JSON at byte " + std::to_string(*at) + ": the body must be {\"events\":[...]}";
  }
  return std::string("malformed JSON (") + simdjson::error_message(code) +
         "): the body must be {\"events\":[...]}";
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

BatchResult DecodeBatch(std::string_view body, const Limits& limits) {
  BatchResult r;
  auto fail = [&r](int status, std::string msg) {
    r.status = status;
    r.error = std::move(msg);
    return std::move(r);
  };
  if (body.size() > limits.max_batch_bytes) {
    return fail(413, "request body is " + std::to_string(body.size()) + " bytes; the limit is " +
                         std::to_string(limits.max_batch_bytes));
  }
  // The envelope adds two levels (object, array). Twice the per-event limit is the
  // hard stop for the whole body; an event between the two limits is refused alone.
  const size_t hard_depth = 2 * limits.max_depth + 2;
  dom::parser& parser = ThreadParser(hard_depth);
  ShrinkAfter shrink(parser);  // declared after `r`: runs once the result is built
  dom::element doc;
  auto code = parser.parse(body.data(), body.size(), /*realloc_if_needed=*/true).get(doc);
  if (code == simdjson::DEPTH_ERROR) {
    return fail(400, "JSON nesting is deeper than " + std::to_string(hard_depth) +
                         " levels; an event may nest at most " + std::to_string(limits.max_depth));
  }
  if (code) return fail(400, MalformedMessage(body, code));
  if (!doc.is_object()) {
    return fail(400, "the body must be a JSON object {\"events\":[...]}, not " + TypeName(doc));
  }
  dom::element events;
  bool found = false;
  for (auto [key, v] : dom::object(doc)) {
    if (key != "events") {
      return fail(400, "unknown field '" + std::string(key.substr(0, 64)) +
                           "' in the body; only 'events' is allowed");
    }
    events = v;
    found = true;
  }
  if (!found) return fail(400, "missing field 'events' (an array of events)");
  if (!events.is_array()) return fail(400, WrongType("events", "an array", events));
  dom::array list(events);
  size_t n = list.size();
  if (n > limits.max_batch_events) {
    return fail(413, "batch has " + std::to_string(n) + " events; the limit is " +
                         std::to_string(limits.max_batch_events));
  }
  r.events.reserve(n);
  size_t i = 0;
  for (dom::element item : list) {
    Event e;
    std::string err = DecodeFields(item, limits, /*stored=*/false, &e);
    if (err.empty()) {
      r.events.push_back(std::move(e));
      r.event_index.push_back(i);
    } else {
      r.rejected.push_back({i, std::move(err)});
    }
    ++i;
  }
  return r;
}

namespace {

void WalkNumbers(dom::object obj, const std::string& prefix, size_t max_fields, size_t* seen,
                 const std::function<void(const std::string&, double)>& fn) {
  for (auto [key, v] : obj) {
    if (*seen >= max_fields) return;
    std::string path = prefix.empty() ? std::string(key) : prefix + "." + std::string(key);
    switch (v.type()) {
      case dom::element_type::INT64: ++*seen; fn(path, static_cast<double>(int64_t(v))); break;
      case dom::element_type::UINT64: ++*seen; fn(path, static_cast<double>(uint64_t(v))); break;
      case dom::element_type::DOUBLE: ++*seen; fn(path, double(v)); break;
      case dom::element_type::OBJECT: WalkNumbers(dom::object(v), path, max_fields, seen, fn); break;
      default: break;
    }
  }
}

}  // namespace

bool ForEachNumber(std::string_view content, size_t max_fields,
                   const std::function<void(const std::string& path, double value)>& fn) {
  dom::parser& parser = ThreadParser(2 * Limits{}.max_depth + 2);
  dom::element doc;
  if (parser.parse(content.data(), content.size(), true).get(doc) || !doc.is_object()) return false;
  size_t seen = 0;
  WalkNumbers(dom::object(doc), "", max_fields, &seen, fn);
  return true;
}

std::string JsonString(std::string_view s) {
  if (!simdjson::validate_utf8(s.data(), s.size())) {
    return nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(ch);
    } else if (c < 0x20) {
      out += "\\u00";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    } else {
      out.push_back(ch);
    }
  }
  out.push_back('"');
  return out;
}

std::string Serialize(const Event& e) {
  std::string out;
  out.reserve(e.content.size() + e.type.size() + e.host.size() + e.id.size() + e.addr.size() + 120);
  out += '{';
  if (!e.id.empty()) out += "\"id\":" + JsonString(e.id) + ',';
  out += "\"type\":" + JsonString(e.type);
  if (!e.host.empty()) out += ",\"host\":" + JsonString(e.host);
  if (e.ts) out += ",\"ts\":" + std::to_string(*e.ts);
  out += ",\"priority\":\"";
  out += PriorityName(e.priority);
  out += "\",\"content\":";
  out += e.content.empty() ? std::string("{}") : e.content;
  if (e.recv_ts) out += ",\"recv_ts\":" + std::to_string(*e.recv_ts);
  if (!e.addr.empty()) out += ",\"addr\":" + JsonString(e.addr);
  out += '}';
  return out;
}

base::Status Deserialize(std::string_view text, Event* out) {
  Limits lenient;
  lenient.max_event_bytes = SIZE_MAX;
  dom::parser& parser = ThreadParser(2 * lenient.max_depth + 2);
  dom::element doc;
  if (auto code = parser.parse(text.data(), text.size(), true).get(doc); code) {
    return base::Status::Invalid(std::string("stored event is not valid JSON (") + simdjson::error_message(code) + ")");
  }
  if (std::string err = DecodeFields(doc, lenient, /*stored=*/true, out); !err.empty()) return base::Status::Invalid(err);
  return {};
}

bool IsJsonObject(std::string_view text, size_t max_depth) {
  dom::parser& parser = ThreadParser(max_depth);
  dom::element doc;
  return !parser.parse(text.data(), text.size(), /*realloc_if_needed=*/true).get(doc) && doc.is_object();
}

}  // namespace argus::proto
