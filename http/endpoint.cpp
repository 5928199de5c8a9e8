#include "http/endpoint.h"

#include <charconv>

namespace argus::http {

base::Status ParseEndpoint(std::string_view text, Endpoint* out) {
  const std::string_view original = text;
  bool tls = false;
  if (text.starts_with("https://")) {
    tls = true;
    text.remove_prefix(8);
  } else if (text.starts_with("http://")) {
    text.remove_prefix(7);
  }
  if (!text.empty() && text.back() == '/') text.remove_suffix(1);
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return base::Status::Invalid("'" + std::string(original) + "' is not HOST:PORT");
  }
  std::string_view host = text.substr(0, colon);
  std::string_view port = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || ptr != port.data() + port.size() || value > 65535 || port.empty()) {
    return base::Status::Invalid("'" + std::string(original) + "' has no valid port (0-65535)");
  }
  out->host = host.empty() ? "127.0.0.1" : std::string(host);
  out->port = static_cast<uint16_t>(value);
  out->tls = tls;
  return {};
}

}  // namespace argus::http
