#include <doctest/doctest.h>

#include "base/clock.h"
#include "consumer/aggregator.h"
#include "store/database.h"
#include "store/retention.h"
#include "store/writer.h"

using namespace argus;

namespace {

constexpr int64_t kDay = 24 * 3600 * 1000LL;
constexpr int64_t kHour = 3600 * 1000LL;
const int64_t kNow = 1800000000000;  // a fixed "now"

proto::Event At(const std::string& id, int64_t ts) {
  proto::Event e;
  e.id = id;
  e.type = "t";
  e.host = "h";
  e.ts = ts - 5 * kDay;  // agent clock far off: retention goes by the proxy's receive time
  e.recv_ts = ts;
  e.content = R"({"v":1})";
  return e;
}

void Cell(store::Database& db, int64_t minute, int64_t count, double sum, double min, double max, double last,
          int64_t last_ts) {
  store::Statement s(db,
                     "INSERT INTO rollups_1m(type, field, host, minute, count, sum, min, max, last, last_ts) "
                     "VALUES ('t', 'v', 'h', ?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  s.Bind(1, minute).Bind(2, count).Bind(3, sum).Bind(4, min).Bind(5, max).Bind(6, last).Bind(7, last_ts).Run();
}

// The generic aggregator over `db` (its tables made), and its expiry run as the
// consumer runs it: a step per transaction until a step changes nothing.
struct Rollups {
  explicit Rollups(store::Database& db)
      : db(db), generic(consumer::BuildAggregator("generic", {db, settings, [](const proto::Event&) {}, clock})) {}
  int64_t Expire(int64_t raw_days = 7, int64_t hourly_days = 90) {
    int64_t total = 0;
    for (int64_t n = -1; n != 0; total += n) {
      store::Transaction tx(db);
      n = generic->Expire(kNow - raw_days * kDay, kNow - hourly_days * kDay);
      tx.Commit();
    }
    return total;
  }
  store::Database& db;
  const nlohmann::json settings = nlohmann::json::object();
  base::ManualClock clock{kNow};
  std::unique_ptr<consumer::Aggregator> generic;
};

int64_t Count(store::Database& db, const std::string& sql) {
  store::Statement s(db, sql);
  return s.Step() ? s.Int(0) : -1;
}

}  // namespace

TEST_SUITE("store::retention and the generic aggregator's expiry") {
  TEST_CASE("raw events past their days are deleted in small steps, newer ones stay") {
    auto db = store::Database::Open(":memory:");
    store::EventWriter w(*db);
    std::vector<proto::Event> events;
    for (int i = 0; i < 35; ++i) events.push_back(At("old" + std::to_string(i), kNow - 8 * kDay + i));
    for (int i = 0; i < 5; ++i) events.push_back(At("new" + std::to_string(i), kNow - kDay));
    w.Write(events);
    store::RetentionOptions o;
    o.rows_per_step = 10;
    auto r = store::RunRetention(*db, o, kNow);
    CHECK(r.events_deleted == 35);
    CHECK(r.steps >= 4);
    CHECK(Count(*db, "SELECT count(*) FROM events") == 5);
    CHECK(Count(*db, "SELECT count(*) FROM events WHERE id LIKE 'new%'") == 5);
  }

  TEST_CASE("old one-minute cells fold into one-hour cells exactly once, late cells add on") {
    auto db = store::Database::Open(":memory:");
    Rollups rollups(*db);
    const int64_t old_hour = kNow - 10 * kDay;
    const int64_t h = old_hour - old_hour % kHour;
    Cell(*db, h, 2, 10, 4, 6, 6, h + 10);
    Cell(*db, h + 60000, 3, 3, 0.5, 2, 0.5, h + 60010);
    Cell(*db, h + 120000, 1, 7, 7, 7, 7, h + 125000);  // holds the latest sample of the hour
    const int64_t recent = kNow - kHour;
    Cell(*db, recent - recent % 60000, 1, 1, 1, 1, 1, recent);
    CHECK(rollups.Expire() == 3);  // three minute cells folded
    store::Statement hr(*db, "SELECT hour, count, sum, min, max, last, last_ts FROM rollups_1h");
    REQUIRE(hr.Step());
    CHECK(hr.Int(0) == h);
    CHECK(hr.Int(1) == 6);
    CHECK(hr.Real(2) == 20);
    CHECK(hr.Real(3) == 0.5);
    CHECK(hr.Real(4) == 7);
    CHECK(hr.Real(5) == 7);
    CHECK(hr.Int(6) == h + 125000);
    CHECK_FALSE(hr.Step());
    hr.Reset();
    CHECK(Count(*db, "SELECT count(*) FROM rollups_1m") == 1);  // the recent cell stays

    // Again: nothing changes.
    CHECK(rollups.Expire() == 0);
    CHECK(Count(*db, "SELECT count FROM rollups_1h") == 6);

    // A late event for that old hour makes a new minute cell; it is added, not lost.
    Cell(*db, h + 180000, 4, 40, 10, 10, 10, h + 180000);
    rollups.Expire();
    CHECK(Count(*db, "SELECT count FROM rollups_1h") == 10);
    CHECK(Count(*db, "SELECT CAST(last AS INTEGER) FROM rollups_1h") == 10);  // the newest sample now
  }

  TEST_CASE("one-hour cells past their days are deleted") {
    auto db = store::Database::Open(":memory:");
    Rollups rollups(*db);
    db->Exec("INSERT INTO rollups_1h VALUES ('t','v','h'," + std::to_string(kNow - 91 * kDay) + ",1,1,1,1,1,0)");
    db->Exec("INSERT INTO rollups_1h VALUES ('t','v','h'," + std::to_string(kNow - 89 * kDay) + ",1,1,1,1,1,0)");
    CHECK(rollups.Expire() == 1);
    CHECK(Count(*db, "SELECT count(*) FROM rollups_1h") == 1);
  }
}
