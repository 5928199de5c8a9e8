// HOST:PORT as written on command lines (`--listen 127.0.0.1:9090`, `--redis ...`).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace argus::http {

struct Endpoint {
  std::string host;
  uint16_t port = 0;
  bool tls = false;  // written https://HOST:PORT
  std::string ToString() const { return (tls ? "https://" : "") + host + ":" + std::to_string(port); }
};

// Accepts "host:port", "[v6]:port" and ":port" (host 127.0.0.1), optionally after
// "http://" or "https://" (then tls is set). On failure returns nullopt and puts the
// reason in *error.
std::optional<Endpoint> ParseEndpoint(std::string_view text, std::string* error);

}  // namespace argus::http
