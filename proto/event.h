// The event contract of docs/design.md: what an agent sends, what the proxy validates and
// stamps, and what travels through Redis to the consumers. Parsing never throws; every
// refusal carries a message a user can act on.
//
// Decoding uses simdjson (measured: the proxy spent most of its CPU building and
// printing nlohmann trees). Content stays JSON text end to end: the proxy, the stream
// and the store only carry it; whoever needs its values parses it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace argus::proto {

enum class Priority { kNormal, kHigh };

std::string_view PriorityName(Priority p);

// Limits on what a client sends. The sizes of a body and an event are set in the
// proxy's config (`limits`); the lengths of an id and a host are fixed by the contract.
struct Limits {
  size_t max_event_bytes = 64 * 1024;       // one event, as serialized JSON
  size_t max_depth = 32;                    // nesting of one event (the event object is 1)
  size_t max_batch_bytes = 4 * 1024 * 1024; // whole request body
  size_t max_batch_events = 10000;
  size_t max_id_chars = 128;
  size_t max_host_chars = 255;
};

struct Event {
  std::string type;
  std::string content = "{}";   // the content object, as compact JSON text
  std::string host;             // empty: not sent
  std::optional<int64_t> ts;    // ms since the epoch, agent clock
  std::string id;               // empty: not sent
  Priority priority = Priority::kNormal;
  // Stamped by the proxy; present on events read back from a stream.
  std::optional<int64_t> recv_ts;
  std::string addr;
};

// One refused event of a batch, by its position in the request.
struct Rejection {
  size_t index = 0;
  std::string error;
};

// Outcome of decoding a request body. When `error` is set the whole body is refused
// (status says 400 or 413) and `events` is empty; otherwise each element of the
// batch is either in `events` or in `rejected`.
struct BatchResult {
  std::string error;
  int status = 200;
  std::vector<Event> events;
  std::vector<size_t> event_index;  // position in the request of each accepted event
  std::vector<Rejection> rejected;
};

// True when `type` matches [a-z0-9][a-z0-9_.-]{0,63}.
bool IsValidType(std::string_view type);

// Decodes `{"events":[...]}` as a client sends it. Fields set only by the proxy
// (recv_ts, addr) are refused. Thread-safe (one parser per thread).
BatchResult DecodeBatch(std::string_view body, const Limits& limits);

// The form stored in a stream entry and sent by agents: every set field, recv_ts and
// addr included. `e.content` must be a JSON object's text.
std::string Serialize(const Event& e);

// Numbers per event content that get a rollup (the generic aggregator) or count in a
// series from raw events; content beyond that is still stored raw.
inline constexpr size_t kMaxNumberFields = 256;

// Calls `fn(path, value)` for every number in a content object, nested objects giving
// dotted paths ("upstream.db_ms"); arrays, strings and booleans are skipped. Stops
// after `max_fields`. Returns false when `content` is not a JSON object.
bool ForEachNumber(std::string_view content, size_t max_fields,
                   const std::function<void(const std::string& path, double value)>& fn);

// `s` as a JSON string literal, quotes included; invalid UTF-8 becomes U+FFFD.
std::string JsonString(std::string_view s);

// Reads an event back from a stream entry (the proxy's output, so recv_ts and addr
// are allowed). Invalid when it is not an event, with the reason.
base::Status Deserialize(std::string_view text, Event* out);

// Whether `text` is one JSON object (whitespace around it allowed) nested at most
// `max_depth` deep, in valid UTF-8. The agent's extraction of JSON from log lines:
// validation without building a tree, so the text itself can be the content.
bool IsJsonObject(std::string_view text, size_t max_depth);

}  // namespace argus::proto
