// POST /api/alarm as the original TOP-Argus proxy answered it, so an existing TOP-Argus
// agent can point at this proxy unchanged. Items become v1 events and take the same
// path (validation, flow control, append) as POST /api/v1/events.
#include <spdlog/spdlog.h>

#include "http/encoding.h"
#include "proto/json_depth.h"
#include "proto/json_scan.h"
#include "proxy/service.h"

namespace argus::proxy {

namespace bhttp = boost::beast::http;
using nlohmann::json;

namespace {

// The original's answer shape: always {"status":…,"error":…}.
http::Response Answer(bhttp::status http_status, int status, std::string_view error, json extra = json::object()) {
  extra["status"] = status;
  extra["error"] = error;
  return http::Json(http_status, extra);
}

}  // namespace

http::Response ProxyService::PostAlarm(const http::Request& req, const http::Peer& peer) {
  auto body = http::DecodeBody(req, options_.limits.max_batch_bytes);
  if (body.status != 200) return Answer(static_cast<bhttp::status>(body.status), -2, body.error);
  std::string_view text = body.View(req);
  const size_t hard_depth = 2 * options_.limits.max_depth + 2;
  // The token is in the body: read only up to it, building nothing, before anything
  // else is done with a body that anyone may send.
  const Token* token = nullptr;
  if (auto presented = proto::TopLevelString(text, "token", hard_depth)) token = Authenticate(*presented);
  if (!token) {
    // Malformed text is said as the original said it; finding where builds nothing either.
    if (auto at = proto::JsonSyntaxErrorAt(text)) {
      return Answer(bhttp::status::ok, -2, "malformed JSON at byte " + std::to_string(*at));
    }
    return Answer(bhttp::status::unauthorized, -1, "invalid or missing token");
  }
  // The TOP-Argus format is converted through a tree, so bound its depth first.
  if (proto::JsonDepth(text, hard_depth) > hard_depth) {
    return Answer(bhttp::status::ok, -2, "JSON nesting is deeper than " + std::to_string(hard_depth) + " levels");
  }
  json payload = json::parse(text, nullptr, false);
  if (payload.is_discarded() || !payload.is_object()) {
    return Answer(bhttp::status::ok, -2, "the body must be a JSON object {\"token\":…,\"data\":[…]}");
  }
  auto data = payload.find("data");
  if (data == payload.end() || !data->is_array() || data->empty()) {
    return Answer(bhttp::status::ok, -2, "field 'data' must be a non-empty array of {\"alarm_type\",\"alarm_content\"}");
  }

  // alarm_type -> type, alarm_content -> content; anything else in an item is refused by
  // the v1 rules, which name it.
  json events = json::array();
  for (const auto& item : *data) {
    if (!item.is_object()) {
      events.push_back(item);
      continue;
    }
    json e = json::object();
    for (const auto& [k, v] : item.items()) {
      e[k == "alarm_type" ? "type" : k == "alarm_content" ? "content" : k] = v;
    }
    events.push_back(std::move(e));
  }
  auto batch = proto::DecodeBatch(json{{"events", events}}.dump(), options_.limits);
  if (!batch.error.empty()) return Answer(bhttp::status::ok, -2, batch.error);
  if (base::Status s = Admit(batch, /*agent_path=*/false, *token, peer); !s.ok()) {
    return Answer(bhttp::status::bad_request, -1, "nothing accepted: " + s.message());
  }

  Outcome outcome = Ingest(*token, batch.events, peer);
  if (outcome.status != 200) {
    auto res = Answer(static_cast<bhttp::status>(outcome.status), -1, outcome.error);
    res.set(bhttp::field::retry_after, std::to_string(outcome.retry_after_s));
    return res;
  }
  if (!batch.rejected.empty()) {
    json rejected = json::array();
    for (const auto& r : batch.rejected) {
      rejected.push_back({{"index", r.index}, {"error", r.error}});
    }
    return Answer(bhttp::status::ok, -1, "some items were invalid and were not stored",
                  {{"accepted", batch.events.size()}, {"rejected", rejected}});
  }
  return Answer(bhttp::status::ok, 0, "OK");
}

}  // namespace argus::proxy
