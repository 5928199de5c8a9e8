// HOST:PORT as written on command lines (`--listen 127.0.0.1:9090`, `--redis ...`).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace argus::http {

struct Endpoint {
  std::string host;
  uint16_t port = 0;
  bool tls = false;  // written https://HOST:PORT
  std::string ToString() const { return (tls ? "https://" : "") + host + ":" + std::to_string(port); }
};

// Accepts "host:port", "[v6]:port" and ":port" (host 127.0.0.1), optionally after
// "http://" or "https://" (then tls is set).
base::Status ParseEndpoint(std::string_view text, Endpoint* out);

// An http:// or https:// URL with an explicit port, as receivers are configured
// ("http://127.0.0.1:5001/hook"): the endpoint and the request target ("/hook", with
// its query; "/" when the URL has no path).
base::Status ParseUrl(std::string_view url, Endpoint* out, std::string* target);

}  // namespace argus::http
