#include "http/endpoint.h"

#include <charconv>

namespace argus::http {

std::optional<Endpoint> ParseEndpoint(std::string_view text, std::string* error) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    *error = "'" + std::string(text) + "' is not HOST:PORT";
    return std::nullopt;
  }
  std::string_view host = text.substr(0, colon);
  std::string_view port = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || ptr != port.data() + port.size() || value > 65535 || port.empty()) {
    *error = "'" + std::string(text) + "' has no valid port (0-65535)";
    return std::nullopt;
  }
  Endpoint ep;
  ep.host = host.empty() ? "127.0.0.1" : std::string(host);
  ep.port = static_cast<uint16_t>(value);
  return ep;
}

}  // namespace argus::http
