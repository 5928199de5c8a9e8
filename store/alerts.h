// The alert side's tables (issue #13): so far the rules, as JSON with their source and
// version. The API and the evaluator read and write them only through these functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/database.h"

namespace argus::store {

struct StoredRule {
  std::string name, body, source;  // source: "api", or "file" (read-only through the API)
  int64_t version = 0, updated_ms = 0;
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

 private:
  Database& db_;
};

}  // namespace argus::store
