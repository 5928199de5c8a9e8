// Routes requests to handlers by method and path, and maps every failure to one JSON
// error shape, {"error":"..."}, so no handler formats errors of its own.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "base/status.h"
#include "http/metrics.h"

namespace argus::http {

namespace bhttp = boost::beast::http;
using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;

// A long answer sent in pieces after its head: Server-Sent Events. The server calls
// Poll on a handler thread every poll interval and writes what it appended, and sends
// a keep-alive comment when nothing was written for a while. The stream is destroyed
// when the client goes, the server shuts down, or Poll returns false.
class EventStream {
 public:
  virtual ~EventStream() = default;
  // Appends what is new to *out (possibly nothing); false ends the stream after it.
  virtual bool Poll(std::string* out) = 0;
};

// What the server knows about the caller beyond the request itself.
struct Peer {
  std::string addr;  // remote IP address, without port
  // Set by a server that can stream: a handler that stores an EventStream here and
  // answers 200 has that answer's head sent, then the stream's pieces (chunked).
  std::shared_ptr<EventStream>* stream = nullptr;
};

using Handler = std::function<Response(const Request&, const Peer&)>;

Response Json(bhttp::status status, const nlohmann::json& body);
Response JsonError(bhttp::status status, std::string_view message);
// 503 with Retry-After: the caller should come back, nothing was done.
Response Unavailable(std::string_view message, int retry_after_s = 1);

// Path without the query string, and the decoded query parameters (Boost.URL; `+` is a
// space). A parameter given twice keeps the last value. Invalid for a malformed target
// (a bad percent-escape, say).
std::string_view TargetPath(std::string_view target);
base::Status QueryParams(std::string_view target, std::map<std::string, std::string>* out);
// The percent-decoded rest of the path after `prefix`: the {host} of /api/v1/hosts/{host}.
base::Status PathRest(std::string_view target, std::string_view prefix, std::string* out);

// Constant-time comparison for secrets: runtime does not depend on where they differ.
bool SecretEquals(std::string_view a, std::string_view b);

// The bearer token of an `Authorization: Bearer T` header, or empty.
std::string_view BearerToken(const Request& req);

// A /metrics answer in the Prometheus text format.
Response MetricsResponse(Metrics& metrics);

// A handler that calls `self->fn(request, peer)`: how a service routes to its members.
template <class T>
Handler Member(T* self, Response (T::*fn)(const Request&, const Peer&)) {
  return [self, fn](const Request& r, const Peer& p) { return (self->*fn)(r, p); };
}

class Router {
 public:
  // `path` is exact, or ends in "/*" to take every longer path below it (the handler
  // reads the rest from the target); the exact path wins, then the longest prefix.
  void Add(bhttp::verb method, std::string path, Handler handler);
  // Counts every dispatched request in `metric` by route (the path, or "other" for
  // unknown paths, so clients cannot create series) and status. `metrics` must
  // outlive the router.
  void CountRequests(Metrics* metrics, std::string metric);
  // Logs every request (peer, method, path without query, status) at info instead of
  // debug. Headers and bodies, where tokens live, are never logged.
  void set_access_log(bool on) { access_log_ = on; }
  // 404 for an unknown path, 405 (with Allow) for a known path and another method.
  // A handler that throws yields 500 with the exception's text logged, not sent.
  Response Dispatch(const Request& req, const Peer& peer) const;

 private:
  struct Route {
    bhttp::verb method;
    Handler handler;
  };
  using Routes = std::map<std::string, std::vector<Route>, std::less<>>;
  // The route serving `path`, or routes_.end().
  Routes::const_iterator Match(std::string_view path) const;
  Response Answer(const Request& req, const Peer& peer, std::string_view path) const;

  Routes routes_;
  Metrics* metrics_ = nullptr;
  std::string metric_;
  bool access_log_ = false;
};

}  // namespace argus::http
