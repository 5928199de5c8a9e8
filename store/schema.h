// The store's schema as a list of forward migrations. Each migration runs once, in a
// transaction, and bumps the version in schema_version.
#pragma once

namespace argus::store {

class Database;

// Current schema version this build writes.
int LatestSchemaVersion();

// Brings `db` to LatestSchemaVersion(). Returns the version found before migrating.
// Throws std::runtime_error when the file's version is newer than this build knows.
int Migrate(Database& db);
// Brings `db` to `version` only: for tests that need a file as an older build left it.
int MigrateTo(Database& db, int version);

}  // namespace argus::store
