#include "store/alerts.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace argus::store {
namespace {

StoredRule ReadRule(const Statement& s) { return {s.Text(0), s.Text(1), s.Text(2), s.Int(3), s.Int(4)}; }

constexpr const char* kStateColumns =
    "rule, host, state, since_ms, value, transitions, version, evaluated_ms, memo, severity, labels";

AlertStateRow ReadState(const Statement& s) {
  return {s.Text(0), s.Text(1), s.Text(2), s.Int(3), s.OptReal(4), s.Int(5),
          s.Int(6),  s.Int(7),  s.Text(8), s.Text(9), s.Text(10)};
}

}  // namespace

std::vector<StoredRule> AlertStore::Rules(const std::string& after, int64_t limit) {
  Statement s(db_, "SELECT name, body, source, version, updated_ms FROM alert_rules WHERE name > ?1 ORDER BY name LIMIT ?2",
              kReused);
  s.Bind(1, after).Bind(2, limit);
  std::vector<StoredRule> out;
  while (s.Step()) out.push_back(ReadRule(s));
  return out;
}

std::optional<StoredRule> AlertStore::Rule(const std::string& name) {
  Statement s(db_, "SELECT name, body, source, version, updated_ms FROM alert_rules WHERE name = ?1", kReused);
  s.Bind(1, name);
  if (!s.Step()) return std::nullopt;
  return ReadRule(s);
}

bool AlertStore::Insert(const std::string& name, const std::string& body, const std::string& source, int64_t now_ms) {
  Statement s(db_,
              "INSERT INTO alert_rules(name, body, source, version, updated_ms) VALUES (?1, ?2, ?3, 1, ?4) "
              "ON CONFLICT(name) DO NOTHING",
              kReused);
  s.Bind(1, name).Bind(2, body).Bind(3, source).Bind(4, now_ms).Run();
  return db_.Changes() == 1;
}

int64_t AlertStore::Put(const std::string& name, const std::string& body, const std::string& source, int64_t now_ms) {
  Statement s(db_,
              "INSERT INTO alert_rules(name, body, source, version, updated_ms) VALUES (?1, ?2, ?3, 1, ?4) "
              "ON CONFLICT(name) DO UPDATE SET body = ?2, source = ?3, version = version + 1, updated_ms = ?4 "
              "RETURNING version",
              kReused);
  s.Bind(1, name).Bind(2, body).Bind(3, source).Bind(4, now_ms);
  const int64_t version = s.Step() ? s.Int(0) : 0;
  s.Reset();
  return version;
}

bool AlertStore::Delete(const std::string& name) {
  Statement s(db_, "DELETE FROM alert_rules WHERE name = ?1", kReused);
  s.Bind(1, name).Run();
  return db_.Changes() == 1;
}

namespace {

void BindOptReal(Statement& s, int index, const std::optional<double>& v) {
  if (v) {
    s.Bind(index, *v);
  } else {
    s.BindNull(index);
  }
}

}  // namespace

std::vector<AlertStateRow> AlertStore::States(const std::string& rule) {
  Statement s(db_, std::string("SELECT ") + kStateColumns + " FROM alert_states WHERE rule = ?1 ORDER BY host", kReused);
  s.Bind(1, rule);
  std::vector<AlertStateRow> out;
  while (s.Step()) out.push_back(ReadState(s));
  return out;
}

std::vector<AlertStateRow> AlertStore::Alarms(const AlarmQuery& q) {
  std::string sql = std::string("SELECT ") + kStateColumns + " FROM alert_states WHERE (rule, host) > (?1, ?2)";
  if (!q.states.empty()) sql += " AND state IN (SELECT value FROM json_each(?3))";
  if (q.severity) sql += " AND severity = ?4";
  if (q.host) sql += " AND host = ?5";
  if (q.rule) sql += " AND rule = ?6";
  if (q.label) sql += " AND json_extract(labels, ?7) = ?8";
  sql += " ORDER BY rule, host LIMIT ?9";
  Statement s(db_, sql, kReused);
  s.Bind(1, q.after_rule).Bind(2, q.after_host).Bind(9, q.limit);
  if (!q.states.empty()) s.Bind(3, nlohmann::json(q.states).dump());
  if (q.severity) s.Bind(4, *q.severity);
  if (q.host) s.Bind(5, *q.host);
  if (q.rule) s.Bind(6, *q.rule);
  if (q.label) s.Bind(7, "$." + nlohmann::json(q.label->first).dump()).Bind(8, q.label->second);
  std::vector<AlertStateRow> out;
  while (s.Step()) out.push_back(ReadState(s));
  return out;
}

std::map<std::pair<std::string, std::string>, int64_t> AlertStore::Counts(const std::optional<std::string>& host) {
  Statement s(db_,
              std::string("SELECT state, severity, count(*) FROM alert_states") + (host ? " WHERE host = ?1" : "") +
                  " GROUP BY state, severity",
              kReused);
  if (host) s.Bind(1, *host);
  std::map<std::pair<std::string, std::string>, int64_t> out;
  while (s.Step()) out[{s.Text(0), s.Text(1)}] = s.Int(2);
  return out;
}

std::vector<AlertHistoryRow> AlertStore::History(const HistoryQuery& q) {
  std::string sql =
      "SELECT seq, rule, host, from_state, to_state, at_ms, value, why, transition FROM alert_history WHERE 1";
  if (q.rule) sql += " AND rule = ?1";
  if (q.host) sql += " AND host = ?2";
  if (q.since) sql += " AND at_ms >= ?3";
  if (q.until) sql += " AND at_ms < ?4";
  if (q.before_seq) sql += " AND seq < ?5";
  sql += " ORDER BY seq DESC LIMIT ?6";
  Statement s(db_, sql, kReused);
  if (q.rule) s.Bind(1, *q.rule);
  if (q.host) s.Bind(2, *q.host);
  if (q.since) s.Bind(3, *q.since);
  if (q.until) s.Bind(4, *q.until);
  if (q.before_seq) s.Bind(5, *q.before_seq);
  s.Bind(6, q.limit);
  std::vector<AlertHistoryRow> out;
  while (s.Step()) {
    out.push_back({s.Int(0), s.Text(1), s.Text(2), s.Text(3), s.Text(4), s.Int(5), s.OptReal(6), s.Text(7), s.Int(8)});
  }
  return out;
}

std::vector<SilenceRow> AlertStore::Silences(std::optional<int64_t> active_at, int64_t after_id, int64_t limit) {
  Statement s(db_,
              std::string("SELECT id, matchers, starts_ms, ends_ms, created_ms, created_by, comment FROM alert_silences "
                          "WHERE id > ?1") +
                  (active_at ? " AND starts_ms <= ?2 AND ends_ms > ?2" : "") + " ORDER BY id LIMIT ?3",
              kReused);
  s.Bind(1, after_id).Bind(3, limit);
  if (active_at) s.Bind(2, *active_at);
  std::vector<SilenceRow> out;
  while (s.Step()) out.push_back({s.Int(0), s.Text(1), s.Int(2), s.Int(3), s.Int(4), s.Text(5), s.Text(6)});
  return out;
}

int64_t AlertStore::AddSilence(const SilenceRow& r) {
  Statement s(db_,
              "INSERT INTO alert_silences(matchers, starts_ms, ends_ms, created_by, comment, created_ms) "
              "VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
              kReused);
  s.Bind(1, r.matchers).Bind(2, r.starts_ms).Bind(3, r.ends_ms).Bind(4, r.created_by).Bind(5, r.comment).Bind(6, r.created_ms);
  const int64_t id = s.Step() ? s.Int(0) : 0;
  s.Reset();
  return id;
}

bool AlertStore::ExpireSilence(int64_t id, int64_t now_ms) {
  Statement s(db_, "UPDATE alert_silences SET ends_ms = ?2 WHERE id = ?1 AND ends_ms > ?2", kReused);
  s.Bind(1, id).Bind(2, now_ms).Run();
  return db_.Changes() == 1;
}

void AlertStore::WriteStates(std::vector<StateWrite>& writes, std::vector<bool>* applied) {
  applied->assign(writes.size(), false);
  if (writes.empty()) return;
  Transaction tx(db_);
  Statement insert(db_,
                   "INSERT INTO alert_states(rule, host, state, since_ms, value, transitions, version, evaluated_ms, memo, "
                   "severity, labels) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?8, ?10, ?11) ON CONFLICT(rule, host) DO NOTHING",
                   kReused);
  Statement update(db_,
                   "UPDATE alert_states SET state = ?3, since_ms = ?4, value = ?5, transitions = ?6, "
                   "version = version + 1, evaluated_ms = ?7, memo = ?8, severity = ?10, labels = ?11 "
                   "WHERE rule = ?1 AND host = ?2 AND version = ?9",
                   kReused);
  Statement history(db_,
                    "INSERT INTO alert_history(rule, host, from_state, to_state, at_ms, value, why, transition) "
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    kReused);
  Statement note(db_, "INSERT OR IGNORE INTO alert_outbox(key, body, created_ms) VALUES (?1, ?2, ?3)", kReused);
  for (size_t i = 0; i < writes.size(); ++i) {
    StateWrite& w = writes[i];
    AlertStateRow& r = w.row;
    Statement& s = w.expected_version == 0 ? insert : update;
    s.Bind(1, r.rule).Bind(2, r.host).Bind(3, r.state).Bind(4, r.since_ms);
    BindOptReal(s, 5, r.value);
    s.Bind(6, r.transitions).Bind(7, r.evaluated_ms).Bind(8, r.memo).Bind(10, r.severity).Bind(11, r.labels);
    if (w.expected_version != 0) s.Bind(9, w.expected_version);
    s.Run();
    if (db_.Changes() != 1) continue;
    r.version = w.expected_version + 1;
    (*applied)[i] = true;
    if (w.history) {
      const AlertHistoryRow& h = *w.history;
      history.Bind(1, r.rule).Bind(2, r.host).Bind(3, h.from).Bind(4, h.to).Bind(5, h.at_ms);
      BindOptReal(history, 6, h.value);
      history.Bind(7, h.why).Bind(8, h.transition).Run();
    }
    for (const OutboxRow& n : w.notes) note.Bind(1, n.key).Bind(2, n.body).Bind(3, n.created_ms).Run();
  }
  tx.Commit();
}

int64_t AlertStore::DropStatesExcept(const std::vector<std::string>& keep) {
  Statement rules(db_, "SELECT DISTINCT rule FROM alert_states");
  std::vector<std::string> gone;
  while (rules.Step()) {
    std::string r = rules.Text(0);
    if (std::find(keep.begin(), keep.end(), r) == keep.end()) gone.push_back(std::move(r));
  }
  rules.Reset();
  int64_t removed = 0;
  for (const std::string& r : gone) {
    Statement del(db_, "DELETE FROM alert_states WHERE rule = ?1");
    del.Bind(1, r).Run();
    removed += db_.Changes();
  }
  return removed;
}

std::vector<OutboxRow> AlertStore::Outbox(int64_t limit) {
  Statement s(db_, "SELECT key, body, created_ms FROM alert_outbox ORDER BY created_ms, key LIMIT ?1", kReused);
  s.Bind(1, limit);
  std::vector<OutboxRow> out;
  while (s.Step()) out.push_back({s.Text(0), s.Text(1), s.Int(2)});
  return out;
}

void AlertStore::DeleteOutbox(const std::string& key) {
  Statement s(db_, "DELETE FROM alert_outbox WHERE key = ?1", kReused);
  s.Bind(1, key).Run();
}

}  // namespace argus::store
