#include "alert/route.h"

#include <set>

#include "alert/fields.h"
#include "base/file.h"
#include "http/endpoint.h"

namespace argus::alert {
namespace {

constexpr int64_t kDay = 24 * 3600 * 1000LL;

base::Status ReadReceiver(const json& j, const std::string& where, Receiver* out) {
  Fields f(j, where);
  Receiver r;
  auto name = f.Text("name", 64);
  if (!name || !IsName(*name, 64)) f.Fail("name", "is required: 1 to 64 letters, digits, '_', '.' or '-'");
  r.name = name.value_or("");
  int kinds = 0;
  for (const char* kind : {"webhook", "alertmanager", "log"}) {
    const json* v = f.Get(kind);
    if (!v) continue;
    ++kinds;
    Fields k(*v, where + "." + kind);
    if (std::string(kind) == "log") {
      r.kind = Receiver::Kind::kLog;
    } else {
      r.kind = std::string(kind) == "webhook" ? Receiver::Kind::kWebhook : Receiver::Kind::kAlertmanager;
      auto url = k.Text("url", 2048);
      http::Endpoint ep;
      std::string target;
      if (!url) {
        k.Fail("url", "is required");
      } else if (base::Status s = http::ParseUrl(*url, &ep, &target); !s.ok()) {
        k.Fail("url", s.message());
      }
      r.url = url.value_or("");
      if (r.kind == Receiver::Kind::kWebhook) r.secret = k.Text("secret", 1024).value_or("");
      r.timeout_ms = k.Duration("timeout", 100, 300000).value_or(r.timeout_ms);
    }
    k.NoOthers();
    if (!k.status().ok()) return k.status();
  }
  if (kinds != 1 && f.status().ok()) f.Fail("", "must have exactly one of webhook, alertmanager, log");
  f.NoOthers();
  *out = std::move(r);
  return f.status();
}

base::Status ReadRoute(const json& j, const std::string& where, const std::set<std::string>& receivers, bool root,
                       Route* out) {
  Fields f(j, where);
  Route r;
  auto receiver = f.Text("receiver", 64);
  if (receiver && !receivers.count(*receiver)) f.Fail("receiver", "names no receiver: \"" + *receiver + "\"");
  if (!receiver && root) f.Fail("receiver", "is required");
  r.receiver = receiver.value_or(out->receiver);  // a child inherits its parent's
  r.group_by = out->group_by;
  r.group_wait_ms = out->group_wait_ms;
  r.repeat_interval_ms = out->repeat_interval_ms;
  r.match = f.Strings("match");
  if (!root && r.match.empty() && f.status().ok()) f.Fail("match", "is required in a child route");
  if (const json* g = f.Get("group_by")) {
    r.group_by.clear();
    if (!g->is_array() || g->size() > 16) f.Fail("group_by", "must be a list of at most 16 label names");
    for (size_t i = 0; g->is_array() && i < g->size() && f.status().ok(); ++i) {
      if (!(*g)[i].is_string() || !IsName((*g)[i].get<std::string>(), 64)) {
        f.Fail("group_by[" + std::to_string(i) + "]", "must be a label name");
      } else {
        r.group_by.push_back((*g)[i].get<std::string>());
      }
    }
  }
  r.group_wait_ms = f.Duration("group_wait", 0, 3600000).value_or(r.group_wait_ms);
  r.repeat_interval_ms = f.Duration("repeat_interval", 1000, 30 * kDay).value_or(r.repeat_interval_ms);
  if (const json* children = f.Get("routes")) {
    if (!children->is_array() || children->size() > 100) f.Fail("routes", "must be a list of at most 100 routes");
    for (size_t i = 0; children->is_array() && i < children->size() && f.status().ok(); ++i) {
      Route child = r;
      child.routes.clear();
      base::Status s = ReadRoute((*children)[i], where + ".routes[" + std::to_string(i) + "]", receivers, false, &child);
      if (!s.ok()) return s;
      r.routes.push_back(std::move(child));
    }
  }
  f.NoOthers();
  *out = std::move(r);
  return f.status();
}

}  // namespace

base::Status ParseConfig(const json& file, AlertConfig* out) {
  AlertConfig c;
  if (base::Status s = ParseRules(file, &c.rules); !s.ok()) return s;
  Fields top(file, "");
  top.Get("rules");
  std::set<std::string> names;
  if (const json* rs = top.Get("receivers")) {
    if (!rs->is_array() || rs->size() > 100) return base::Status::Invalid("receivers: must be a list of at most 100 receivers");
    for (size_t i = 0; i < rs->size(); ++i) {
      Receiver r;
      if (base::Status s = ReadReceiver((*rs)[i], "receivers[" + std::to_string(i) + "]", &r); !s.ok()) return s;
      if (!names.insert(r.name).second) {
        return base::Status::Invalid("receivers[" + std::to_string(i) + "].name: \"" + r.name + "\" is used twice");
      }
      c.receivers.push_back(std::move(r));
    }
  } else {
    c.receivers.push_back({"log", Receiver::Kind::kLog, "", "", 10000});
    names.insert("log");
  }
  if (const json* route = top.Get("route")) {
    if (base::Status s = ReadRoute(*route, "route", names, true, &c.route); !s.ok()) return s;
  } else if (c.receivers.size() == 1) {
    c.route.receiver = c.receivers[0].name;
  } else {
    return base::Status::Invalid("route: is required when there is more than one receiver");
  }
  if (const json* flap = top.Get("flapping")) {
    Fields f(*flap, "flapping");
    FlapPolicy p;
    p.window_ms = f.Duration("window", 1000, 7 * kDay).value_or(p.window_ms);
    p.stable_for_ms = f.Duration("stable_for", 1000, 7 * kDay).value_or(p.stable_for_ms);
    if (auto changes = f.Number("changes")) {
      if (*changes < 2 || *changes > 1000 || *changes != static_cast<int>(*changes)) {
        f.Fail("changes", "must be a whole number from 2 to 1000");
      }
      p.changes = static_cast<int>(*changes);
    }
    f.NoOthers();
    if (!f.status().ok()) return f.status();
    c.flapping = p;
  }
  top.NoOthers();
  if (base::Status s = top.status(); !s.ok()) return base::Status::Invalid(s.message().substr(1));  // no leading '.'
  *out = std::move(c);
  return {};
}

base::Status LoadConfig(const std::string& path, AlertConfig* out) {
  json j;
  if (base::Status s = base::ReadJsonFile(path, &j); !s.ok()) return s;
  return ParseConfig(j, out).Prefixed(path + ": ");
}

const Route& RouteFor(const Route& root, const std::map<std::string, std::string>& labels) {
  for (const Route& child : root.routes) {
    bool all = true;
    for (const auto& [k, v] : child.match) {
      auto it = labels.find(k);
      all = all && it != labels.end() && it->second == v;
    }
    if (all) return RouteFor(child, labels);
  }
  return root;
}

const Receiver* FindReceiver(const AlertConfig& config, const std::string& name) {
  for (const Receiver& r : config.receivers) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

}  // namespace argus::alert
