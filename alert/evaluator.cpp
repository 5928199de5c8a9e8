#include "alert/evaluator.h"

#include <algorithm>
#include <cmath>
#include <thread>

#include <spdlog/spdlog.h>

#include "alert/notice.h"
#include "queue/streams.h"
#include "store/reader.h"
#include "store/series.h"

namespace argus::alert {
namespace {

using nlohmann::json;

// The type whose stored data a rule reads: an absent rule without one watches the
// agent's heartbeat.
constexpr const char* kHeartbeatType = "argus.agent";
// Windows up to this long are judged from raw events (exact to the millisecond);
// longer ones from the one-minute rollups.
constexpr int64_t kRawWindowMs = 15 * 60 * 1000;
constexpr int64_t kMaxEventsPerRound = 10000;

// Appends the notification stream entry unless its key was appended before: the
// outbox may hand the same key over twice (a crash between XADD and the outbox
// delete), and the set-if-absent makes the second a no-op.
constexpr const char* kAppendOnce = R"lua(
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[3]) then
  return redis.call('XADD', KEYS[1], '*', 'key', ARGV[1], 'e', ARGV[2])
end
return false
)lua";

std::string Number(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

bool Selects(const HostSelector& sel, const std::string& host, const std::set<std::string>* labelled) {
  if (sel.all()) return true;
  if (!sel.names.empty()) return std::find(sel.names.begin(), sel.names.end(), host) != sel.names.end();
  if (!sel.prefix.empty()) return host.starts_with(sel.prefix);
  return labelled && labelled->count(host);
}

PairState FromRow(const store::AlertStateRow& row) {
  PairState p;
  p.state = ParseState(row.state).value_or(State::kOk);
  p.since_ms = row.since_ms;
  p.value = row.value;
  p.transitions = row.transitions;
  p.ReadMemo(json::parse(row.memo, nullptr, false));
  return p;
}

std::string DefaultMessage(const Rule& rule) {
  switch (rule.kind) {
    case Kind::kThreshold:
      return "{{host}}: " + rule.type + "." + rule.field + " " + AggName(rule.agg) + " is {{value}} (" +
             OpName(rule.op) + " {{threshold}})";
    case Kind::kEvent: return "{{host}}: " + rule.type + " event {{why}}";
    case Kind::kAbsent: return "{{host}}: nothing heard for {{value}} s";
  }
  return "{{rule}} on {{host}}";
}

}  // namespace

std::string SentKey(std::string_view notification_key) {
  return "argus:{alert}:sent:" + std::string(notification_key);
}

Notification MakeNotification(const Rule& rule, const std::string& host, const StepResult& step, Notice notice,
                              int64_t now) {
  const PairState& s = step.next;
  Notification n;
  n.rule = rule.name;
  n.host = host;
  n.firing = notice != Notice::kResolved;
  n.labels = rule.labels;
  n.labels["alertname"] = rule.name;
  n.labels["host"] = host;
  n.labels["severity"] = rule.severity;
  std::map<std::string, std::string> values = {{"rule", rule.name},
                                               {"host", host},
                                               {"severity", rule.severity},
                                               {"state", StateName(s.state)},
                                               {"why", step.why},
                                               {"value", s.value ? Number(*s.value) : "none"},
                                               {"threshold", Number(rule.value)},
                                               {"since", Rfc3339(s.fired_ms.value_or(now))}};
  for (const auto& [k, v] : rule.labels) values["labels." + k] = v;
  for (const auto& [k, v] : rule.annotations) n.annotations[k] = Render(v, values);
  n.annotations["summary"] = Render(rule.message.empty() ? DefaultMessage(rule) : rule.message, values);
  // An annotation, not a label: labels identify the alert (its fingerprint), and the
  // recovery must resolve the same alert.
  if (s.flapping) n.annotations["flapping"] = step.why;
  n.starts_ms = s.fired_ms.value_or(now);
  if (!n.firing) n.ends_ms = now;
  n.value = s.value;
  n.transition = s.transitions;
  n.repeat = notice == Notice::kRepeat ? s.repeats : 0;
  n.key = rule.name + "/" + host + "/" + std::to_string(n.transition) +
          (n.repeat ? "/r" + std::to_string(n.repeat) : "");
  n.created_ms = now;
  return n;
}

Evaluator::Evaluator(EvaluatorOptions options, const base::Clock& clock)
    : options_(std::move(options)), clock_(clock), redis_(options_.redis) {
  db_ = store::Database::Open(options_.db_path);
  metrics_.Describe("argus_alert_rounds_total", http::Metrics::Kind::kCounter, "evaluation rounds");
  metrics_.Describe("argus_alert_evaluations_total", http::Metrics::Kind::kCounter, "(rule, host) pairs evaluated, by rule");
  metrics_.DescribeHistogram("argus_alert_evaluation_seconds", "time to evaluate one rule's owned pairs",
                             {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5});
  metrics_.Describe("argus_alert_transitions_total", http::Metrics::Kind::kCounter, "state changes, by rule and new state");
  metrics_.Describe("argus_alert_notifications_total", http::Metrics::Kind::kCounter,
                    "notifications made (firing, repeat, resolved), by rule");
  metrics_.Describe("argus_alert_published_total", http::Metrics::Kind::kCounter, "notifications moved from the outbox to the stream");
  metrics_.Describe("argus_alert_conflicts_total", http::Metrics::Kind::kCounter,
                    "state writes skipped because another evaluator had moved the pair first");
  metrics_.Describe("argus_alert_errors_total", http::Metrics::Kind::kCounter, "rounds that failed (store or redis)");
  metrics_.Describe("argus_alert_states", http::Metrics::Kind::kGauge, "owned (rule, host) pairs by rule and state");
  metrics_.Describe("argus_alert_flapping", http::Metrics::Kind::kGauge, "owned pairs held in alarm as flapping, by rule");
  metrics_.Describe("argus_alert_flaps_total", http::Metrics::Kind::kCounter, "times a pair started flapping, by rule");
  metrics_.Describe("argus_alert_ring_members", http::Metrics::Kind::kGauge, "live evaluators on the ring");
  metrics_.Describe("argus_alert_rules", http::Metrics::Kind::kGauge, "rules loaded");
}

Evaluator::~Evaluator() = default;

base::Status Evaluator::Reload() {
  if (options_.rules_path.empty()) return {};
  AlertConfig config;
  if (base::Status s = LoadConfig(options_.rules_path, &config); !s.ok()) return s;
  store::AlertStore store(*db_);
  const int64_t now = clock_.WallMs();
  std::set<std::string> names;
  store::Transaction tx(*db_);
  for (const Rule& r : config.rules) {
    names.insert(r.name);
    const std::string body = RuleJson(r).dump();
    auto old = store.Rule(r.name);
    if (old && old->source == "api") {
      spdlog::warn("alert: rule {} of {} replaces the rule of that name made through the API", r.name,
                   options_.rules_path);
    }
    if (!old || old->body != body || old->source != "file") store.Put(r.name, body, "file", now);
  }
  for (const auto& stored : store.Rules("", 1000000)) {
    if (stored.source == "file" && !names.count(stored.name)) store.Delete(stored.name);
  }
  tx.Commit();
  file_ = std::move(config);
  spdlog::info("alert: {} rules, {} receivers from {}", file_.rules.size(), file_.receivers.size(), options_.rules_path);
  return {};
}

void Evaluator::LoadRules() {
  store::AlertStore store(*db_);
  std::map<std::string, Compiled> loaded;
  for (const auto& stored : store.Rules("", 1000000)) {
    auto it = rules_.find(stored.name);
    if (it != rules_.end() && it->second.version == stored.version) {
      loaded.emplace(stored.name, std::move(it->second));
      continue;
    }
    Compiled c;
    c.version = stored.version;
    const json j = json::parse(stored.body, nullptr, false);
    if (base::Status s = ParseRule(j, stored.name, &c.rule); !s.ok()) {
      spdlog::error("alert: stored rule {} is skipped: {}", stored.name, s.message());
      continue;
    }
    if (it == rules_.end()) spdlog::info("alert: rule {} ({}) loaded", stored.name, KindName(c.rule.kind));
    loaded.emplace(stored.name, std::move(c));
  }
  for (auto it = next_due_.begin(); it != next_due_.end();) {
    it = loaded.count(it->first) ? std::next(it) : next_due_.erase(it);
  }
  rules_ = std::move(loaded);
  // States of deleted rules go once, when the set of rules changes, not every round.
  std::vector<std::string> names;
  for (const auto& [name, c] : rules_) names.push_back(name);
  if (names == rule_names_) return;
  rule_names_ = names;
  if (int64_t dropped = store.DropStatesExcept(names)) spdlog::info("alert: {} states of deleted rules dropped", dropped);
}

std::optional<int64_t> Evaluator::StoredUntil(const std::string& type, int64_t now, std::string* why) {
  auto cached = watermarks_.find(type);
  if (cached == watermarks_.end()) {
    std::vector<queue::ShardState> shards;
    std::optional<int64_t> until;
    if (base::Status s = queue::ReadShards(redis_, type, options_.shards, &shards); !s.ok()) {
      throw std::runtime_error("reading the streams of " + type + ": " + s.message());
    }
    until = queue::StoredUntil(shards, now);
    cached = watermarks_.emplace(type, std::make_pair(now, until)).first;
  }
  const std::optional<int64_t>& until = cached->second.second;
  if (!until) {
    *why = "no consumer has read the " + type + " streams yet";
    return std::nullopt;
  }
  if (now - *until > options_.max_lag_ms) {
    *why = "the " + type + " consumer has stored only what arrived up to " + std::to_string((now - *until) / 1000) +
           " s ago";
    return std::nullopt;
  }
  return std::min(now, *until);
}

void Evaluator::Evaluate(const Rule& rule, int64_t now, std::vector<store::StateWrite>* writes) {
  store::AlertStore alerts(*db_);
  store::Reader reader(*db_);
  std::map<std::string, store::AlertStateRow> rows;
  std::map<std::string, PairState> prevs;  // the rows as the state machine reads them
  for (auto& row : alerts.States(rule.name)) {
    prevs.emplace(row.host, FromRow(row));
    rows.emplace(row.host, std::move(row));
  }

  std::set<std::string> labelled;
  if (rule.hosts.label) {
    store::HostQuery q;
    q.label = rule.hosts.label;
    for (const auto& h : reader.Hosts(q)) labelled.insert(h.name);
  }
  auto selected = [&](const std::string& host) { return Selects(rule.hosts, host, &labelled); };

  const std::string type = rule.kind == Kind::kAbsent && rule.type.empty() ? kHeartbeatType : rule.type;
  std::string lag_why;
  const std::optional<int64_t> until = StoredUntil(type, now, &lag_why);
  const int64_t t = until.value_or(now);

  // Each candidate host's observation; hosts with a state but no data are unknown.
  std::map<std::string, Observation> obs;
  auto unknown = [&](const std::string& why) {
    Observation o;
    o.known = false;
    o.unknown_why = why;
    return o;
  };
  switch (rule.kind) {
    case Kind::kThreshold: {
      store::SeriesQuery q;
      q.type = rule.type;
      q.field = rule.field;
      q.agg = rule.agg;
      q.since = t - rule.window_ms;
      q.until = t + 1;
      q.source = rule.window_ms <= kRawWindowMs ? store::Source::kRaw : store::Source::kMinute;
      q.hosts.hosts = rule.hosts.names;
      q.hosts.prefix = rule.hosts.prefix;
      for (const auto& [host, v] : store::SeriesReader(*db_).Totals(q)) {
        if (!selected(host)) continue;
        Observation o;
        o.value = v;
        o.firing = Holds(rule.op, v, rule.value);
        o.cleared = !Holds(rule.op, v, rule.clear.value_or(rule.value));
        o.why = AggName(rule.agg) + std::string(" ") + Number(v) + (o.firing ? " " : " not ") + OpName(rule.op) + " " +
                Number(rule.value) + " over " + std::to_string(rule.window_ms / 1000) + " s";
        obs.emplace(host, std::move(o));
      }
      for (const auto& [host, row] : rows) {
        if (!obs.count(host)) obs.emplace(host, unknown("no " + rule.type + "." + rule.field + " in the window"));
      }
      break;
    }
    case Kind::kAbsent: {
      const int64_t absent_ms = std::max(rule.for_ms, rule.interval_ms);
      std::map<std::string, int64_t> last;
      if (rule.type.empty()) {
        for (const auto& h : reader.Hosts()) {
          if (h.status && h.status->last_heartbeat) last[h.name] = *h.status->last_heartbeat;
        }
      } else {
        last = reader.LastSeenByHost(rule.type, t - std::max<int64_t>(24 * 3600 * 1000LL, 2 * absent_ms));
      }
      for (const auto& [host, ts] : last) {
        if (!selected(host)) continue;
        Observation o;
        const int64_t unheard = std::max<int64_t>(0, t - ts);
        o.value = static_cast<double>(unheard / 1000);
        o.firing = unheard >= absent_ms;
        o.cleared = !o.firing;
        o.why = (rule.type.empty() ? std::string("heartbeat") : rule.type) + " last heard " +
                std::to_string(unheard / 1000) + " s before the stored data ends";
        obs.emplace(host, std::move(o));
      }
      for (const auto& [host, row] : rows) {
        if (!obs.count(host)) obs.emplace(host, unknown("no " + type + " in the last day"));
      }
      break;
    }
    case Kind::kEvent: {
      auto cursor = event_cursor_.find(rule.name);
      if (cursor == event_cursor_.end()) {
        cursor = event_cursor_.emplace(rule.name, reader.SeqBefore(now - options_.event_lookback_ms)).first;
      }
      const int64_t upto = reader.LastSeq();
      std::map<std::string, std::pair<int64_t, std::string>> matched;  // host -> newest match ts, its why
      std::map<std::string, int64_t> resolved;                       // host -> newest resolve ts
      int64_t read = 0;
      while (cursor->second < upto && read < kMaxEventsPerRound) {
        auto page = reader.Tail(cursor->second, upto, rule.type, std::nullopt, 1000);
        if (page.empty()) {
          cursor->second = upto;
          break;
        }
        for (const auto& e : page) {
          cursor->second = e.seq;
          ++read;
          if (!selected(e.host)) continue;
          if (Matches(rule.match, e.content)) {
            auto& m = matched[e.host];
            if (e.ts >= m.first) m = {e.ts, "at " + Rfc3339(e.ts) + ": " + e.content.dump().substr(0, 512)};
          } else if (!rule.resolve_match.empty() && Matches(rule.resolve_match, e.content)) {
            resolved[e.host] = std::max(resolved[e.host], e.ts);
          }
        }
      }
      std::set<std::string> hosts;
      for (const auto& [h, m] : matched) hosts.insert(h);
      for (const auto& [h, r] : resolved) hosts.insert(h);
      for (const auto& [h, r] : rows) hosts.insert(h);
      for (const std::string& host : hosts) {
        auto prev = prevs.find(host);
        const std::optional<int64_t> known_match = prev == prevs.end() ? std::nullopt : prev->second.last_match_ms;
        Observation o;
        auto m = matched.find(host);
        // Only a match newer than the newest one already judged counts: a restart that
        // reads the recent events again does not raise what was resolved.
        o.firing = m != matched.end() && (!known_match || m->second.first > *known_match);
        if (o.firing) o.match_ms = m->second.first;
        const int64_t last = o.firing ? m->second.first : known_match.value_or(INT64_MIN);
        auto r = resolved.find(host);
        o.cleared = (r != resolved.end() && r->second >= last) ||
                    (rule.resolve_after_ms && last != INT64_MIN && t - last >= *rule.resolve_after_ms);
        o.why = o.firing ? m->second.second : (o.cleared ? "resolved" : "no new event");
        obs.emplace(host, std::move(o));
      }
      // What the events said is stored and final; only the quiet period needs the watermark.
      if (!until) {
        for (auto& [host, o] : obs) {
          if (!o.firing && rule.resolve_after_ms) o = unknown(lag_why);
        }
      }
      break;
    }
  }
  if (!until && rule.kind != Kind::kEvent) {
    for (auto& [host, o] : obs) o = unknown(lag_why);
  }
  // A host the rule no longer watches (its hosts or the host's labels changed): what it
  // had ends, with a recovery for an alarm.
  for (const auto& [host, row] : rows) {
    if (selected(host)) continue;
    Observation gone;
    gone.why = "no longer among the rule's hosts";
    obs[host] = gone;
  }

  const Route& route = RouteFor(file_.route, [&] {
    auto labels = rule.labels;
    labels["alertname"] = rule.name;
    labels["severity"] = rule.severity;
    return labels;
  }());
  auto& counts = states_count_[rule.name];
  counts.clear();
  int64_t flapping = 0;
  const std::string labels_json = json(rule.labels).dump();
  for (auto& [host, o] : obs) {
    if (ring_.Owner(PairKey(rule.name, host)) != options_.name) continue;
    ++stats_.evaluations;
    auto row = rows.find(host);
    PairState prev;
    prev.since_ms = now;
    if (auto p = prevs.find(host); p != prevs.end()) prev = p->second;
    StepResult step = Advance(rule, prev, o, now, route.repeat_interval_ms, file_.flapping ? &*file_.flapping : nullptr);
    if (step.started_flapping) {
      ++stats_.flaps;
      metrics_.Add("argus_alert_flaps_total", {{"rule", rule.name}});
      spdlog::warn("alert {}: {} on {} is flapping ({}); held in alarm", options_.name, rule.name, host, step.why);
    }
    if (step.next.flapping) ++flapping;
    ++counts[StateName(step.next.state)];
    const bool value_moved = step.next.state != State::kOk && step.next.value != prev.value;
    const bool rule_changed =
        row != rows.end() && (row->second.severity != rule.severity || row->second.labels != labels_json);
    if (row != rows.end() && !step.transition && step.notice == Notice::kNone && !value_moved && !rule_changed &&
        step.next.Memo() == prev.Memo()) {
      continue;
    }
    store::StateWrite w;
    w.row = {rule.name, host, StateName(step.next.state), step.next.since_ms, step.next.value, step.next.transitions, 0,
             now, step.next.Memo().dump(), rule.severity, labels_json};
    w.expected_version = row == rows.end() ? 0 : row->second.version;
    if (step.transition) {
      w.history = store::AlertHistoryRow{0, rule.name, host, StateName(prev.state), StateName(step.next.state), now,
                                         step.next.value, step.why, step.next.transitions};
    }
    if (step.notice != Notice::kNone) {
      const Notification n = MakeNotification(rule, host, step, step.notice, now);
      w.notes.push_back({n.key, NotificationJson(n).dump(), now});
    }
    writes->push_back(std::move(w));
  }
  counts["flapping"] = flapping;
}

void Evaluator::RunOnce() {
  const int64_t now = clock_.WallMs();
  try {
    if (now >= next_beat_) {
      std::vector<std::string> live;
      if (base::Status s = Heartbeat(redis_, options_.name, now, options_.heartbeat_ttl_ms, &live); !s.ok()) {
        throw std::runtime_error(s.message());
      }
      if (live != ring_.members()) {
        spdlog::info("alert {}: ring of {} evaluators: {}", options_.name, live.size(), fmt::join(live, ", "));
        ring_ = Ring(live);
      }
      next_beat_ = now + std::max<int64_t>(200, options_.heartbeat_ttl_ms / 5);
    }
    LoadRules();
    watermarks_.clear();
    std::vector<store::StateWrite> writes;
    for (const auto& [name, c] : rules_) {
      auto due = next_due_.find(name);
      if (due != next_due_.end() && now < due->second) continue;
      const auto started = std::chrono::steady_clock::now();
      Evaluate(c.rule, now, &writes);
      metrics_.Observe("argus_alert_evaluation_seconds", {{"rule", name}},
                       std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      next_due_[name] = now + c.rule.interval_ms;
    }
    std::vector<bool> applied;
    store::AlertStore(*db_).WriteStates(writes, &applied);
    for (size_t i = 0; i < writes.size(); ++i) {
      const auto& w = writes[i];
      const std::string& rule = w.row.rule;
      if (!applied[i]) {
        ++stats_.conflicts;
        metrics_.Add("argus_alert_conflicts_total", {{"rule", rule}});
        continue;
      }
      if (w.history) {
        ++stats_.transitions;
        metrics_.Add("argus_alert_transitions_total", {{"rule", rule}, {"state", w.history->to}});
        spdlog::info("alert {}: {} on {}: {} -> {} ({})", options_.name, rule, w.row.host, w.history->from,
                     w.history->to, w.history->why);
      }
      stats_.notifications += w.notes.size();
      if (!w.notes.empty()) metrics_.Add("argus_alert_notifications_total", {{"rule", rule}}, static_cast<double>(w.notes.size()));
    }
    Publish();
    ++stats_.rounds;
    metrics_.Add("argus_alert_rounds_total");
    UpdateMetrics();
    consecutive_errors_.store(0);
  } catch (const std::exception& e) {
    ++stats_.errors;
    metrics_.Add("argus_alert_errors_total");
    if (consecutive_errors_.fetch_add(1) == 0) spdlog::error("alert {}: round failed: {}", options_.name, e.what());
  }
}

void Evaluator::Publish() {
  store::AlertStore store(*db_);
  for (int batch = 0; batch < 100; ++batch) {
    const auto rows = store.Outbox(100);
    if (rows.empty()) return;
    for (const auto& row : rows) {
      auto r = redis_.Run({"EVAL", kAppendOnce, "2", std::string(kNotificationStream), SentKey(row.key), row.key,
                           row.body, std::to_string(options_.sent_key_ttl_s)});
      if (!r.ok()) throw std::runtime_error("appending notification " + row.key + ": " + r.error);
      if (!r.str().empty()) {  // the new entry's id; nil when the key was appended before
        ++stats_.published;
        metrics_.Add("argus_alert_published_total");
      } else {
        spdlog::info("alert {}: notification {} was on the stream already", options_.name, row.key);
      }
      store.DeleteOutbox(row.key);
    }
  }
}

void Evaluator::UpdateMetrics() {
  metrics_.Set("argus_alert_ring_members", {}, static_cast<double>(ring_.members().size()));
  metrics_.Set("argus_alert_rules", {}, static_cast<double>(rules_.size()));
  for (const auto& [rule, counts] : states_count_) {
    auto flapping = counts.find("flapping");
    metrics_.Set("argus_alert_flapping", {{"rule", rule}}, flapping == counts.end() ? 0 : static_cast<double>(flapping->second));
    for (State s : {State::kOk, State::kPending, State::kAlarm, State::kInsufficient}) {
      auto it = counts.find(StateName(s));
      metrics_.Set("argus_alert_states", {{"rule", rule}, {"state", StateName(s)}},
                   it == counts.end() ? 0 : static_cast<double>(it->second));
    }
  }
}

void Evaluator::Run(const std::atomic<bool>& stop, const std::atomic<int>& reloads) {
  int seen = reloads.load();
  while (!stop.load()) {
    if (const int now = reloads.load(); now != seen) {
      seen = now;
      if (base::Status s = Reload(); !s.ok()) spdlog::error("alert: reload refused, the old rules stay: {}", s.message());
    }
    RunOnce();
    const int64_t pause = consecutive_errors_.load() ? std::min<int64_t>(5000, 200LL << std::min(consecutive_errors_.load(), 5))
                                                     : options_.tick_ms;
    for (int64_t slept = 0; slept < pause && !stop.load() && reloads.load() == seen; slept += 50) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
}

void Evaluator::Leave() {
  if (base::Status s = alert::Leave(redis_, options_.name); !s.ok()) {
    spdlog::warn("alert {}: could not leave the ring ({}); the others take over in {} ms", options_.name, s.message(),
                 options_.heartbeat_ttl_ms);
  }
}

}  // namespace argus::alert
