#include "store/alerts.h"

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

}  // namespace argus::store
