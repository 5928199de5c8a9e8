#include "queue/redis_address.h"

#include <sys/stat.h>


#include <boost/url/parse.hpp>
#include <spdlog/spdlog.h>

#include "base/file.h"
#include "http/endpoint.h"

namespace argus::queue {

base::Status ParseRedisAddress(std::string_view text, RedisOptions* out) {
  if (text.starts_with("rediss://")) {
    return base::Status::Invalid(
        "rediss:// (Redis over TLS) is not supported: Debian's hiredis 0.14 has no TLS. Keep Redis on loopback "
        "or a private network and write redis://HOST:PORT");
  }
  std::string user, password;
  std::string hostport(text);
  if (text.starts_with("redis://")) {
    auto url = boost::urls::parse_uri(text);
    if (!url) return base::Status::Invalid("not a redis:// URL: " + url.error().message());
    if (url->has_userinfo()) {
      user = url->user();
      password = url->password();
      // redis://:PASSWORD@… is the default user's password, as redis-cli reads it.
    }
    if (!url->encoded_path().empty() && url->encoded_path() != "/") {
      return base::Status::Invalid("a redis:// URL names no database (Argus uses database 0): drop '" +
                                   std::string(url->encoded_path()) + "'");
    }
    hostport = std::string(url->encoded_host_and_port());
    if (url->port().empty()) hostport += ":6379";
  }
  http::Endpoint ep;
  if (base::Status s = http::ParseEndpoint(hostport, &ep); !s.ok()) return s;
  if (ep.tls) return base::Status::Invalid("'" + hostport + "' is not HOST:PORT");
  out->host = ep.host;
  out->port = ep.port;
  out->user = user;
  if (!password.empty()) out->password = password;
  return {};
}

base::Status ReadRedisPasswordFile(const std::string& path, RedisOptions* out) {
  std::string text;
  if (base::Status s = base::ReadFile(path, &text); !s.ok()) return s.Prefixed("the Redis password file: ");
  std::string line = text.substr(0, text.find('\n'));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) return base::Status::Invalid("the Redis password file " + path + " is empty");
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & S_IROTH)) {
    spdlog::warn("the Redis password file {} is readable by everyone (chmod o-r)", path);
  }
  out->password = std::move(line);
  return {};
}

void RedisFlags::Add(CLI::App& app, const std::string& what) {
  app.add_option("--redis", address,
                 "Redis " + what + ": HOST:PORT or redis://[USER@]HOST:PORT (a password in the URL shows in `ps`: "
                 "prefer --redis-password-file). No TLS: keep Redis on loopback or a private network")
      ->capture_default_str();
  app.add_option("--redis-password-file", password_file,
                 "file whose first line is the Redis password (requirepass, or the ACL user's from --redis)")
      ->check(CLI::ExistingFile);
}

base::Status RedisFlags::Apply(RedisOptions* out, bool address_too) const {
  if (address_too) {
    if (base::Status s = ParseRedisAddress(address, out); !s.ok()) return s.Prefixed("--redis: ");
  }
  if (!password_file.empty()) {
    if (base::Status s = ReadRedisPasswordFile(password_file, out); !s.ok()) return s.Prefixed("--redis-password-file: ");
  }
  return {};
}

}  // namespace argus::queue
