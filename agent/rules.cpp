#include "agent/rules.h"

#include <re2/re2.h>
#include <spdlog/spdlog.h>

#include <charconv>

#include "proto/hash.h"
#include "proto/json_depth.h"
#include "proto/json_path.h"

namespace argus::agent {

Rule DefaultLogRule() {
  Rule r;
  r.name = "metrics";
  r.match = "[metrics]";
  r.extract = Extraction::kJsonAfter;
  r.json_after = "[metrics]";
  r.type = "metrics";
  return r;
}

namespace {

using nlohmann::json;

// Log lines are bytes, JSON strings are UTF-8: invalid sequences become U+FFFD.
json Text(std::string_view s) {
  return json::parse(json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace));
}

// A captured value as a number when the whole of it is one, else as text.
json Value(std::string_view s) {
  if (!s.empty() && s.size() < 32 && (std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-')) {
    double d = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (ec == std::errc() && end == s.data() + s.size() && std::isfinite(d)) {
      int64_t i = 0;
      auto [iend, iec] = std::from_chars(s.data(), s.data() + s.size(), i);
      if (iec == std::errc() && iend == s.data() + s.size()) return i;
      return d;
    }
  }
  return Text(s);
}

bool Contains(std::string_view line, const std::vector<std::string>& any_of, bool want_all) {
  for (const auto& s : any_of) {
    bool found = line.find(s) != std::string_view::npos;
    if (want_all && !found) return false;
    if (!want_all && found) return true;
  }
  return want_all;
}

// Deterministic keep-or-drop: the same key gives the same answer on every host.
bool Keep(const Rule& rule, const std::string& content, std::string_view line) {
  if (rule.sample_rate >= 1000) return true;
  if (rule.sample_rate <= 0) return false;
  std::string key;
  if (!rule.sample_key.empty()) {
    json tree = json::parse(content, nullptr, /*allow_exceptions=*/false);
    if (const json* at = proto::FindPath(tree, rule.sample_key)) {
      key = at->is_string() ? at->get<std::string>() : at->dump();
    }
  }
  if (key.empty()) key = std::string(line);
  return proto::Fnv1a64(key) % 1000 < static_cast<uint64_t>(rule.sample_rate);
}

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// The content as JSON text. `groups`: the regex's submatches, for kGroups.
std::optional<std::string> Extract(const Rule& rule, std::string_view line, const std::vector<re2::StringPiece>& groups,
                            RuleCounters* counters) {
  switch (rule.extract) {
    case Extraction::kLine:
      return Dump(json{{"line", Text(line)}});
    case Extraction::kKeyValue: {
      json kv = ExtractKeyValues(line);
      if (kv.empty()) break;
      return Dump(kv);
    }
    case Extraction::kJsonAfter: {
      auto pos = line.find(rule.json_after);
      if (pos == std::string_view::npos) break;
      // Checked without building a tree, and the text itself is the content: this is
      // the hot path of the default rule. Deeper than the proxy takes is refused here.
      std::string_view rest = line.substr(pos + rule.json_after.size());
      const size_t depth = proto::Limits{}.max_depth - 1;
      std::string fixed;
      if (!proto::IsJsonObject(rest, depth)) {
        // Invalid UTF-8 in an otherwise good object is replaced (U+FFFD), not a reason
        // to lose the line.
        fixed = Text(rest).get<std::string>();
        if (fixed == rest || !proto::IsJsonObject(fixed, depth)) break;
        rest = fixed;
      }
      const char* ws = " \t\r\n";
      rest.remove_prefix(rest.find_first_not_of(ws));
      rest.remove_suffix(rest.size() - 1 - rest.find_last_not_of(ws));
      return std::string(rest);
    }
    case Extraction::kGroups: {
      json content = json::object();
      for (const auto& [name, index] : rule.regex->NamedCapturingGroups()) {
        const auto& g = groups[static_cast<size_t>(index)];
        if (g.data()) content[name] = Value(std::string_view(g.data(), g.size()));
      }
      return Dump(content);
    }
  }
  ++counters->extract_failed;
  spdlog::debug("rule {}: nothing to extract from: {}", rule.name, line.substr(0, 200));
  return std::nullopt;
}

std::string At(const std::string& path, size_t i, const std::string& key, const std::string& problem) {
  return path + "[" + std::to_string(i) + "]" + (key.empty() ? "" : "." + key) + ": " + problem;
}

std::string BuildRule(const json& r, const std::string& path, size_t i, int global_sample_rate,
                    std::vector<Rule>* out) {
  if (!r.is_object()) return At(path, i, "", "must be an object");
  Rule rule;
  rule.name = r.value("name", "rule" + std::to_string(i));
  rule.match = r.value("match", "");
  rule.type = r.value("type", "");
  if (!proto::IsValidType(rule.type)) return At(path, i, "type", "must be an event type");
  if (r.contains("regex")) {
    re2::RE2::Options o;
    o.set_log_errors(false);
    auto re = std::make_shared<re2::RE2>(r.at("regex").get<std::string>(), o);
    if (!re->ok()) return At(path, i, "regex", "does not compile: " + re->error());
    rule.regex = std::move(re);
  }
  if (rule.match.empty() && !rule.regex) return At(path, i, "", "needs \"match\" or \"regex\"");
  for (const char* key : {"include", "exclude"}) {
    auto& list = std::string(key) == "include" ? rule.include : rule.exclude;
    for (const auto& s : r.value(key, json::array())) list.push_back(s.get<std::string>());
  }
  if (r.contains("extract")) {
    const json& x = r.at("extract");
    if (x.contains("json_after")) {
      rule.extract = Extraction::kJsonAfter;
      rule.json_after = x.at("json_after").get<std::string>();
      if (rule.json_after.empty()) return At(path, i, "extract.json_after", "must not be empty");
    } else if (x.value("kv", false)) {
      rule.extract = Extraction::kKeyValue;
    }
  } else if (rule.regex && !rule.regex->NamedCapturingGroups().empty()) {
    rule.extract = Extraction::kGroups;
  }
  rule.priority = r.value("priority", "normal") == "high" ? proto::Priority::kHigh : proto::Priority::kNormal;
  rule.sample_rate = std::min(r.value("sample_rate", 1000), global_sample_rate);
  // Written "content.x" as in docs/design.md, or plain "x": a path into the content either way.
  rule.sample_key = r.value("sample_key", "");
  if (rule.sample_key.rfind("content.", 0) == 0) rule.sample_key.erase(0, 8);
  out->push_back(std::move(rule));
  return {};
}

}  // namespace

json ExtractKeyValues(std::string_view line) {
  json out = json::object();
  size_t i = 0;
  auto is_sep = [](char c) { return c == ' ' || c == '\t' || c == ',' || c == ';'; };
  auto is_key = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-'; };
  while (i < line.size()) {
    while (i < line.size() && is_sep(line[i])) ++i;
    size_t start = i;
    while (i < line.size() && !is_sep(line[i])) ++i;
    std::string_view token = line.substr(start, i - start);
    size_t eq = token.find_first_of(":=");
    if (eq == 0 || eq == std::string_view::npos || eq + 1 == token.size()) continue;
    std::string_view key = token.substr(0, eq);
    if (!std::all_of(key.begin(), key.end(), is_key) || out.size() >= 256) continue;
    out[std::string(key)] = Value(token.substr(eq + 1));
  }
  return out;
}

base::Status BuildRules(const json& rules, const std::string& path, int global_sample_rate, std::vector<Rule>* out) {
  if (!rules.is_array()) return base::Status::Invalid(path + ": must be an array");
  for (size_t i = 0; i < rules.size(); ++i) {
    try {
      if (auto err = BuildRule(rules[i], path, i, global_sample_rate, out); !err.empty()) return base::Status::Invalid(err);
    } catch (const json::exception&) {
      // Only when the schema check was skipped: a value of the wrong type.
      return base::Status::Invalid(At(path, i, "", "has a value of the wrong type (run --check-config)"));
    }
  }
  return {};
}

std::optional<Match> Apply(const std::vector<Rule>& rules, std::string_view line, RuleCounters* counters) {
  for (const auto& rule : rules) {
    if (!rule.match.empty() && line.find(rule.match) == std::string_view::npos) continue;
    if (!Contains(line, rule.include, true) || Contains(line, rule.exclude, false)) continue;
    // The regex last: substrings rule most lines out for a fraction of its cost.
    thread_local std::vector<re2::StringPiece> groups;
    if (rule.regex) {
      // Submatches only when they are wanted: a bare match is cheaper.
      const int n = rule.extract == Extraction::kGroups ? rule.regex->NumberOfCapturingGroups() + 1 : 0;
      groups.assign(static_cast<size_t>(n), re2::StringPiece());
      if (!rule.regex->Match(re2::StringPiece(line.data(), line.size()), 0, line.size(), re2::RE2::UNANCHORED,
                             groups.data(), n)) {
        continue;
      }
    }
    auto content = Extract(rule, line, groups, counters);
    if (!content) continue;
    if (!Keep(rule, *content, line)) {
      ++counters->sampled_out;
      return std::nullopt;
    }
    ++counters->matched;
    return Match{&rule, std::move(*content)};
  }
  return std::nullopt;
}

}  // namespace argus::agent
