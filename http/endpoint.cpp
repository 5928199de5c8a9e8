#include "http/endpoint.h"

#include <boost/url/parse.hpp>

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

base::Status ParseUrl(std::string_view url, Endpoint* out, std::string* target) {
  auto parsed = boost::urls::parse_uri(url);
  const std::string quoted = "'" + std::string(url.substr(0, 256)) + "'";
  if (!parsed) return base::Status::Invalid(quoted + " is not a URL");
  const auto& u = *parsed;
  if (u.scheme() != "http" && u.scheme() != "https") return base::Status::Invalid(quoted + " is not http:// or https://");
  if (!u.has_port() || u.host().empty()) return base::Status::Invalid(quoted + " needs a host and a port (http://HOST:PORT/path)");
  if (u.has_userinfo()) return base::Status::Invalid(quoted + " carries a user and password; put a secret in the receiver instead");
  Endpoint ep;
  std::string hostport = (u.host_type() == boost::urls::host_type::ipv6 ? "[" + std::string(u.host_address()) + "]"
                                                                         : std::string(u.host_address())) +
                         ":" + std::string(u.port());
  if (base::Status s = ParseEndpoint(hostport, &ep); !s.ok()) return s;
  ep.tls = u.scheme() == "https";
  *out = ep;
  *target = u.encoded_path().empty() ? "/" : std::string(u.encoded_path());
  if (u.has_query()) *target += "?" + std::string(u.encoded_query());
  return {};
}

}  // namespace argus::http
