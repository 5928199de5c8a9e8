#include "alert/rules.h"

#include <algorithm>
#include <set>

#include <re2/re2.h>

#include "alert/fields.h"

namespace argus::alert {
namespace {

using nlohmann::json;

constexpr const char* kOps[] = {">", ">=", "<", "<=", "==", "!="};
constexpr const char* kKinds[] = {"threshold", "event", "absent"};

std::optional<Op> ParseOp(const std::string& s) {
  for (size_t i = 0; i < std::size(kOps); ++i) {
    if (s == kOps[i]) return static_cast<Op>(i);
  }
  return std::nullopt;
}

void ReadHosts(Fields& f, HostSelector* out) {
  const json* v = f.Get("hosts");
  if (!v) return;
  if (v->is_string()) {
    const std::string s = v->get<std::string>();
    if (s == "*") return;
    if (s.size() > 1 && s.size() <= 256 && s.back() == '*' && s.find('*') == s.size() - 1) {
      out->prefix = s.substr(0, s.size() - 1);
      return;
    }
    if (!s.empty() && s.size() <= 255 && s.find('*') == std::string::npos) {
      out->names = {s};
      return;
    }
  } else if (v->is_array() && !v->empty() && v->size() <= 1000 &&
             std::all_of(v->begin(), v->end(), [](const json& h) { return h.is_string() && !h.get<std::string>().empty(); })) {
    for (const auto& h : *v) out->names.push_back(h.get<std::string>());
    return;
  } else if (v->is_object() && v->size() == 1 && v->contains("label") && (*v)["label"].is_string()) {
    const std::string l = (*v)["label"].get<std::string>();
    const auto eq = l.find('=');
    if (eq != std::string::npos && IsName(l.substr(0, eq), 64)) {
      out->label = std::make_pair(l.substr(0, eq), l.substr(eq + 1));
      return;
    }
  }
  f.Fail("hosts", "must be \"*\", a name, a \"prefix*\", a list of names, or {\"label\": \"key=value\"}");
}

void ReadConditions(Fields& f, const char* key, std::vector<Condition>* out) {
  const json* v = f.Get(key);
  if (!v) return;
  if (!v->is_object() || v->empty() || v->size() > 32) {
    f.Fail(key, "must be an object of 1 to 32 conditions, field: value or field: {\"op\": value}");
    return;
  }
  for (const auto& [field, test] : v->items()) {
    const std::string at = std::string(key) + "." + field.substr(0, 64);
    Condition c;
    c.field = field;
    if (field.empty() || field.size() > 256) {
      f.Fail(at, "must be a field path of 1 to 256 characters");
      return;
    }
    if (!test.is_object()) {
      c.value = test;  // equality with any JSON value
    } else if (test.size() != 1) {
      f.Fail(at, "must have one test: one of >, >=, <, <=, ==, !=, contains, regex");
      return;
    } else {
      const std::string name = test.begin().key();
      const json& arg = test.begin().value();
      if (auto op = ParseOp(name)) {
        if (!arg.is_number() && *op != Op::kEq && *op != Op::kNe) {
          f.Fail(at + "." + name, "must be a number");
          return;
        }
        c.test = arg.is_number() ? Condition::Test::kCompare : Condition::Test::kEqual;
        c.op = *op;
        c.value = arg;
      } else if ((name == "contains" || name == "regex") && arg.is_string() && arg.get<std::string>().size() <= 1024) {
        c.test = name == "contains" ? Condition::Test::kContains : Condition::Test::kRegex;
        c.text = arg.get<std::string>();
        if (c.test == Condition::Test::kRegex) {
          auto re = std::make_shared<const RE2>(c.text, RE2::Quiet);
          if (!re->ok()) {
            f.Fail(at + ".regex", "is not a valid RE2 expression: " + re->error());
            return;
          }
          c.re = std::move(re);
        }
      } else {
        f.Fail(at, "must have one test: one of >, >=, <, <=, ==, !=, contains, regex (a string of at most 1024)");
        return;
      }
    }
    out->push_back(std::move(c));
  }
}

std::string DurationText(int64_t ms) {
  for (const auto& [unit, suffix] : {std::pair{86400000LL, "d"}, {3600000LL, "h"}, {60000LL, "m"}, {1000LL, "s"}}) {
    if (ms > 0 && ms % unit == 0) return std::to_string(ms / unit) + suffix;
  }
  return std::to_string(ms);  // whole milliseconds read back as such
}

}  // namespace

const char* KindName(Kind kind) { return kKinds[static_cast<size_t>(kind)]; }
const char* OpName(Op op) { return kOps[static_cast<size_t>(op)]; }

bool Holds(Op op, double value, double threshold) {
  switch (op) {
    case Op::kGt: return value > threshold;
    case Op::kGe: return value >= threshold;
    case Op::kLt: return value < threshold;
    case Op::kLe: return value <= threshold;
    case Op::kEq: return value == threshold;
    case Op::kNe: return value != threshold;
  }
  return false;
}

namespace {

// The value at a dotted path ("disk.used"), or nullptr.
const json* At(const json& content, const std::string& path) {
  const json* at = &content;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    if (!at->is_object()) return nullptr;
    auto it = at->find(path.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (it == at->end()) return nullptr;
    at = &*it;
    if (dot == std::string::npos) return at;
    start = dot + 1;
  }
}

bool Meets(const Condition& c, const json& v) {
  switch (c.test) {
    case Condition::Test::kEqual:
      return c.op == Op::kNe ? v != c.value : v == c.value;
    case Condition::Test::kCompare:
      return v.is_number() && Holds(c.op, v.get<double>(), c.value.get<double>());
    case Condition::Test::kContains:
      return v.is_string() && v.get_ref<const std::string&>().find(c.text) != std::string::npos;
    case Condition::Test::kRegex:
      return v.is_string() && c.re && RE2::PartialMatch(v.get_ref<const std::string&>(), *c.re);
  }
  return false;
}

}  // namespace

bool Matches(const std::vector<Condition>& conditions, const json& content) {
  for (const Condition& c : conditions) {
    const json* v = At(content, c.field);
    if (!v || !Meets(c, *v)) return false;
  }
  return true;
}

base::Status ParseRule(const json& j, const std::string& where, Rule* out) {
  constexpr int64_t kDay = 24 * 3600 * 1000LL;
  Fields f(j, where);
  Rule r;
  auto name = f.Text("name", 128);
  if (!name && f.status().ok()) f.Fail("name", "is required");
  if (name && !IsName(*name, 128)) f.Fail("name", "must be 1 to 128 letters, digits, '_', '.' or '-'");
  r.name = name.value_or("");
  const std::string kind = f.Text("kind", 32).value_or("");
  if (kind == "threshold") {
    r.kind = Kind::kThreshold;
  } else if (kind == "event") {
    r.kind = Kind::kEvent;
  } else if (kind == "absent") {
    r.kind = Kind::kAbsent;
  } else if (f.status().ok()) {
    f.Fail("kind", "must be one of threshold, event, absent");
  }
  auto type = f.Text("type", 64);
  if (type && !IsName(*type, 64)) f.Fail("type", "must be an event type");
  r.type = type.value_or("");
  ReadHosts(f, &r.hosts);
  r.severity = f.Text("severity", 32).value_or("warning");
  if (r.severity != "critical" && r.severity != "warning" && r.severity != "info") {
    f.Fail("severity", "must be one of critical, warning, info");
  }
  r.labels = f.Strings("labels");
  r.annotations = f.Strings("annotations");
  r.message = f.Text("message", 2048).value_or("");
  r.interval_ms = f.Duration("interval", 1000, kDay).value_or(r.interval_ms);
  r.for_ms = f.Duration("for", 0, 7 * kDay).value_or(0);
  if (r.kind == Kind::kThreshold) {
    if (!type && f.status().ok()) f.Fail("type", "is required for a threshold rule");
    auto field = f.Text("field", 512);
    if (!field && f.status().ok()) f.Fail("field", "is required for a threshold rule");
    r.field = field.value_or("");
    if (auto agg = f.Text("agg", 16)) {
      auto parsed = store::ParseAgg(*agg);
      if (!parsed) f.Fail("agg", "must be one of avg, min, max, sum, count, last");
      r.agg = parsed.value_or(store::Agg::kAvg);
    }
    if (auto op = f.Text("op", 2)) {
      if (!ParseOp(*op)) f.Fail("op", "must be one of >, >=, <, <=, ==, !=");
      r.op = ParseOp(*op).value_or(Op::kGt);
    } else if (f.status().ok()) {
      f.Fail("op", "is required for a threshold rule");
    }
    auto value = f.Number("value");
    if (!value && f.status().ok()) f.Fail("value", "is required for a threshold rule");
    r.value = value.value_or(0);
    r.clear = f.Number("clear");
    // The clear value must be on the quiet side of the threshold, or the rule could
    // never leave `alarm` (or never stay in it).
    if (r.clear && f.status().ok()) {
      const bool upward = r.op == Op::kGt || r.op == Op::kGe;
      const bool downward = r.op == Op::kLt || r.op == Op::kLe;
      if ((upward && *r.clear > r.value) || (downward && *r.clear < r.value) || (!upward && !downward)) {
        f.Fail("clear", "must be on the quiet side of value (at most value for > and >=, at least for < and <=; none for == and !=)");
      }
    }
    r.window_ms = f.Duration("window", 60000, 7 * kDay).value_or(r.window_ms);
    r.keep_firing_for_ms = f.Duration("keep_firing_for", 0, 7 * kDay).value_or(0);
  } else if (r.kind == Kind::kEvent) {
    if (!type && f.status().ok()) f.Fail("type", "is required for an event rule");
    ReadConditions(f, "match", &r.match);
    ReadConditions(f, "resolve_match", &r.resolve_match);
    r.resolve_after_ms = f.Duration("resolve_after", 1000, 30 * kDay);
  }
  f.NoOthers();
  if (base::Status s = f.status(); !s.ok()) return s;
  *out = std::move(r);
  return {};
}

base::Status ParseRules(const json& file, std::vector<Rule>* out) {
  if (!file.is_object() || !file.contains("rules")) return base::Status::Invalid("rules: is required (an array of rules)");
  const json& rules = file["rules"];
  if (!rules.is_array() || rules.size() > 10000) return base::Status::Invalid("rules: must be an array of at most 10000 rules");
  std::set<std::string> names;
  std::vector<Rule> parsed;
  for (size_t i = 0; i < rules.size(); ++i) {
    const std::string where = "rules[" + std::to_string(i) + "]";
    Rule r;
    if (base::Status s = ParseRule(rules[i], where, &r); !s.ok()) return s;
    if (!names.insert(r.name).second) return base::Status::Invalid(where + ".name: \"" + r.name + "\" is used twice");
    parsed.push_back(std::move(r));
  }
  *out = std::move(parsed);
  return {};
}

json RuleJson(const Rule& r) {
  json j = {{"name", r.name}, {"kind", KindName(r.kind)}, {"severity", r.severity},
            {"interval", DurationText(r.interval_ms)}};
  if (!r.type.empty()) j["type"] = r.type;
  if (!r.hosts.names.empty()) j["hosts"] = r.hosts.names;
  if (!r.hosts.prefix.empty()) j["hosts"] = r.hosts.prefix + "*";
  if (r.hosts.label) j["hosts"] = {{"label", r.hosts.label->first + "=" + r.hosts.label->second}};
  if (r.hosts.all()) j["hosts"] = "*";
  if (r.for_ms > 0) j["for"] = DurationText(r.for_ms);
  if (!r.labels.empty()) j["labels"] = r.labels;
  if (!r.annotations.empty()) j["annotations"] = r.annotations;
  if (!r.message.empty()) j["message"] = r.message;
  if (r.kind == Kind::kThreshold) {
    j["field"] = r.field;
    j["agg"] = store::AggName(r.agg);
    j["op"] = OpName(r.op);
    j["value"] = r.value;
    if (r.clear) j["clear"] = *r.clear;
    j["window"] = DurationText(r.window_ms);
    if (r.keep_firing_for_ms > 0) j["keep_firing_for"] = DurationText(r.keep_firing_for_ms);
  }
  if (r.kind == Kind::kEvent) {
    auto conditions = [](const std::vector<Condition>& cs) {
      json m = json::object();
      for (const auto& c : cs) {
        switch (c.test) {
          case Condition::Test::kEqual:
            // A bare value means equality, unless it is an object (which reads as a test).
            m[c.field] = c.op == Op::kNe         ? json{{"!=", c.value}}
                         : c.value.is_object() ? json{{"==", c.value}}
                                               : c.value;
            break;
          case Condition::Test::kCompare: m[c.field] = {{OpName(c.op), c.value}}; break;
          case Condition::Test::kContains: m[c.field] = {{"contains", c.text}}; break;
          case Condition::Test::kRegex: m[c.field] = {{"regex", c.text}}; break;
        }
      }
      return m;
    };
    if (!r.match.empty()) j["match"] = conditions(r.match);
    if (!r.resolve_match.empty()) j["resolve_match"] = conditions(r.resolve_match);
    if (r.resolve_after_ms) j["resolve_after"] = DurationText(*r.resolve_after_ms);
  }
  return j;
}

std::string Render(const std::string& tmpl, const std::map<std::string, std::string>& values) {
  std::string out;
  size_t at = 0;
  while (at < tmpl.size()) {
    const size_t open = tmpl.find("{{", at);
    const size_t close = open == std::string::npos ? std::string::npos : tmpl.find("}}", open + 2);
    if (close == std::string::npos) break;
    out.append(tmpl, at, open - at);
    std::string name = tmpl.substr(open + 2, close - open - 2);
    name.erase(0, name.find_first_not_of(' '));
    name.erase(name.find_last_not_of(' ') + 1);
    auto it = values.find(name);
    out += it != values.end() ? it->second : tmpl.substr(open, close + 2 - open);
    at = close + 2;
  }
  out.append(tmpl, std::min(at, tmpl.size()), std::string::npos);
  return out;
}

}  // namespace argus::alert
