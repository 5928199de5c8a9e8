// The consumer against a real redis-server and a real SQLite file.
#include <doctest/doctest.h>

#include <array>

#include <hiredis/hiredis.h>
#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <random>
#include <thread>

#include <map>
#include <tuple>

#include "base/clock.h"
#include "consumer/consumer.h"
#include "queue/redis.h"
#include "queue/streams.h"
#include "store/reader.h"
#include "tests/support/support.h"

using namespace argus;
using namespace std::chrono_literals;

namespace argus::consumer {
AggregatorSpec DemoAggregatorSpec();  // docs/examples/demo_aggregator.cpp
}  // namespace argus::consumer

namespace {

proto::Event Ev(const std::string& type, const std::string& id, const std::string& host = "h1") {
  proto::Event e;
  e.type = type;
  e.id = id;
  e.host = host;
  e.ts = 1000;
  e.recv_ts = 1001;
  e.addr = "127.0.0.1";
  e.content = "{\"id\":" + proto::JsonString(id) + "}";
  return e;
}

consumer::ConsumerOptions Options(const testing::RedisServer& redis, const std::string& db,
                                  const std::string& type = "all", const std::string& name = "c1") {
  consumer::ConsumerOptions o;
  o.type = type;
  o.redis = {"127.0.0.1", redis.port()};
  o.db_path = db;
  o.name = name;
  o.types_refresh = 0ms;
  o.claim_every = 0ms;
  o.publish_every = 0ms;
  o.housekeeping_every = std::chrono::hours(1);  // these tests use old timestamps
  return o;
}

// Every id that was sent is stored exactly once, and nothing else is. Counted per id
// from what was sent: with UNIQUE(host, id), "count(DISTINCT id) == count(*)" holds
// whatever a consumer does, while a lost event, an event stored under a second host
// or one that was never sent each change these counts.
void CheckStoredOnce(const std::string& db_path, const std::vector<std::string>& sent_ids) {
  auto db = store::Database::Open(db_path);
  std::map<std::string, int64_t> rows;
  store::Statement s(*db, "SELECT id, count(*) FROM events GROUP BY id");
  while (s.Step()) rows[s.Text(0)] = s.Int(1);
  size_t missing = 0, doubled = 0;
  for (const auto& id : sent_ids) {
    auto it = rows.find(id);
    if (it == rows.end()) {
      ++missing;
    } else {
      if (it->second != 1) ++doubled;
      rows.erase(it);
    }
  }
  CHECK_MESSAGE(missing == 0, missing << " of " << sent_ids.size() << " sent ids are not stored");
  CHECK_MESSAGE(doubled == 0, doubled << " sent ids are stored more than once");
  CHECK_MESSAGE(rows.empty(), rows.size() << " stored ids were never sent, e.g. " << (rows.empty() ? "" : rows.begin()->first));
}

std::vector<std::string> IdsOf(const std::vector<proto::Event>& events) {
  std::vector<std::string> ids;
  for (const auto& e : events) ids.push_back(e.id);
  return ids;
}

size_t DrainAll(consumer::Consumer& c) {
  size_t total = 0;
  for (int i = 0; i < 20; ++i) total += c.RunOnce();
  return total;
}

// Every rollup cell equals a recount from the raw rows; returns the cells checked.
size_t CheckRollupsAgainstRaw(const std::string& db_path, const std::string& type) {
  struct Agg { int64_t count = 0; double sum = 0, min = 1e300, max = -1e300, last = 0; int64_t last_ts = -1; };
  std::map<std::tuple<std::string, std::string, int64_t>, Agg> expected;  // field, host, minute
  auto db = store::Database::Open(db_path);
  store::Statement raw(*db, "SELECT host, ts, content FROM events WHERE type = ?1 ORDER BY seq");
  raw.Bind(1, type);
  while (raw.Step()) {
    std::string host = raw.Text(0);
    int64_t ts = raw.Int(1);
    proto::ForEachNumber(raw.Text(2), 256, [&](const std::string& field, double v) {
      Agg& a = expected[{field, host, ts - ts % 60000}];
      ++a.count;
      a.sum += v;
      a.min = std::min(a.min, v);
      a.max = std::max(a.max, v);
      if (ts >= a.last_ts) {
        a.last = v;
        a.last_ts = ts;
      }
    });
  }
  store::Statement rolled(*db, "SELECT field, host, minute, count, sum, min, max, last FROM rollups_1m WHERE type = ?1");
  rolled.Bind(1, type);
  size_t rows = 0;
  while (rolled.Step()) {
    ++rows;
    auto it = expected.find({rolled.Text(0), rolled.Text(1), rolled.Int(2)});
    REQUIRE(it != expected.end());
    CHECK(rolled.Int(3) == it->second.count);
    CHECK(rolled.Real(4) == doctest::Approx(it->second.sum));
    CHECK(rolled.Real(5) == it->second.min);
    CHECK(rolled.Real(6) == it->second.max);
    CHECK(rolled.Real(7) == it->second.last);
  }
  CHECK(rows == expected.size());
  return rows;
}

std::vector<store::EventRow> AllEvents(const std::string& db_path) {
  auto db = store::Database::Open(db_path);
  store::EventQuery q;
  q.limit = 1000;
  return store::Reader(*db).Events(q);
}

long long Pending(queue::Redis& r, const std::string& type, int shards = 4) {
  long long total = 0;
  for (int s = 0; s < shards; ++s) {
    auto reply = r.Run({"XPENDING", queue::StreamKey(type, s), queue::GroupName(type)});
    if (reply.ok() && reply.reply && reply.reply->elements > 0) {
      total += reply.reply->element[0]->integer;
    }
  }
  return total;
}

}  // namespace

TEST_SUITE("queue trimming") {
  TEST_CASE("only entries every consumer acknowledged are trimmed") {
    testing::RedisServer redis;
    queue::Redis r({"127.0.0.1", redis.port()});
    std::vector<proto::Event> batch;
    for (int i = 0; i < 10; ++i) batch.push_back(Ev("tr", "e" + std::to_string(i), "one-host"));
    REQUIRE_OK(queue::AppendEvents(r, batch, 1));
    auto trim = [&r] {
      int64_t removed = -1;
      REQUIRE_OK(queue::TrimAcknowledged(r, "tr", 1, &removed));
      return removed;
    };
    CHECK(trim() == 0);  // no group yet: nothing is known done
    CHECK(r.Run({"XLEN", queue::StreamKey("tr", 0)}).integer() == 10);

    queue::GroupReader reader("tr", 1, "c");
    REQUIRE_OK(reader.EnsureGroups(r));
    std::vector<queue::Entry> got;
    REQUIRE_OK(reader.Read(r, 6, &got));  // own pending: none
    REQUIRE_OK(reader.Read(r, 6, &got));  // delivers e0..e5
    REQUIRE(got.size() == 6);
    REQUIRE_OK(reader.Ack(r, {got.begin(), got.begin() + 4}));  // e4, e5 stay pending
    CHECK(trim() == 4);
    CHECK(r.Run({"XLEN", queue::StreamKey("tr", 0)}).integer() == 6);
    CHECK(Pending(r, "tr", 1) == 2);

    REQUIRE_OK(reader.Ack(r, {got.begin() + 4, got.end()}));
    std::vector<queue::Entry> rest;
    REQUIRE_OK(reader.Read(r, 100, &rest));
    REQUIRE(rest.size() == 4);
    REQUIRE_OK(reader.Ack(r, rest));
    // All acknowledged: everything but the last delivered entry goes.
    CHECK(trim() == 5);
    CHECK(r.Run({"XLEN", queue::StreamKey("tr", 0)}).integer() == 1);
    // New entries after the trim are untouched until delivered and acknowledged.
    REQUIRE_OK(queue::AppendEvents(r, {Ev("tr", "late", "one-host")}, 1));
    CHECK(trim() == 0);
    CHECK(r.Run({"XLEN", queue::StreamKey("tr", 0)}).integer() == 2);
  }
}

TEST_SUITE("consumer") {
  TEST_CASE("the same event appended twice is stored once, and everything is acknowledged") {
    testing::RedisServer redis;
    testing::TempDir dir;
    queue::Redis r({"127.0.0.1", redis.port()});
    std::vector<proto::Event> batch = {Ev("t", "a"), Ev("t", "b", "h2")};
    REQUIRE_OK(queue::AppendEvents(r, batch, 4));
    REQUIRE_OK(queue::AppendEvents(r, batch, 4));  // a proxy retry
    consumer::Consumer c(Options(redis, dir / "a.db"));
    CHECK(DrainAll(c) == 4);
    CHECK(c.stats().stored == 2);
    CHECK(c.stats().duplicates == 2);
    CHECK(AllEvents(dir / "a.db").size() == 2);
    CHECK(Pending(r, "t") == 0);
    // Its counters are published where the dash can read them.
    auto published = r.Run({"HGETALL", "argus:consumer:c1"});
    REQUIRE(published.ok());
    std::map<std::string, std::string> h;
    auto flat = published.strings();
    for (size_t i = 0; i + 1 < flat.size(); i += 2) h[flat[i]] = flat[i + 1];
    CHECK(h["stored"] == "2");
    CHECK(h["duplicates"] == "2");
    CHECK(h["lag"] == "0");
    CHECK(h["type"] == "all");
    CHECK(r.Run({"TTL", "argus:consumer:c1"}).integer() > 0);  // gone consumers disappear
    // And the acknowledged entries were trimmed: at most the last delivered per shard stays.
    long long left = 0;
    for (int s = 0; s < 4; ++s) left += r.Run({"XLEN", queue::StreamKey("t", s)}).integer();
    // Four entries on the shards of two hosts: trimming leaves one per shard used.
    CHECK(left <= 2);
    CHECK(c.stats().trimmed >= 2);
  }

  TEST_CASE("entries left pending by a crash are stored on restart under the same name") {
    testing::RedisServer redis;
    testing::TempDir dir;
    queue::Redis r({"127.0.0.1", redis.port()});
    std::vector<proto::Event> batch;
    for (int i = 0; i < 30; ++i) batch.push_back(Ev("p", "id" + std::to_string(i), "host" + std::to_string(i)));
    REQUIRE_OK(queue::AppendEvents(r, batch, 4));
    REQUIRE(r.Run({"SADD", "argus:types", "p"}).ok());
    // A consumer that read and then died before storing or acknowledging.
    queue::GroupReader dying("p", 4, "c1");
    REQUIRE_OK(dying.EnsureGroups(r));
    std::vector<queue::Entry> got;
    REQUIRE_OK(dying.Read(r, 100, &got));  // own pending: none yet
    REQUIRE_OK(dying.Read(r, 100, &got));
    REQUIRE(got.size() == 30);
    CHECK(Pending(r, "p") == 30);

    consumer::Consumer c(Options(redis, dir / "a.db", "p", "c1"));
    DrainAll(c);
    CHECK(AllEvents(dir / "a.db").size() == 30);
    CHECK(Pending(r, "p") == 0);
  }

  TEST_CASE("--type all follows types that appear later") {
    testing::RedisServer redis;
    testing::TempDir dir;
    queue::Redis r({"127.0.0.1", redis.port()});
    consumer::Consumer c(Options(redis, dir / "a.db"));
    CHECK(DrainAll(c) == 0);
    REQUIRE_OK(queue::AppendEvents(r, {Ev("late", "x1")}, 4));
    REQUIRE_OK(queue::AppendEvents(r, {Ev("later", "x2")}, 4));
    DrainAll(c);
    auto rows = AllEvents(dir / "a.db");
    REQUIRE(rows.size() == 2);
  }

  TEST_CASE("a consumer of one type leaves other types alone") {
    testing::RedisServer redis;
    testing::TempDir dir;
    queue::Redis r({"127.0.0.1", redis.port()});
    REQUIRE_OK(queue::AppendEvents(r, {Ev("mine", "m"), Ev("theirs", "t")}, 4));
    consumer::Consumer c(Options(redis, dir / "a.db", "mine", "c1"));
    DrainAll(c);
    auto rows = AllEvents(dir / "a.db");
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].type == "mine");
  }

  TEST_CASE("Redis away: no crash, nothing lost, resumes when it returns") {
    testing::RedisServer redis;
    testing::TempDir dir;
    consumer::Consumer c(Options(redis, dir / "a.db"));
    {
      queue::Redis r({"127.0.0.1", redis.port()});
      REQUIRE_OK(queue::AppendEvents(r, {Ev("t", "before")}, 4));
    }
    DrainAll(c);
    redis.Stop();
    CHECK(c.RunOnce() == 0);
    CHECK(c.stats().errors >= 1);
    redis.Start();  // empty: groups are recreated
    queue::Redis r({"127.0.0.1", redis.port()});
    REQUIRE_OK(queue::AppendEvents(r, {Ev("t", "after")}, 4));
    REQUIRE(testing::WaitFor([&] {
      c.RunOnce();
      return AllEvents(dir / "a.db").size() == 2;
    }, 10s));
  }

  TEST_CASE("rollups equal a recount from the raw rows, however often batches are redelivered") {
    testing::RedisServer redis;
    testing::TempDir dir;
    queue::Redis r({"127.0.0.1", redis.port()});
    std::vector<proto::Event> batch;
    for (int i = 0; i < 200; ++i) {
      proto::Event e = Ev("roll", "r" + std::to_string(i), "host" + std::to_string(i % 3));
      e.ts = 1700000000000 + i * 997;  // spread over several minutes
      e.content = R"({"latency_ms":)" + std::to_string(i % 17) + R"(.5,"up":{"db_ms":)" + std::to_string(i) +
                  R"(},"label":"x","ok":true})";
      batch.push_back(std::move(e));
    }
    REQUIRE_OK(queue::AppendEvents(r, batch, 4));
    REQUIRE_OK(queue::AppendEvents(r, {batch.begin(), batch.begin() + 50}, 4));  // redelivered
    consumer::Consumer c(Options(redis, dir / "a.db"));
    DrainAll(c);
    REQUIRE_OK(queue::AppendEvents(r, {batch.begin() + 100, batch.end()}, 4));  // and again later
    DrainAll(c);
    CHECK(c.stats().stored == 200);
    CHECK(c.stats().duplicates == 150);

    size_t rows = CheckRollupsAgainstRaw(dir / "a.db", "roll");
    CHECK(rows > 6);  // two fields, three hosts, several minutes
  }

  TEST_CASE("two consumers of one type split the work and together store everything once") {
    testing::RedisServer redis;
    testing::TempDir dir;
    queue::Redis r({"127.0.0.1", redis.port()});
    std::vector<proto::Event> batch;
    for (int i = 0; i < 2000; ++i) batch.push_back(Ev("split", "s" + std::to_string(i), "host" + std::to_string(i % 50)));
    REQUIRE_OK(queue::AppendEvents(r, batch, 4));
    auto oa = Options(redis, dir / "shared.db", "split", "a");
    auto ob = Options(redis, dir / "shared.db", "split", "b");
    oa.batch = ob.batch = 100;
    consumer::Consumer a(oa), b(ob);
    for (int round = 0; round < 100; ++round) {
      a.RunOnce();
      b.RunOnce();
    }
    CHECK(a.stats().stored > 0);
    CHECK(b.stats().stored > 0);
    CHECK(a.stats().stored + b.stats().stored == 2000);
    CHECK(a.stats().duplicates + b.stats().duplicates == 0);
    CHECK(AllEvents(dir / "shared.db").size() == 1000);  // AllEvents pages at 1000
    CheckStoredOnce(dir / "shared.db", IdsOf(batch));
  }

  TEST_CASE("housekeeping between rounds expires events received too long ago") {
    testing::RedisServer redis;
    testing::TempDir dir;
    queue::Redis r({"127.0.0.1", redis.port()});
    const int64_t now = base::SystemClock().WallMs();
    std::vector<proto::Event> batch;
    for (int i = 0; i < 6; ++i) {
      proto::Event e = Ev("hk", "hk" + std::to_string(i), "h");
      e.recv_ts = i < 3 ? now - 2 * 24 * 3600 * 1000LL : now;  // three received two days ago
      e.ts = *e.recv_ts;
      batch.push_back(std::move(e));
    }
    REQUIRE_OK(queue::AppendEvents(r, batch, 4));
    auto o = Options(redis, dir / "a.db", "hk", "c1");
    o.retention.raw_days = 1;
    o.housekeeping_every = 0ms;
    consumer::Consumer c(o);
    DrainAll(c);
    CHECK(c.stats().stored == 6);
    CHECK(c.stats().events_expired == 3);
    auto rows = AllEvents(dir / "a.db");
    CHECK(rows.size() == 3);
  }

  TEST_CASE("aggregators per type: a type's own list, the default for the others") {
    // The example aggregator, registered as a plugin would register it.
    consumer::RegisterAggregator("demo", consumer::DemoAggregatorSpec());
    testing::RedisServer redis;
    testing::TempDir dir;
    queue::Redis r({"127.0.0.1", redis.port()});
    testing::WriteFile(dir / "consumer.json", R"({"aggregators": {"counted": ["demo"], "*": ["generic"]}})");
    auto o = Options(redis, dir / "a.db");
    REQUIRE_OK(consumer::LoadConsumerConfig(dir / "consumer.json", &o));
    proto::Event counted = Ev("counted", "c1");
    counted.content = R"({"n":5})";
    proto::Event rolled = Ev("rolled", "r1");
    rolled.content = R"({"n":5})";
    REQUIRE_OK(queue::AppendEvents(r, {counted, rolled, counted}, 4));
    consumer::Consumer c(o);
    DrainAll(c);
    auto db = store::Database::Open(dir / "a.db");
    store::Statement demo(*db, "SELECT type, events FROM demo_counts");
    REQUIRE(demo.Step());
    CHECK(demo.Text(0) == "counted");
    CHECK(demo.Int(1) == 1);  // the redelivered copy did not count
    CHECK_FALSE(demo.Step());
    store::Statement rollups(*db, "SELECT DISTINCT type FROM rollups_1m");
    REQUIRE(rollups.Step());
    CHECK(rollups.Text(0) == "rolled");
    CHECK_FALSE(rollups.Step());
  }

  TEST_CASE("consumer config mistakes are named") {
    testing::TempDir dir;
    auto error_of = [&](const std::string& text) {
      testing::WriteFile(dir / "c.json", text);
      consumer::ConsumerOptions o;
      return consumer::LoadConsumerConfig(dir / "c.json", &o).message();
    };
    CHECK(error_of(R"({"aggregator": {}})") == "unknown key 'aggregator' (allowed: aggregators, settings)");
    CHECK(error_of(R"({"settings": {"nope": {}}})") == "settings.nope: no aggregator has that name");
    CHECK(error_of(R"({"settings": {"hosts": 5}})") == "settings.hosts must be an object");
    CHECK(error_of(R"({"aggregators": {"Bad Type": ["generic"]}})") == "aggregators.Bad Type: not an event type nor \"*\"");
    CHECK(error_of(R"({"aggregators": {"t": "generic"}})") == "aggregators.t: must be an array of aggregator names");
    CHECK(error_of("[]") == "not a JSON object");
    CHECK(error_of("{").find("is not valid JSON") != std::string::npos);
  }

  TEST_CASE("an unknown aggregator is refused by name") {
    testing::RedisServer redis;
    testing::TempDir dir;
    auto o = Options(redis, dir / "a.db");
    o.aggregators = {"generic", "nope"};
    CHECK_THROWS_WITH_AS(consumer::Consumer{o}, doctest::Contains("unknown aggregator 'nope' (known: "),
                         std::runtime_error);
  }

  TEST_CASE("a poison event goes to the dead-letter stream with its error while the rest flow") {
    // An aggregator that cannot digest one particular event.
    consumer::RegisterAggregator("choke", {[](const consumer::AggregatorContext&) {
      struct Choke : consumer::Aggregator {
        void Apply(const std::vector<const proto::Event*>& fresh) override {
          for (const auto* e : fresh) {
            if (e->content.find("\"poison\":true") != std::string::npos) throw std::runtime_error("cannot digest " + e->id);
          }
        }
      };
      return std::unique_ptr<consumer::Aggregator>(new Choke);
    }, /*migrations=*/{}});
    testing::RedisServer redis;
    testing::TempDir dir;
    queue::Redis r({"127.0.0.1", redis.port()});
    std::vector<proto::Event> batch;
    for (int i = 0; i < 10; ++i) batch.push_back(Ev("p", "good" + std::to_string(i), "h"));
    proto::Event bad = Ev("p", "bad", "h");
    bad.content = R"({"poison":true})";
    batch.insert(batch.begin() + 5, bad);
    REQUIRE_OK(queue::AppendEvents(r, batch, 4));
    auto o = Options(redis, dir / "a.db", "p", "c1");
    o.aggregators = {"generic", "choke"};
    o.max_attempts = 3;
    consumer::Consumer c(o);
    DrainAll(c);
    REQUIRE_OK(queue::AppendEvents(r, {Ev("p", "after", "h")}, 4));  // the type is not blocked
    DrainAll(c);
    auto rows = AllEvents(dir / "a.db");
    CHECK(rows.size() == 11);
    for (const auto& row : rows) CHECK(row.id != "bad");
    CHECK(c.stats().dead_lettered == 1);
    CHECK(Pending(r, "p") == 0);
    auto dead = r.Run({"XRANGE", queue::DeadLetterKey("p"), "-", "+"});
    REQUIRE(dead.ok());
    REQUIRE(dead.reply->elements == 1);
    std::map<std::string, std::string> fields;
    const auto* kv = dead.reply->element[0]->element[1];
    for (size_t i = 0; i + 1 < kv->elements; i += 2) fields[kv->element[i]->str] = kv->element[i + 1]->str;
    CHECK(fields["error"] == "cannot digest bad");
    CHECK(fields["e"].find("\"id\":\"bad\"") != std::string::npos);
    CHECK(fields["stream"] == queue::StreamKey("p", queue::ShardOf("h", 4)));
  }

  TEST_CASE("entries left pending by a consumer that never returns are taken over by another") {
    testing::RedisServer redis;
    testing::TempDir dir;
    queue::Redis r({"127.0.0.1", redis.port()});
    std::vector<proto::Event> batch;
    for (int i = 0; i < 40; ++i) batch.push_back(Ev("cl", "c" + std::to_string(i), "host" + std::to_string(i)));
    REQUIRE_OK(queue::AppendEvents(r, batch, 4));
    queue::GroupReader gone("cl", 4, "gone-for-good");
    REQUIRE_OK(gone.EnsureGroups(r));
    std::vector<queue::Entry> got;
    REQUIRE_OK(gone.Read(r, 100, &got));
    REQUIRE_OK(gone.Read(r, 100, &got));
    REQUIRE(got.size() == 40);

    auto o = Options(redis, dir / "a.db", "cl", "survivor");
    o.claim_idle = 200ms;
    o.claim_every = 0ms;
    consumer::Consumer c(o);
    REQUIRE(testing::WaitFor([&] {
      c.RunOnce();
      return AllEvents(dir / "a.db").size() == 40;
    }, 20s));
    CHECK(c.stats().claimed == 40);
    CHECK(Pending(r, "cl") == 0);
  }

  TEST_CASE("an entry that is not an event is skipped and counted, the rest flow") {
    testing::RedisServer redis;
    testing::TempDir dir;
    queue::Redis r({"127.0.0.1", redis.port()});
    REQUIRE_OK(queue::AppendEvents(r, {Ev("t", "good")}, 4));
    REQUIRE(r.Run({"XADD", queue::StreamKey("t", 0), "*", "e", "{not json"}).ok());
    consumer::Consumer c(Options(redis, dir / "a.db"));
    DrainAll(c);
    CHECK(c.stats().invalid == 1);
    CHECK(AllEvents(dir / "a.db").size() == 1);
    CHECK(Pending(r, "t") == 0);
    CHECK(r.Run({"XLEN", queue::DeadLetterKey("t")}).integer() == 1);  // kept, with why
  }
}

TEST_SUITE("consumer aggregators") {
  TEST_CASE("heartbeats keep a host online, silence is noticed by the consumer and stored as argus.host") {
    testing::RedisServer redis;
    testing::TempDir dir;
    queue::Redis r({"127.0.0.1", redis.port()});
    // The consumer's clock moves only when the test says: "3 s of silence" is exact,
    // however slow the machine.
    base::ManualClock clock;
    // A 1 s heartbeat interval gives a 3 s timeout.
    proto::Event hb = Ev("argus.agent", "hb1", "edge-7");
    hb.ts = clock.WallMs();
    hb.recv_ts = clock.WallMs();
    hb.content = R"({"version":"0.9.1","interval_s":1,"uptime_s":12})";
    REQUIRE_OK(queue::AppendEvents(r, {hb}, 4));
    auto o = Options(redis, dir / "a.db");
    o.tick_every = 0ms;
    consumer::Consumer c(o, clock);  // the built-in mapping: argus.agent -> generic, hosts
    auto changes = [&] {
      std::vector<std::string> out;
      store::EventQuery q;
      q.type = "argus.host";
      auto db = store::Database::Open(dir / "a.db");
      for (const auto& row : store::Reader(*db).Events(q)) {
        out.push_back(row.content["change"].get<std::string>());
      }
      std::sort(out.begin(), out.end());
      return out;
    };
    auto state = [&] {
      auto db = store::Database::Open(dir / "a.db");
      store::Statement s(*db, "SELECT state, agent_version FROM host_status WHERE host = 'edge-7'");
      return s.Step() ? s.Text(0) + " " + s.Text(1) : std::string("(none)");
    };
    REQUIRE(testing::WaitFor([&] {
      c.RunOnce();
      return changes().size() == 1;
    }, 20s));
    clock.Advance(3000ms);
    DrainAll(c);  // ticks: exactly at the timeout the host is still online
    CHECK(changes() == std::vector<std::string>{"added"});
    CHECK(state() == "online 0.9.1");
    clock.Advance(1ms);
    DrainAll(c);
    CHECK(changes() == std::vector<std::string>{"added", "offline"});
    CHECK(c.stats().derived == 2);
    CHECK(state() == "offline 0.9.1");
    // The same heartbeat delivered again changes nothing.
    REQUIRE_OK(queue::AppendEvents(r, {hb}, 4));
    DrainAll(c);
    CHECK(changes().size() == 2);
  }

  TEST_CASE("aggregator settings come from the consumer config and are checked at start") {
    testing::RedisServer redis;
    testing::TempDir dir;
    testing::WriteFile(dir / "c.json", R"({"settings": {"packet": {"key": "seq"}}})");
    auto o = Options(redis, dir / "a.db");
    REQUIRE_OK(consumer::LoadConsumerConfig(dir / "c.json", &o));
    queue::Redis r({"127.0.0.1", redis.port()});
    proto::Event send = Ev("packet", "s1", "a");
    send.content = R"({"direction":"send","seq":5})";
    proto::Event recv = Ev("packet", "r1", "b");
    recv.content = R"({"direction":"recv","seq":5})";
    REQUIRE_OK(queue::AppendEvents(r, {send, recv}, 4));
    {
      consumer::Consumer c(o);
      DrainAll(c);
    }
    auto db = store::Database::Open(dir / "a.db");
    store::Statement m(*db, "SELECT msg, sender, receivers FROM packet_messages");
    REQUIRE(m.Step());
    CHECK(m.Text(0) == "5");
    CHECK(m.Text(1) == "a");
    CHECK(m.Int(2) == 1);
    o.settings = {{"packet", {{"keys", "seq"}}}};
    CHECK_THROWS_WITH_AS(consumer::Consumer{o}, doctest::Contains("aggregator 'packet': unknown key settings.packet.keys"),
                         std::runtime_error);
  }
}

TEST_SUITE("consumer process") {
  TEST_CASE("two consumer processes of one type each take a share, as their published counters show") {
    testing::RedisServer redis;
    testing::TempDir dir;
    queue::Redis r({"127.0.0.1", redis.port()});
    const int total = 20000;
    std::vector<proto::Event> batch;
    for (int i = 0; i < total; ++i) batch.push_back(Ev("share", "s" + std::to_string(i), "host" + std::to_string(i % 64)));
    REQUIRE_OK(queue::AppendEvents(r, batch, 4));
    std::vector<std::unique_ptr<testing::Process>> consumers;
    for (const char* name : {"share-a", "share-b"}) {
      consumers.push_back(std::make_unique<testing::Process>(
          std::vector<std::string>{testing::BinDir() + "/argus-consumer", "--type", "share", "--redis",
                                   redis.address(), "--db", dir / "share.db", "--name", name, "--batch", "50"},
          dir / (std::string(name) + ".log")));
    }
    auto stored_by = [&](const std::string& name) {
      auto v = r.Run({"HGET", "argus:consumer:" + name, "stored"}).str();
      return v.empty() ? int64_t{0} : std::stoll(v);
    };
    REQUIRE_MESSAGE(testing::WaitFor([&] { return stored_by("share-a") + stored_by("share-b") == total; }, 60s),
                    consumers[0]->Log() << consumers[1]->Log());
    MESSAGE("share-a stored " << stored_by("share-a") << ", share-b " << stored_by("share-b"));
    CHECK(stored_by("share-a") > 0);
    CHECK(stored_by("share-b") > 0);
    for (auto& c : consumers) {
      c->Kill(SIGTERM);
      CHECK(c->Wait(20s) == 0);
    }
    CheckStoredOnce(dir / "share.db", IdsOf(batch));
  }

  TEST_CASE("kill -9 at random moments under load: every event stored exactly once, rollups equal a recount") {
    // ARGUS_KILL9_EVENTS scales the load (the issue's check runs it with 1,000,000).
    const char* env = std::getenv("ARGUS_KILL9_EVENTS");
    const int total = env && *env ? std::max(200, std::atoi(env) / 200 * 200) : 20000;
    testing::RedisServer redis;
    testing::TempDir dir;
    queue::Redis r({"127.0.0.1", redis.port()});
    std::atomic<bool> produced{false};
    std::string append_error;  // written by the producer, read after join
    std::thread producer([&] {
      queue::Redis pr({"127.0.0.1", redis.port()});
      for (int i = 0; i < total; i += 200) {
        std::vector<proto::Event> batch;
        for (int j = i; j < i + 200; ++j) {
          proto::Event e = Ev("k9", "k" + std::to_string(j), "host" + std::to_string(j % 37));
          e.ts = 1700000000000 + int64_t{j} * 50;
          e.content = R"({"v":)" + std::to_string(j % 101) + R"(,"w":{"x":)" + std::to_string(j % 7) + "}}";
          batch.push_back(std::move(e));
        }
        // No REQUIRE off the test's thread: a failure is kept and checked after join.
        if (base::Status s = queue::AppendEvents(pr, batch, 4); !s.ok()) {
          append_error = s.message();
          break;
        }
        std::this_thread::sleep_for(5ms);  // a steady stream, not one burst
      }
      produced = true;
    });
    std::mt19937 rng(4242);
    int kills = 0;
    // Two consumers of the type, each killed and restarted (under its own name) at random.
    auto start = [&](int k) {
      return std::make_unique<testing::Process>(
          std::vector<std::string>{testing::BinDir() + "/argus-consumer", "--type", "k9", "--redis", redis.address(),
                                   "--db", dir / "k9.db", "--name", "k9-consumer-" + std::to_string(k), "--batch",
                                   "200", "--claim-idle-s", "2"},
          dir / ("consumer-" + std::to_string(k) + ".log"));
    };
    auto stored = [&] {
      auto db = store::Database::Open(dir / "k9.db");
      store::Statement n(*db, "SELECT count(*) FROM events");
      return n.Step() ? n.Int(0) : int64_t{0};
    };
    std::vector<std::unique_ptr<testing::Process>> consumers;
    consumers.push_back(start(0));
    consumers.push_back(start(1));
    std::array<int, 2> starts{1, 1};
    while (!produced.load() || kills < 8) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 400));
      const int k = static_cast<int>(rng() % 2);
      consumers[size_t(k)]->Kill(SIGKILL);
      consumers[size_t(k)]->Wait(10s);
      ++kills;
      consumers[size_t(k)] = start(k);
      ++starts[size_t(k)];
    }
    producer.join();
    REQUIRE_MESSAGE(append_error.empty(), append_error);
    // Within ctest's 300 s; a run scaled up with ARGUS_KILL9_EVENTS passes its own
    // `ctest --timeout` and gets an hour here.
    REQUIRE_MESSAGE(testing::WaitFor([&] { return stored() >= total; }, env && *env ? 3600s : 240s),
                    consumers[0]->Log() << consumers[1]->Log());
    // A consumer restarted just now may not have its SIGTERM handler yet: stop each
    // only once its latest start said it runs (logged after the handler is installed;
    // every start appends to the same log).
    for (int k = 0; k < 2; ++k) {
      auto& c = consumers[size_t(k)];
      auto started = [&] {
        const std::string log = c->Log();
        int n = 0;
        for (size_t at = log.find(" from redis "); at != std::string::npos; at = log.find(" from redis ", at + 1)) ++n;
        return n >= starts[size_t(k)];
      };
      REQUIRE_MESSAGE(testing::WaitFor(started, 60s), c->Log());
      c->Kill(SIGTERM);
      CHECK(c->Wait(20s) == 0);
    }

    std::vector<std::string> sent;
    for (int j = 0; j < total; ++j) sent.push_back("k" + std::to_string(j));
    CheckStoredOnce(dir / "k9.db", sent);
    CHECK(CheckRollupsAgainstRaw(dir / "k9.db", "k9") > 0);
    CHECK(Pending(r, "k9") == 0);
    MESSAGE("consumers killed " << kills << " times; " << total << " events");
  }
}
