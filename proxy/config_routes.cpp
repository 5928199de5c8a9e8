// The remote config routes: agents read it, an admin replaces it, TOP-Argus agents read
// their own section of it.
#include <spdlog/spdlog.h>

#include "http/encoding.h"
#include "proto/agent_config.h"
#include "proto/json_depth.h"
#include "proxy/service.h"
#include "queue/remote_config.h"

namespace argus::proxy {

namespace bhttp = boost::beast::http;
using http::Json;
using http::JsonError;
using nlohmann::json;

namespace {

// Changes from `before` to `after` as {"path","old","new"}; objects are compared key by
// key, anything else as a whole. A missing side is null.
void Diff(const json& before, const json& after, const std::string& path, json* out) {
  if (before.is_object() && after.is_object()) {
    for (const auto& [k, v] : before.items()) {
      std::string sub = path.empty() ? k : path + "." + k;
      Diff(v, after.contains(k) ? after[k] : json(), sub, out);
    }
    for (const auto& [k, v] : after.items()) {
      if (!before.contains(k)) out->push_back({{"path", path.empty() ? k : path + "." + k}, {"old", nullptr}, {"new", v}});
    }
    return;
  }
  if (before != after) out->push_back({{"path", path}, {"old", before}, {"new", after}});
}

std::string ETag(int64_t version) { return "\"" + std::to_string(version) + "\""; }

}  // namespace

http::Response ProxyService::GetConfig(const http::Request& req, const http::Peer&) {
  if (!Authenticate(http::BearerToken(req))) {
    return JsonError(bhttp::status::unauthorized, "an agent token is required ('Authorization: Bearer <token>')");
  }
  queue::RemoteConfig rc;
  {
    auto redis = pool_.Acquire();
    if (base::Status st = queue::LoadRemoteConfig(*redis, &rc); !st.ok()) {
      return http::Unavailable("the config store (redis) is unavailable: " + st.message());
    }
  }
  auto inm = req.find(bhttp::field::if_none_match);
  if (inm != req.end() && inm->value() == ETag(rc.version)) {
    http::Response res{bhttp::status::not_modified, 11};
    res.set(bhttp::field::etag, ETag(rc.version));
    return res;
  }
  http::Response res{bhttp::status::ok, 11};
  res.set(bhttp::field::content_type, "application/json");
  res.set(bhttp::field::etag, ETag(rc.version));
  // The stored text was validated JSON when it was put; no need to parse it again.
  res.body() = "{\"version\":" + std::to_string(rc.version) + ",\"config\":" + rc.json + "}";
  return res;
}

http::Response ProxyService::PutConfig(const http::Request& req, const http::Peer& peer) {
  if (options_.admin_token.empty()) {
    return JsonError(bhttp::status::forbidden,
                     "remote config changes are disabled: start the proxy with --admin-token");
  }
  if (!http::SecretEquals(http::BearerToken(req), options_.admin_token)) {
    return JsonError(bhttp::status::unauthorized, "the admin token is required ('Authorization: Bearer <token>')");
  }
  auto body = http::DecodeBody(req, options_.limits.max_batch_bytes);
  if (body.status != 200) return JsonError(static_cast<bhttp::status>(body.status), body.error);
  std::string_view text = body.View(req);
  if (proto::JsonDepth(text, 64) > 64) return JsonError(bhttp::status::bad_request, "the config nests deeper than 64 levels");
  json config = json::parse(text, nullptr, false);
  if (config.is_discarded()) return JsonError(bhttp::status::bad_request, "the body is not valid JSON");
  if (base::Status st = proto::ValidateAgentConfig(config, proto::ConfigScope::kRemote, options_.remote_policy);
      !st.ok()) {
    return JsonError(bhttp::status::bad_request, "invalid config: " + st.message());
  }
  std::map<std::string, std::string> query;
  if (base::Status s = http::QueryParams(std::string_view(req.target().data(), req.target().size()), &query); !s.ok()) {
    return JsonError(bhttp::status::bad_request, s.message());
  }
  const bool dry_run = query["dry_run"] == "1";

  auto redis = pool_.Acquire();
  queue::RemoteConfig current;
  if (base::Status st = queue::LoadRemoteConfig(*redis, &current); !st.ok()) {
    return http::Unavailable("the config store (redis) is unavailable: " + st.message());
  }
  json changes = json::array();
  Diff(json::parse(current.json, nullptr, false), config, "", &changes);
  if (dry_run) {
    return Json(bhttp::status::ok, {{"dry_run", true}, {"valid", true}, {"version", current.version}, {"changes", changes}});
  }
  int64_t version = 0;
  if (base::Status st = queue::StoreRemoteConfig(*redis, config.dump(), &version); !st.ok()) {
    return http::Unavailable("the config store (redis) is unavailable: " + st.message());
  }
  spdlog::info("remote config version {} stored by {} ({} changes)", version, peer.addr, changes.size());
  auto res = Json(bhttp::status::ok, {{"version", version}, {"changes", changes}});
  res.set(bhttp::field::etag, ETag(version));
  return res;
}

http::Response ProxyService::GetConfigCompat(const http::Request&, const http::Peer& peer) {
  queue::RemoteConfig rc;
  {
    auto redis = pool_.Acquire();
    if (base::Status st = queue::LoadRemoteConfig(*redis, &rc); !st.ok()) {
      spdlog::warn("TOP-Argus config: the config store is unavailable: {}", st.message());
      auto res = Json(bhttp::status::service_unavailable, {{"status", -1}, {"error", "config store unavailable"}});
      res.set(bhttp::field::retry_after, "5");
      return res;
    }
  }
  // Only the TOP-Argus section: an original agent adopts whatever it is given, and an
  // empty config makes it keep its own.
  json stored = json::parse(rc.json, nullptr, false);
  json section = stored.is_object() && stored.contains("topargus") ? stored["topargus"] : json::object();
  return Json(bhttp::status::ok, {{"status", 0}, {"error", "OK"}, {"config", section}, {"ip", peer.addr}});
}

}  // namespace argus::proxy
