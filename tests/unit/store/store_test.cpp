#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include <sqlite3.h>

#include "base/clock.h"
#include "consumer/aggregator.h"
#include "store/database.h"
#include "store/reader.h"
#include "store/schema.h"
#include "store/writer.h"
#include "tests/support/support.h"

using namespace argus;
using argus::proto::Event;

namespace {

Event Ev(std::string id, std::string type, std::string host, int64_t ts, std::string content = R"({"v":1})") {
  Event e;
  e.id = std::move(id);
  e.type = std::move(type);
  e.host = std::move(host);
  e.ts = ts;
  e.recv_ts = ts + 1;
  e.addr = "127.0.0.1";
  e.content = std::move(content);
  return e;
}

}  // namespace

TEST_SUITE("store") {
  TEST_CASE("a fresh database is at the latest schema version") {
    auto db = store::Database::Open(":memory:");
    CHECK(db->schema_version() == store::LatestSchemaVersion());
    store::Statement s(*db, "SELECT version FROM schema_version");
    REQUIRE(s.Step());
    CHECK(s.Int(0) == store::LatestSchemaVersion());
  }

  TEST_CASE("an older database is upgraded in place, keeping its rows") {
    testing::TempDir dir;
    std::string path = dir / "old.db";
    {
      // The file a version-1 build leaves: events and registries, nothing later.
      auto db = store::Database::Open(path, true, 1);
      CHECK(db->schema_version() == 1);
      CHECK_THROWS(store::Statement(*db, "SELECT count(*) FROM rollups_1m"));
      store::EventWriter(*db).Write({Ev("kept", "t", "h", 1)});
    }
    auto db = store::Database::Open(path);
    CHECK(db->schema_version() == store::LatestSchemaVersion());
    store::Statement version(*db, "SELECT version FROM schema_version");
    REQUIRE(version.Step());
    CHECK(version.Int(0) == store::LatestSchemaVersion());
    // The store's own tables only: the aggregators' come from the aggregators.
    CHECK(store::TableExists(*db, "events"));
    CHECK_FALSE(store::TableExists(*db, "rollups_1m"));
    CHECK_FALSE(store::TableExists(*db, "host_status"));
    store::EventQuery q;
    auto rows = store::Reader(*db).Events(q);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].id == "kept");
  }

  TEST_CASE("a file from before aggregators owned their tables: theirs are adopted with their rows, an empty demo table dropped") {
    testing::TempDir dir;
    std::string path = dir / "old.db";
    {
      // As builds up to schema 7 left a file: the aggregators' tables made by the store.
      auto db = store::Database::Open(path, true, 7);
      db->Exec("CREATE TABLE host_status(host TEXT PRIMARY KEY, state TEXT NOT NULL, state_since INTEGER NOT NULL, "
               "last_seen INTEGER NOT NULL, timeout_ms INTEGER NOT NULL, agent_version TEXT NOT NULL, "
               "last_heartbeat INTEGER, heartbeat TEXT) WITHOUT ROWID");
      db->Exec("INSERT INTO host_status VALUES ('web-1', 'online', 1, 1, 90000, '0.9', NULL, NULL)");
      db->Exec("CREATE TABLE demo_counts(type TEXT NOT NULL, minute INTEGER NOT NULL, events INTEGER NOT NULL, "
               "PRIMARY KEY (type, minute)) WITHOUT ROWID");
    }
    auto db = store::Database::Open(path);
    CHECK(db->schema_version() == store::LatestSchemaVersion());
    CHECK_FALSE(store::TableExists(*db, "demo_counts"));  // empty: dropped
    base::ManualClock clock;
    const nlohmann::json none = nlohmann::json::object();
    auto hosts = consumer::BuildAggregator("hosts", {*db, none, [](const proto::Event&) {}, clock});
    store::Statement s(*db, "SELECT host, agent_version FROM host_status");
    REQUIRE(s.Step());
    CHECK(s.Text(0) == "web-1");
    CHECK(s.Text(1) == "0.9");
    s.Reset();
    store::Statement v(*db, "SELECT version FROM component_schema WHERE name = 'aggregator.hosts'");
    REQUIRE(v.Step());
    CHECK(v.Int(0) == 1);
    // A demo table with rows is kept, for its owner to drop.
    std::string kept = dir / "kept.db";
    {
      auto old = store::Database::Open(kept, true, 7);
      old->Exec("CREATE TABLE demo_counts(type TEXT, minute INTEGER, events INTEGER)");
      old->Exec("INSERT INTO demo_counts VALUES ('t', 0, 3)");
    }
    CHECK(store::TableExists(*store::Database::Open(kept), "demo_counts"));
  }

  TEST_CASE("a database newer than this build is refused with a clear message") {
    testing::TempDir dir;
    std::string path = dir / "a.db";
    { auto db = store::Database::Open(path); db->Exec("UPDATE schema_version SET version = 999"); }
    try {
      store::Database::Open(path);
      FAIL("expected a refusal");
    } catch (const std::runtime_error& e) {
      CHECK(std::string(e.what()).find("has schema version 999, newer than this build supports") != std::string::npos);
    }
  }

  TEST_CASE("a read-only connection cannot write, and refuses a file it cannot read as it is") {
    testing::TempDir dir;
    const std::string path = dir / "a.db";
    try {
      store::Database::OpenReadOnly(path);
      FAIL("expected a refusal");
    } catch (const store::StoreError& e) {
      CHECK((e.code() & 0xff) == SQLITE_CANTOPEN);
      CHECK(std::string(e.what()).find("the consumers create it when they first start") != std::string::npos);
    }
    CHECK_FALSE(std::filesystem::exists(path));
    {
      auto writer = store::Database::Open(path);
      store::EventWriter(*writer).Write({Ev("t", "a", "h", 1)});
      auto reader = store::Database::OpenReadOnly(path);
      CHECK(store::Reader(*reader).Types().size() == 1);
      try {
        reader->Exec("DELETE FROM events");
        FAIL("a read-only connection wrote");
      } catch (const store::StoreError& e) {
        CHECK((e.code() & 0xff) == SQLITE_READONLY);
      }
      CHECK(store::Reader(*writer).Types().at(0).events == 1);
    }
    { store::Database::Open(path)->Exec("UPDATE schema_version SET version = 7"); }
    try {
      store::Database::OpenReadOnly(path);
      FAIL("expected a refusal");
    } catch (const store::StoreError& e) {
      CHECK(std::string(e.what()).find("has schema version 7, this build reads " +
                                       std::to_string(store::LatestSchemaVersion()) +
                                       ": start this version's consumer") != std::string::npos);
    }
  }

  TEST_CASE("reused statements: two alive at once are two, and one comes back reset and unbound") {
    auto db = store::Database::Open(":memory:");
    store::EventWriter(*db).Write({Ev("a", "t", "h", 1), Ev("b", "t", "h", 2), Ev("c", "t", "h", 3)});
    const char* sql = "SELECT id FROM events WHERE ts >= coalesce(?1, 0) ORDER BY ts";
    {
      store::Statement outer(*db, sql, store::kReused);
      REQUIRE(outer.Step());
      CHECK(outer.Text(0) == "a");
      {
        store::Statement inner(*db, sql, store::kReused);  // outer is busy: a second one
        inner.Bind(1, int64_t{3});
        REQUIRE(inner.Step());
        CHECK(inner.Text(0) == "c");
      }  // goes back mid-iteration, bound
      REQUIRE(outer.Step());
      CHECK(outer.Text(0) == "b");
    }
    store::Statement again(*db, sql, store::kReused);
    REQUIRE(again.Step());
    CHECK(again.Text(0) == "a");  // from the start, with ?1 unbound
  }

  TEST_CASE("several processes opening a new file at once all succeed") {
    // Regression: the dash and a consumer starting together saw "database is locked".
    // Processes, not threads: SQLite's file locks behave differently within one process.
    for (int round = 0; round < 40; ++round) {
      testing::TempDir dir;
      std::string path = dir / "race.db";
      std::vector<pid_t> children;
      int gate[2];
      REQUIRE(::pipe(gate) == 0);
      for (int i = 0; i < 6; ++i) {
        pid_t pid = ::fork();
        if (pid == 0) {
          // Wait at the gate so every child opens at the same moment.
          ::close(gate[1]);
          char c;
          (void)::read(gate[0], &c, 1);
          int rc = 0;
          try {
            auto db = store::Database::Open(path);
            store::EventWriter(*db).Write({Ev("id" + std::to_string(i), "t", "h", 1)});
          } catch (const std::exception& e) {
            std::fprintf(stderr, "child %d: %s\n", i, e.what());
            rc = 1;
          }
          std::_Exit(rc);
        }
        children.push_back(pid);
      }
      ::close(gate[0]);
      ::close(gate[1]);  // opens the gate
      int failures = 0;
      for (pid_t pid : children) {
        int status = 0;
        ::waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failures;
      }
      CHECK(failures == 0);
      auto db = store::Database::Open(path);
      CHECK(store::Reader(*db).Types().at(0).events == 6);
    }
  }

  TEST_CASE("the same batch written twice is stored once and counted once") {
    auto db = store::Database::Open(":memory:");
    store::EventWriter w(*db);
    std::vector<Event> batch = {Ev("a", "t", "h1", 10), Ev("b", "t", "h2", 20), Ev("a", "t", "h1", 10)};
    auto r1 = w.Write(batch);
    CHECK(r1.stored == 2);
    CHECK(r1.duplicates == 1);
    auto r2 = w.Write(batch);
    CHECK(r2.stored == 0);
    CHECK(r2.duplicates == 3);
    store::Reader reader(*db);
    auto hosts = reader.Hosts();
    REQUIRE(hosts.size() == 2);
    CHECK(hosts[0].name == "h1");
    CHECK(hosts[0].events == 1);
    auto types = reader.Types();
    REQUIRE(types.size() == 1);
    CHECK(types[0].events == 2);
    CHECK(types[0].first_seen == 11);
    CHECK(types[0].last_seen == 21);
  }

  TEST_CASE("ids are unique per host: one host's ids cannot hide another's events") {
    auto db = store::Database::Open(":memory:");
    store::EventWriter w(*db);
    auto r = w.Write({Ev("hb-1", "argus.agent", "squatter", 10), Ev("hb-1", "argus.agent", "victim", 20),
                      Ev("hb-1", "argus.agent", "victim", 30)});
    CHECK(r.stored == 2);
    CHECK(r.duplicates == 1);
  }

  TEST_CASE("commits are synced (synchronous=FULL): acknowledged to Redis means on disk") {
    testing::TempDir dir;
    auto db = store::Database::Open(dir / "sync.db");
    store::Statement q(*db, "PRAGMA synchronous");
    REQUIRE(q.Step());
    CHECK(q.Int(0) == 2);  // FULL
  }

  TEST_CASE("a version 5 file migrates to per-host ids with its events kept") {
    testing::TempDir dir;
    const std::string path = dir / "v5.db";
    {
      auto db = store::Database::Open(path, true, 5);
      store::EventWriter(*db).Write({Ev("x", "t", "h1", 10), Ev("y", "t", "h2", 20)});
    }
    auto db = store::Database::Open(path);
    CHECK(db->schema_version() == store::LatestSchemaVersion());
    auto r = store::EventWriter(*db).Write({Ev("x", "t", "h2", 30), Ev("x", "t", "h1", 40)});
    CHECK(r.stored == 1);  // x of h1 was kept through the migration; x of h2 is new
    store::Statement count(*db, "SELECT count(*) FROM events");
    REQUIRE(count.Step());
    CHECK(count.Int(0) == 3);
  }

  TEST_CASE("every event query and its cursor is a range of an index, with no sort") {
    auto db = store::Database::Open(":memory:");
    // The SQL Reader::Events builds, for each filter: its plan must search an index and
    // never sort (a sort reads every matching row, however small the page).
    const std::string base = "SELECT id FROM events WHERE 1";
    for (const std::string filter : {"", " AND type = ?1", " AND host = ?2", " AND type = ?1 AND host = ?2",
                                     " AND type = ?1 AND ts >= ?3 AND ts < ?4"}) {
      for (const std::string cursor : {"", " AND (ts, seq) < (?6, ?7)"}) {
        store::Statement plan(*db, "EXPLAIN QUERY PLAN " + base + filter + cursor + " ORDER BY ts DESC, seq DESC LIMIT ?5");
        std::string text;
        while (plan.Step()) text += plan.Text(3) + "; ";
        INFO(filter << cursor << " -> " << text);
        CHECK(text.find("USING INDEX") != std::string::npos);
        CHECK(text.find("TEMP B-TREE") == std::string::npos);
        if (!cursor.empty()) CHECK(text.find("ts<?") != std::string::npos);  // the cursor bounds the search
      }
    }
  }

  TEST_CASE("a statement past its deadline is stopped with SQLITE_INTERRUPT") {
    auto db = store::Database::Open(":memory:");
    db->SetDeadline(std::chrono::steady_clock::now() + std::chrono::milliseconds(50));
    store::Statement forever(*db, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c");
    bool interrupted = false;
    try {
      forever.Step();
    } catch (const store::StoreError& e) {
      interrupted = e.code() == SQLITE_INTERRUPT;
    }
    CHECK(interrupted);
    db->ClearDeadline();
    store::Statement fine(*db, "SELECT 1");
    CHECK(fine.Step());
  }

  TEST_CASE("event queries filter, order newest first and page with a cursor") {
    auto db = store::Database::Open(":memory:");
    store::EventWriter w(*db);
    std::vector<Event> batch;
    for (int i = 0; i < 10; ++i) batch.push_back(Ev("e" + std::to_string(i), i % 2 ? "odd" : "even", "h", 100 + i / 2));
    w.Write(batch);
    store::Reader r(*db);
    store::EventQuery q;
    q.limit = 4;
    auto page1 = r.Events(q);
    REQUIRE(page1.size() == 4);
    CHECK(page1[0].id == "e9");
    CHECK(page1[1].id == "e8");
    q.after = store::EventCursor{page1.back().ts, page1.back().seq};
    auto page2 = r.Events(q);
    REQUIRE(page2.size() == 4);
    CHECK(page2[0].id == "e5");
    q.after = store::EventCursor{page2.back().ts, page2.back().seq};
    auto page3 = r.Events(q);
    CHECK(page3.size() == 2);
    CHECK(page3.back().id == "e0");

    store::EventQuery odd;
    odd.type = "odd";
    odd.since = 101;
    odd.until = 104;
    auto rows = r.Events(odd);
    REQUIRE(rows.size() == 3);
    for (const auto& row : rows) {
      CHECK(row.type == "odd");
      CHECK(row.ts >= 101);
      CHECK(row.ts < 104);
    }
    CHECK(rows[0].content == nlohmann::json{{"v", 1}});
  }

  TEST_CASE("parameters are bound, never spliced into SQL") {
    auto db = store::Database::Open(":memory:");
    store::EventWriter w(*db);
    w.Write({Ev("x'; DROP TABLE events; --", "t", "h'--", 1)});
    store::Reader r(*db);
    store::EventQuery q;
    q.host = "h'--";
    auto rows = r.Events(q);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].id == "x'; DROP TABLE events; --");
  }
}
