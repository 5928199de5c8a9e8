// The built-in hosts, system and packet aggregators over a real SQLite database, fed
// directly (the consumer's delivery is tested in the integration suite).
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <random>

#include "consumer/aggregator.h"
#include "store/writer.h"

using namespace argus;

namespace {

proto::Event Ev(const std::string& type, const std::string& host, int64_t ts, const std::string& content) {
  static int n = 0;
  proto::Event e;
  e.type = type;
  e.id = "e" + std::to_string(++n);
  e.host = host;
  e.ts = ts;
  e.recv_ts = ts;
  e.content = content;
  return e;
}

// One aggregator over an in-memory store, with the events it derives collected, on a
// clock that moves only when the test says.
struct Harness {
  explicit Harness(const std::string& name, nlohmann::json settings = nlohmann::json::object())
      : db(store::Database::Open(":memory:")), writer(*db), settings_(std::move(settings)) {
    auto emit = [this](const proto::Event& e) {
      if (writer.InsertDerived(e)) derived.push_back(e);
    };
    aggregator = consumer::BuildAggregator(name, {*db, settings_, emit, clock});
  }
  void Apply(const std::vector<proto::Event>& events) {
    store::Transaction tx(*db);
    std::vector<const proto::Event*> fresh;
    for (const auto& e : events) fresh.push_back(&e);
    aggregator->Apply(fresh);
    tx.Commit();
  }
  // Moves the clock on by `ms`, then ticks as the consumer does.
  void TickAfter(int64_t ms) {
    clock.Advance(std::chrono::milliseconds(ms));
    store::Transaction tx(*db);
    aggregator->Tick(clock.WallMs());
    tx.Commit();
  }
  std::string State(const std::string& host) {
    store::Statement s(*db, "SELECT state FROM host_status WHERE host = ?1");
    s.Bind(1, host);
    return s.Step() ? s.Text(0) : "(none)";
  }
  std::vector<std::string> Changes() const {
    std::vector<std::string> out;
    for (const auto& e : derived) out.push_back(e.host + " " + nlohmann::json::parse(e.content)["change"].get<std::string>());
    return out;
  }
  base::ManualClock clock;
  std::unique_ptr<store::Database> db;
  store::EventWriter writer;
  nlohmann::json settings_;
  std::unique_ptr<consumer::Aggregator> aggregator;
  std::vector<proto::Event> derived;
};

}  // namespace

TEST_SUITE("hosts aggregator") {
  TEST_CASE("a heartbeat adds the host, online, with its agent version") {
    Harness h("hosts");
    const int64_t now = h.clock.WallMs();
    h.Apply({Ev("argus.agent", "web-1", now, R"({"version":"0.4.0","interval_s":30})")});
    store::Statement s(*h.db, "SELECT state, agent_version, timeout_ms, heartbeat FROM host_status WHERE host = 'web-1'");
    REQUIRE(s.Step());
    CHECK(s.Text(0) == "online");
    CHECK(s.Text(1) == "0.4.0");
    CHECK(s.Int(2) == 90000);  // three heartbeat intervals
    CHECK(s.Text(3) == R"({"version":"0.4.0","interval_s":30})");
    CHECK(h.Changes() == std::vector<std::string>{"web-1 added"});
    CHECK(h.derived[0].type == "argus.host");
  }

  TEST_CASE("silence past the timeout turns a host offline once, a sign of life brings it back") {
    Harness h("hosts");
    const int64_t now = h.clock.WallMs();
    h.Apply({Ev("argus.agent", "db-1", now - 90001, R"({"version":"1","interval_s":30})"),
             Ev("argus.agent", "db-0", now - 90000, R"({"version":"1","interval_s":30})"),
             Ev("argus.agent", "db-2", now, R"({"version":"1","interval_s":30})")});
    // The timeout is three 30 s intervals. db-1 was last heard 1 ms beyond it: added as
    // offline; db-0 exactly at it: still online.
    CHECK(h.Changes() == std::vector<std::string>{"db-0 added", "db-1 added", "db-2 added"});
    CHECK(h.State("db-1") == "offline");
    CHECK(h.State("db-0") == "online");

    h.TickAfter(1);  // now db-0 is 1 ms past its timeout
    CHECK(h.Changes().back() == "db-0 offline");
    h.TickAfter(89999);
    CHECK(h.derived.size() == 4);  // db-2 is exactly 90 s quiet: within its timeout
    CHECK(h.State("db-2") == "online");
    h.TickAfter(1);
    h.TickAfter(4000);  // a second tick, or a second consumer, concludes nothing new
    REQUIRE(h.derived.size() == 5);
    CHECK(h.Changes()[4] == "db-2 offline");
    CHECK(h.derived[4].priority == proto::Priority::kHigh);

    h.Apply({Ev("argus.agent", "db-2", h.clock.WallMs(), R"({"version":"2","interval_s":30})")});
    REQUIRE(h.derived.size() == 7);
    CHECK(h.Changes()[5] == "db-2 online");
    CHECK(h.Changes()[6] == "db-2 version");
    auto content = nlohmann::json::parse(h.derived[6].content);
    CHECK(content["previous"] == "1");
    CHECK(content["current"] == "2");
    // Derived events are stored, and do not count as events the host sent.
    store::Statement stored(*h.db, "SELECT count(*) FROM events WHERE type = 'argus.host'");
    REQUIRE(stored.Step());
    CHECK(stored.Int(0) == 7);
    store::Statement sent(*h.db, "SELECT count(*) FROM hosts");
    REQUIRE(sent.Step());
    CHECK(sent.Int(0) == 0);
  }

  TEST_CASE("any event is a sign of life, the timeout falls back to the setting") {
    Harness h("hosts", {{"offline_after_s", 10}});
    h.Apply({Ev("app", "legacy", h.clock.WallMs(), "{}")});
    h.TickAfter(10000);
    CHECK(h.Changes() == std::vector<std::string>{"legacy added"});
    h.TickAfter(1);
    CHECK(h.Changes() == std::vector<std::string>{"legacy added", "legacy offline"});
  }

  TEST_CASE("settings are checked by name") {
    CHECK_THROWS_WITH_AS(Harness("hosts", {{"offline_after", 10}}),
                         doctest::Contains("unknown key settings.hosts.offline_after (allowed: offline_after_s)"),
                         std::runtime_error);
    CHECK_THROWS_WITH_AS(Harness("hosts", {{"offline_after_s", "10"}}),
                         doctest::Contains("settings.hosts.offline_after_s must be an integer"), std::runtime_error);
    CHECK_THROWS_WITH_AS(Harness("system", {{"x", 1}}), doctest::Contains("it takes no settings"),
                         std::runtime_error);
  }
}

TEST_SUITE("system aggregator") {
  TEST_CASE("a sample fills its row and one row per mount, what is missing or wrong is NULL") {
    Harness h("system");
    h.Apply({Ev("system", "web-1", 60000,
                R"({"cpu":{"pct":12.5},"mem":{"total_bytes":8000,"used_bytes":2000,"pct":25.0},
                    "load":{"1m":0.5,"5m":0.25,"15m":"high"},
                    "net":{"rx_bytes_s":100.5,"tx_bytes_s":50,"rx_packets_s":3,"tx_packets_s":2},
                    "disk":{"/":{"total_bytes":1000,"used_bytes":900,"pct":90.0},
                            "/data":{"total_bytes":5000,"used_bytes":500,"pct":10.0}}})"),
             Ev("system", "web-2", 60000, R"({"cpu":{"pct":1}})"), Ev("system", "web-3", 60000, "[1]")});
    store::Statement s(*h.db,
                       "SELECT cpu_pct, mem_total_bytes, mem_used_bytes, mem_pct, load1, load5, load15, "
                       "net_rx_bytes_s, net_tx_packets_s, disk_max_pct FROM system_samples WHERE host = 'web-1'");
    REQUIRE(s.Step());
    CHECK(s.Real(0) == 12.5);
    CHECK(s.Int(1) == 8000);
    CHECK(s.Int(2) == 2000);
    CHECK(s.Real(3) == 25.0);
    CHECK(s.Real(4) == 0.5);
    CHECK(s.Real(5) == 0.25);
    CHECK(s.IsNull(6));  // a string where a number belongs
    CHECK(s.Real(7) == 100.5);
    CHECK(s.Real(8) == 2);
    CHECK(s.Real(9) == 90.0);  // the fullest mount
    store::Statement disks(*h.db, "SELECT mount, used_bytes FROM system_disks WHERE host = 'web-1' ORDER BY mount");
    REQUIRE(disks.Step());
    CHECK(disks.Text(0) == "/");
    CHECK(disks.Int(1) == 900);
    REQUIRE(disks.Step());
    CHECK(disks.Text(0) == "/data");
    CHECK_FALSE(disks.Step());
    store::Statement partial(*h.db, "SELECT cpu_pct, mem_pct FROM system_samples WHERE host = 'web-2'");
    REQUIRE(partial.Step());
    CHECK(partial.Real(0) == 1);
    CHECK(partial.IsNull(1));
    store::Statement count(*h.db, "SELECT count(*) FROM system_samples");
    REQUIRE(count.Step());
    CHECK(count.Int(0) == 2);  // content that is not an object gives no row
  }

  TEST_CASE("samples older than the raw retention are expired") {
    Harness h("system");
    h.Apply({Ev("system", "a", 1000, R"({"cpu":{"pct":1},"disk":{"/":{"pct":1}}})"),
             Ev("system", "a", 9000, R"({"cpu":{"pct":2},"disk":{"/":{"pct":2}}})")});
    store::Transaction tx(*h.db);
    CHECK(h.aggregator->Expire(5000, 0) == 2);
    CHECK(h.aggregator->Expire(5000, 0) == 0);
    tx.Commit();
    store::Statement s(*h.db, "SELECT ts FROM system_samples");
    REQUIRE(s.Step());
    CHECK(s.Int(0) == 9000);
  }
}

namespace {

std::string Packet(const std::string& direction, const std::string& msg, const std::string& extra = "") {
  return R"({"direction":")" + direction + R"(","msg_id":")" + msg + R"(","network":"n1")" + extra + "}";
}

struct NetworkRow {
  int64_t sent, expected, received, hops_sum, delay_sum, delay_max;
  bool operator==(const NetworkRow&) const = default;
};

std::vector<NetworkRow> Networks(store::Database& db) {
  std::vector<NetworkRow> rows;
  store::Statement s(db,
                     "SELECT sent, expected, received, hops_sum, delay_sum, delay_max FROM packet_networks_1m "
                     "ORDER BY network, minute");
  while (s.Step()) rows.push_back({s.Int(0), s.Int(1), s.Int(2), s.Int(3), s.Int(4), s.Int(5)});
  return rows;
}

}  // namespace

TEST_SUITE("packet aggregator") {
  TEST_CASE("a send and its receipts become one message and a network minute") {
    Harness h("packet");
    h.Apply({Ev("packet", "a", 60000, Packet("send", "m1", R"(,"expected":3)")),
             Ev("packet", "b", 60010, Packet("recv", "m1", R"(,"hops":1)")),
             Ev("packet", "c", 60030, Packet("recv", "m1", R"(,"hops":2)")),
             Ev("packet", "c", 60050, Packet("recv", "m1", R"(,"hops":3)")),  // c's second copy
             Ev("packet", "d", 60000, Packet("other", "m1")), Ev("packet", "d", 60000, R"({"direction":"recv"})")});
    store::Statement m(*h.db,
                       "SELECT sender, sent_ts, expected, receivers, max_hops, first_recv_ts, last_recv_ts "
                       "FROM packet_messages WHERE msg = 'm1'");
    REQUIRE(m.Step());
    CHECK(m.Text(0) == "a");
    CHECK(m.Int(1) == 60000);
    CHECK(m.Int(2) == 3);
    CHECK(m.Int(3) == 2);  // b and c, c once
    CHECK(m.Int(4) == 2);
    CHECK(m.Int(5) == 60010);
    CHECK(m.Int(6) == 60030);
    CHECK(Networks(*h.db) == std::vector<NetworkRow>{{1, 3, 2, 3, 40, 30}});
  }

  TEST_CASE("times near the int64 limit saturate instead of overflowing") {
    Harness h("packet");
    const int64_t big = INT64_MAX - 10;
    // Receipts first, then the send: the send folds receivers * its time into the delay.
    h.Apply({Ev("packet", "b", big, Packet("recv", "m1")), Ev("packet", "c", big, Packet("recv", "m1")),
             Ev("packet", "a", big, Packet("send", "m1")), Ev("packet", "d", 0, Packet("recv", "m2")),
             Ev("packet", "a", big, Packet("send", "m2"))});
    auto rows = Networks(*h.db);
    REQUIRE(!rows.empty());
    CHECK(rows.back().sent >= 1);
  }

  TEST_CASE("any order of sends and receipts gives the same tables") {
    std::vector<proto::Event> events;
    for (int msg = 0; msg < 20; ++msg) {
      const int64_t sent = 60000 * (1 + msg % 3) + msg;
      events.push_back(Ev("packet", "s" + std::to_string(msg % 4), sent,
                          Packet("send", "m" + std::to_string(msg), R"(,"expected":4)")));
      for (int r = 0; r < msg % 5; ++r) {
        events.push_back(Ev("packet", "r" + std::to_string(r), sent + 5 + r * 7,
                            Packet("recv", "m" + std::to_string(msg), ",\"hops\":" + std::to_string(r + 1))));
      }
    }
    Harness ordered("packet");
    ordered.Apply(events);
    const auto expected = Networks(*ordered.db);
    REQUIRE(expected.size() == 3);
    std::mt19937 rng(7);
    for (int round = 0; round < 5; ++round) {
      std::shuffle(events.begin(), events.end(), rng);
      Harness shuffled("packet");
      // In several batches, as consumers of different shards would deliver them.
      for (size_t i = 0; i < events.size(); i += 7) {
        shuffled.Apply(std::vector<proto::Event>(events.begin() + long(i),
                                                 events.begin() + long(std::min(events.size(), i + 7))));
      }
      CHECK(Networks(*shuffled.db) == expected);
    }
  }

  TEST_CASE("key fields, direction values and field names are configurable") {
    Harness h("packet", {{"key", {"chain", "seq"}}, {"direction_field", "tag"}, {"send", "vhost_send"},
                         {"recv", {"vhost_recv", "vhost_recv_root"}}, {"network_field", "net"}});
    h.Apply({Ev("packet", "a", 0, R"({"tag":"vhost_send","chain":"c9","seq":7,"net":"x"})"),
             Ev("packet", "b", 20, R"({"tag":"vhost_recv_root","chain":"c9","seq":7})")});
    store::Statement m(*h.db, "SELECT msg, network, receivers FROM packet_messages");
    REQUIRE(m.Step());
    CHECK(m.Text(0) == "c9/7");
    CHECK(m.Text(1) == "x");
    CHECK(m.Int(2) == 1);
    CHECK(Networks(*h.db) == std::vector<NetworkRow>{{1, 1, 1, 0, 20, 20}});
    CHECK_THROWS_WITH_AS(Harness("packet", {{"key", nlohmann::json::array()}}),
                         doctest::Contains("settings.packet.key must be a non-empty string or a non-empty array"),
                         std::runtime_error);
  }

  TEST_CASE("retention removes old messages with their receipts, and old network minutes") {
    Harness h("packet");
    h.Apply({Ev("packet", "a", 1000, Packet("send", "old")), Ev("packet", "b", 1100, Packet("recv", "old")),
             Ev("packet", "a", 900000, Packet("send", "new")), Ev("packet", "b", 900100, Packet("recv", "new"))});
    store::Transaction tx(*h.db);
    CHECK(h.aggregator->Expire(500000, 120000) == 3);  // a receipt, a message, a minute
    tx.Commit();
    store::Statement m(*h.db, "SELECT msg FROM packet_messages");
    REQUIRE(m.Step());
    CHECK(m.Text(0) == "new");
    CHECK_FALSE(m.Step());
    store::Statement r(*h.db, "SELECT count(*) FROM packet_receipts");
    REQUIRE(r.Step());
    CHECK(r.Int(0) == 1);
    CHECK(Networks(*h.db).size() == 1);
  }
}
