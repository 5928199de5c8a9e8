#include "store/alerts.h"

#include <algorithm>

namespace argus::store {
namespace {

StoredRule ReadRule(const Statement& s) { return {s.Text(0), s.Text(1), s.Text(2), s.Int(3), s.Int(4)}; }

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
  Statement s(db_,
              "SELECT rule, host, state, since_ms, value, transitions, version, evaluated_ms, memo "
              "FROM alert_states WHERE rule = ?1 ORDER BY host",
              kReused);
  s.Bind(1, rule);
  std::vector<AlertStateRow> out;
  while (s.Step()) {
    out.push_back({s.Text(0), s.Text(1), s.Text(2), s.Int(3), s.OptReal(4), s.Int(5), s.Int(6), s.Int(7), s.Text(8)});
  }
  return out;
}

void AlertStore::WriteStates(std::vector<StateWrite>& writes, std::vector<bool>* applied) {
  applied->assign(writes.size(), false);
  if (writes.empty()) return;
  Transaction tx(db_);
  Statement insert(db_,
                   "INSERT INTO alert_states(rule, host, state, since_ms, value, transitions, version, evaluated_ms, memo) "
                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?8) ON CONFLICT(rule, host) DO NOTHING",
                   kReused);
  Statement update(db_,
                   "UPDATE alert_states SET state = ?3, since_ms = ?4, value = ?5, transitions = ?6, "
                   "version = version + 1, evaluated_ms = ?7, memo = ?8 WHERE rule = ?1 AND host = ?2 AND version = ?9",
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
    s.Bind(6, r.transitions).Bind(7, r.evaluated_ms).Bind(8, r.memo);
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
