// The store's schema as a list of forward migrations. Each migration runs once, in a
// transaction, and bumps the version in schema_version.
#pragma once

#include <string>
#include <vector>

namespace argus::store {

class Database;

// Current schema version this build writes.
int LatestSchemaVersion();

// Brings `db` to LatestSchemaVersion(). Returns the version found before migrating.
// Throws std::runtime_error when the file's version is newer than this build knows.
int Migrate(Database& db);
// Brings `db` to `version` only: for tests that need a file as an older build left it.
int MigrateTo(Database& db, int version);

// A component's own tables (an aggregator's): `migrations` applied in order, once per
// database, tracked under `name` in component_schema. Append only, like the store's.
// Safe from several processes: the steps run in one write transaction, after the
// version is read again inside it. Throws when the file has a newer version.
void MigrateComponent(Database& db, const std::string& name, const std::vector<std::string>& migrations);

// Whether `table` exists: a component's tables are there only once it ran.
bool TableExists(Database& db, const std::string& table);

}  // namespace argus::store
