// The alert side's tables (issue #13): the rules (JSON with their source and version),
// each (rule, host)'s state, the history of its transitions, and the outbox of
// notifications. The API and the evaluator read and write them only through these.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "store/database.h"

namespace argus::store {

struct StoredRule {
  std::string name, body, source;  // source: "api", or "file" (read-only through the API)
  int64_t version = 0, updated_ms = 0;
};

// One (rule, host)'s state. `version` counts the row's writes (compare-and-set);
// `transitions` counts its changes of state and numbers its notifications.
struct AlertStateRow {
  std::string rule, host, state;
  int64_t since_ms = 0;  // in this state since
  std::optional<double> value;
  int64_t transitions = 0, version = 0, evaluated_ms = 0;
  std::string memo = "{}";  // JSON: what the evaluator keeps between rounds
  std::string severity;     // the rule's, when the row was written
  std::string labels = "{}";  // JSON: the rule's labels, when the row was written
};

// The alarms view's filters; unset ones do not filter. `states` empty: every state.
struct AlarmQuery {
  std::vector<std::string> states;
  std::optional<std::string> severity, host, rule;
  std::optional<std::pair<std::string, std::string>> label;
  std::string after_rule, after_host;  // the page starts after this pair
  int64_t limit = 100;
};

struct HistoryQuery {
  std::optional<std::string> rule, host;
  std::optional<int64_t> since, until;  // at_ms in [since, until)
  std::optional<int64_t> before_seq;    // the page: rows older than this
  int64_t limit = 100;
};

struct SilenceRow {
  int64_t id = 0;
  std::string matchers;  // JSON object: label -> value
  int64_t starts_ms = 0, ends_ms = 0, created_ms = 0;
  std::string created_by, comment;
};

struct AlertHistoryRow {
  int64_t seq = 0;
  std::string rule, host, from, to;
  int64_t at_ms = 0;
  std::optional<double> value;
  std::string why;
  int64_t transition = 0;
};

// A notification waiting to go to the Redis stream, by its stable key.
struct OutboxRow {
  std::string key, body;
  int64_t created_ms = 0;
};

// One state write of a round: the row as it should be, the version it must still have
// (0: it must not exist yet), and what goes with it in the same transaction.
struct StateWrite {
  AlertStateRow row;
  int64_t expected_version = 0;
  std::optional<AlertHistoryRow> history;
  std::vector<OutboxRow> notes;
};

class AlertStore {
 public:
  explicit AlertStore(Database& db) : db_(db) {}
  // In name order, after `after`, at most `limit`.
  std::vector<StoredRule> Rules(const std::string& after, int64_t limit);
  std::optional<StoredRule> Rule(const std::string& name);
  // Adds a rule; false (and nothing written) when one of that name exists.
  bool Insert(const std::string& name, const std::string& body, const std::string& source, int64_t now_ms);
  // Replaces a rule, or adds it; returns its new version.
  int64_t Put(const std::string& name, const std::string& body, const std::string& source, int64_t now_ms);
  // False when there was no such rule.
  bool Delete(const std::string& name);

  // The states of one rule, in host order.
  std::vector<AlertStateRow> States(const std::string& rule);
  // States by (rule, host), filtered (the dash's alarms view).
  std::vector<AlertStateRow> Alarms(const AlarmQuery& q);
  // How many pairs are in each (state, severity), of one host or of all.
  std::map<std::pair<std::string, std::string>, int64_t> Counts(const std::optional<std::string>& host);
  // Transitions newest first.
  std::vector<AlertHistoryRow> History(const HistoryQuery& q);
  // Silences in id order after `after_id`; with `active_at`, only those active then.
  std::vector<SilenceRow> Silences(std::optional<int64_t> active_at, int64_t after_id, int64_t limit);
  int64_t AddSilence(const SilenceRow& silence);  // returns its id
  // Ends a silence at `now_ms`; false when there is none of that id or it had ended.
  bool ExpireSilence(int64_t id, int64_t now_ms);
  // Writes a round's states in one transaction. A write whose row has moved on (another
  // evaluator wrote it) is skipped with its history and notes; `applied[i]` says which
  // went in, and each applied row's version is the new one.
  void WriteStates(std::vector<StateWrite>& writes, std::vector<bool>* applied);
  // Removes the states of rules that are gone (not in `keep`); returns how many.
  int64_t DropStatesExcept(const std::vector<std::string>& keep);
  // The oldest notifications not yet on the stream, at most `limit`.
  std::vector<OutboxRow> Outbox(int64_t limit);
  void DeleteOutbox(const std::string& key);

 private:
  Database& db_;
};

}  // namespace argus::store
