#include "alert/notice.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <ctime>

#include "proto/hash.h"

namespace argus::alert {
namespace {

using nlohmann::json;

std::string Hex(const unsigned char* data, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out += kDigits[data[i] >> 4];
    out += kDigits[data[i] & 15];
  }
  return out;
}

// The zero time Alertmanager writes for "no end".
constexpr const char* kNoTime = "0001-01-01T00:00:00Z";

}  // namespace

json NotificationJson(const Notification& n) {
  json j = {{"key", n.key},           {"rule", n.rule},     {"host", n.host},
            {"firing", n.firing},     {"labels", n.labels}, {"annotations", n.annotations},
            {"starts_ms", n.starts_ms}, {"transition", n.transition}, {"repeat", n.repeat},
            {"created_ms", n.created_ms}};
  if (n.ends_ms) j["ends_ms"] = *n.ends_ms;
  if (n.value) j["value"] = *n.value;
  return j;
}

base::Status ParseNotification(const json& j, Notification* out) {
  try {
    Notification n;
    n.key = j.at("key").get<std::string>();
    n.rule = j.at("rule").get<std::string>();
    n.host = j.at("host").get<std::string>();
    n.firing = j.at("firing").get<bool>();
    n.labels = j.at("labels").get<std::map<std::string, std::string>>();
    n.annotations = j.at("annotations").get<std::map<std::string, std::string>>();
    n.starts_ms = j.at("starts_ms").get<int64_t>();
    n.transition = j.at("transition").get<int64_t>();
    n.repeat = j.value("repeat", int64_t{0});
    n.created_ms = j.value("created_ms", int64_t{0});
    if (j.contains("ends_ms")) n.ends_ms = j["ends_ms"].get<int64_t>();
    if (j.contains("value")) n.value = j["value"].get<double>();
    *out = std::move(n);
    return {};
  } catch (const json::exception& e) {
    return base::Status::Invalid(std::string("not a notification: ") + e.what());
  }
}

std::string Fingerprint(const std::map<std::string, std::string>& labels) {
  // FNV-1a continued over the pairs in key order: stable across builds and machines.
  uint64_t h = proto::Fnv1a64("");
  for (const auto& [k, v] : labels) h = proto::Fnv1a64(k + '\xff' + v + '\xff', h);
  return proto::Hex64(h);
}

std::string Rfc3339(int64_t ms) {
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

json WebhookBody(const std::vector<Notification>& group, const std::string& receiver,
                 const std::map<std::string, std::string>& group_labels) {
  json alerts = json::array();
  bool any_firing = false;
  std::map<std::string, std::string> common_labels, common_annotations;
  for (size_t i = 0; i < group.size(); ++i) {
    const Notification& n = group[i];
    any_firing = any_firing || n.firing;
    alerts.push_back({{"status", n.firing ? "firing" : "resolved"},
                      {"labels", n.labels},
                      {"annotations", n.annotations},
                      {"startsAt", Rfc3339(n.starts_ms)},
                      {"endsAt", n.ends_ms ? Rfc3339(*n.ends_ms) : kNoTime},
                      {"generatorURL", ""},
                      {"fingerprint", Fingerprint(n.labels)}});
    // Common: the pairs every alert of the group shares.
    for (const auto& [src, common] : {std::pair{&n.labels, &common_labels}, {&n.annotations, &common_annotations}}) {
      if (i == 0) {
        *common = *src;
        continue;
      }
      for (auto it = common->begin(); it != common->end();) {
        auto found = src->find(it->first);
        it = found != src->end() && found->second == it->second ? std::next(it) : common->erase(it);
      }
    }
  }
  std::string group_key = "{}:{";
  for (auto it = group_labels.begin(); it != group_labels.end(); ++it) {
    group_key += (it == group_labels.begin() ? "" : ", ") + it->first + "=\"" + it->second + "\"";
  }
  group_key += "}";
  return {{"version", "4"},
          {"groupKey", group_key},
          {"truncatedAlerts", 0},
          {"status", any_firing ? "firing" : "resolved"},
          {"receiver", receiver},
          {"groupLabels", group_labels},
          {"commonLabels", common_labels},
          {"commonAnnotations", common_annotations},
          {"externalURL", ""},
          {"alerts", alerts}};
}

json AlertmanagerBody(const std::vector<Notification>& group, int64_t firing_for_ms) {
  json out = json::array();
  for (const Notification& n : group) {
    json a = {{"labels", n.labels}, {"annotations", n.annotations}, {"startsAt", Rfc3339(n.starts_ms)}};
    a["endsAt"] = Rfc3339(n.ends_ms ? *n.ends_ms : n.created_ms + firing_for_ms);
    out.push_back(std::move(a));
  }
  return out;
}

std::string Signature(const std::string& secret, const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(body.data()),
       body.size(), mac, &len);
  return "sha256=" + Hex(mac, len);
}

}  // namespace argus::alert
