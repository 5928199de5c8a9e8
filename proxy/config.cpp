#include "proxy/config.h"

#include <stdexcept>

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "queue/redis_address.h"

namespace argus::proxy {
namespace {

using nlohmann::json;

http::Endpoint EndpointField(const json& v, const std::string& key) {
  if (!v.is_string()) throw std::runtime_error("'" + key + "' must be a string HOST:PORT");
  http::Endpoint ep;
  if (base::Status s = http::ParseEndpoint(v.get<std::string>(), &ep); !s.ok()) {
    throw std::runtime_error("'" + key + "': " + s.message());
  }
  return ep;
}

size_t SizeField(const json& v, const std::string& key) {
  if (!v.is_number_unsigned() || v.get<uint64_t>() == 0) {
    throw std::runtime_error("'" + key + "' must be a positive integer");
  }
  return v.get<size_t>();
}

double RateField(const json& v, const std::string& key) {
  if (!v.is_number() || v.get<double>() < 0) throw std::runtime_error("'" + key + "' must be a number >= 0");
  return v.get<double>();
}

// {"events_per_s": N, "burst": M}
RateLimit RateObject(const json& v, const std::string& key) {
  if (!v.is_object()) throw std::runtime_error("'" + key + "' must be an object {\"events_per_s\":…, \"burst\":…}");
  RateLimit r;
  for (const auto& [k, x] : v.items()) {
    if (k == "events_per_s") r.events_per_s = RateField(x, key + "." + k);
    else if (k == "burst") r.burst = RateField(x, key + "." + k);
    else throw std::runtime_error("unknown key '" + key + "." + k + "' (allowed: events_per_s, burst)");
  }
  return r;
}

}  // namespace

bool MaySend(std::string_view type, bool agent_path, const Token& token) {
  if (!type.starts_with("argus.") || token.admin) return true;
  return agent_path && (type == "argus.agent" || type == "argus.cron_error");
}

base::Status LoadConfigFile(const std::string& path, ProxyOptions* opts) {
  json j;
  if (base::Status s = base::ReadJsonFile(path, &j); !s.ok()) return s.Prefixed("config file: ");
  if (!j.is_object()) return base::Status::Invalid("config file " + path + " is not a JSON object");
  // The field readers throw, so that each says its key once; the error stops here.
  try {
    for (const auto& [key, v] : j.items()) {
      if (key == "listen") {
        opts->listen = EndpointField(v, key);
      } else if (key == "redis") {
        if (!v.is_string()) throw std::runtime_error("'redis' must be a string HOST:PORT or redis://[USER@]HOST:PORT");
        if (base::Status s = queue::ParseRedisAddress(v.get<std::string>(), &opts->redis); !s.ok()) {
          throw std::runtime_error("'redis': " + s.message());
        }
      } else if (key == "redis_password_file") {
        if (!v.is_string()) throw std::runtime_error("'redis_password_file' must be a string (a file's path)");
        if (base::Status s = queue::ReadRedisPasswordFile(v.get<std::string>(), &opts->redis); !s.ok()) {
          throw std::runtime_error("'redis_password_file': " + s.message());
        }
      } else if (key == "threads") {
        opts->threads = static_cast<int>(SizeField(v, key));
      } else if (key == "shards") {
        opts->shards = static_cast<int>(SizeField(v, key));
      } else if (key == "admin_token") {
        if (!v.is_string()) throw std::runtime_error("'admin_token' must be a string");
        opts->admin_token = v.get<std::string>();
      } else if (key == "tokens") {
        if (!v.is_array()) throw std::runtime_error("'tokens' must be an array");
        for (const auto& t : v) {
          if (t.is_string()) {
            opts->tokens.push_back({t.get<std::string>(), ""});
          } else if (t.is_object() && t.contains("token") && t["token"].is_string()) {
            Token tok{t["token"].get<std::string>(), ""};
            for (const auto& [tk, tv] : t.items()) {
              if (tk == "host") {
                if (!tv.is_string()) throw std::runtime_error("'tokens[].host' must be a string");
                tok.host = tv.get<std::string>();
              } else if (tk == "rate_limit") {
                tok.rate = RateObject(tv, "tokens[].rate_limit");
              } else if (tk != "token") {
                throw std::runtime_error("unknown key 'tokens[]." + tk + "' (allowed: token, host, rate_limit)");
              }
            }
            opts->tokens.push_back(std::move(tok));
          } else {
            throw std::runtime_error("'tokens' entries must be strings or {\"token\":…,\"host\":…}");
          }
        }
      } else if (key == "rate_limit") {
        opts->rate = RateObject(v, key);
      } else if (key == "backlog_limit") {
        if (!v.is_number_unsigned()) throw std::runtime_error("'backlog_limit' must be an integer >= 0");
        opts->backlog_limit = v.get<int64_t>();
      } else if (key == "allow_remote_files") {
        // The globs a remote config's `files` may name (agents check their own list too).
        if (!v.is_array()) throw std::runtime_error("'allow_remote_files' must be an array of absolute paths or globs");
        for (const auto& g : v) {
          if (!g.is_string() || g.get_ref<const std::string&>().empty() || g.get_ref<const std::string&>()[0] != '/') {
            throw std::runtime_error("'allow_remote_files' entries must be absolute paths or globs");
          }
          opts->remote_policy.allow_files.push_back(g.get<std::string>());
        }
      } else if (key == "limits") {
        if (!v.is_object()) throw std::runtime_error("'limits' must be an object");
        for (const auto& [lk, lv] : v.items()) {
          std::string name = "limits." + lk;
          if (lk == "max_event_bytes") opts->limits.max_event_bytes = SizeField(lv, name);
          else if (lk == "max_depth") opts->limits.max_depth = SizeField(lv, name);
          else if (lk == "max_batch_bytes") opts->limits.max_batch_bytes = SizeField(lv, name);
          else if (lk == "max_batch_events") opts->limits.max_batch_events = SizeField(lv, name);
          else if (lk == "max_types") opts->max_types = SizeField(lv, name);
          else if (lk == "max_future_skew_ms") opts->max_future_skew = std::chrono::milliseconds(SizeField(lv, name));
          else if (lk == "max_types_per_token") opts->max_types_per_token = SizeField(lv, name);
          else if (lk == "max_hosts_per_token") opts->max_hosts_per_token = SizeField(lv, name);
          else throw std::runtime_error("unknown key '" + name + "'");
        }
      } else {
        throw std::runtime_error("unknown key '" + key + "'");
      }
    }
  } catch (const std::runtime_error& e) {
    return base::Status::Invalid("config file " + path + ": " + e.what());
  }
  return {};
}

}  // namespace argus::proxy
