// `packet`: TOP-Argus' packet analysis made general. Hosts log a `send` event when a
// message leaves and a `recv` event when it arrives; events sharing the key fields
// are one message. Per message it keeps the sender, the receivers (each host once),
// hops and delays; per network and minute of sending it keeps messages sent, receipts
// expected and received (the drop rate is 1 - received / expected), hops and delay.
//
// Order never matters: a receipt that arrives before its send is kept and folded into
// the network's minute when the send arrives, so any interleaving of consumers and
// shards gives the same tables. Delays are receiver clock minus sender clock.
#include <algorithm>
#include <optional>

#include "consumer/aggregator.h"
#include "consumer/settings.h"
#include "proto/json_path.h"

namespace argus::consumer {
namespace {

constexpr size_t kMaxKeyChars = 512;

struct PacketSettings {
  std::vector<std::string> key;           // fields whose values identify a message
  std::string direction_field;
  std::vector<std::string> send_values, recv_values;
  std::string network_field, hops_field, expected_field;
  int64_t default_expected;               // receipts a message expects when its send does not say
};

// A field's value as text for a key: strings as they are, numbers and the rest as JSON.
std::optional<std::string> KeyPart(const nlohmann::json& content, const std::string& path) {
  const nlohmann::json* v = proto::FindPath(content, path);
  if (!v || v->is_null() || v->is_object() || v->is_array()) return std::nullopt;
  return v->is_string() ? v->get<std::string>() : v->dump();
}

int64_t IntField(const nlohmann::json& content, const std::string& path, int64_t fallback) {
  const nlohmann::json* v = proto::FindPath(content, path);
  if (v && v->is_number_integer()) return std::clamp<int64_t>(v->get<int64_t>(), 0, 1000000000);
  return fallback;
}

bool OneOf(const std::string& v, const std::vector<std::string>& values) {
  return std::find(values.begin(), values.end(), v) != values.end();
}

int64_t Minute(int64_t ts) { return ts - ((ts % 60000) + 60000) % 60000; }

// Sums and products of numbers that clients chose (times, counts): saturated, never
// undefined. The proxy bounds times, but a stream may hold older entries.
int64_t SatMul(int64_t a, int64_t b) {
  int64_t r = 0;
  if (!__builtin_mul_overflow(a, b, &r)) return r;
  return (a < 0) != (b < 0) ? INT64_MIN : INT64_MAX;
}
int64_t SatSub(int64_t a, int64_t b) {
  int64_t r = 0;
  if (!__builtin_sub_overflow(a, b, &r)) return r;
  return b < 0 ? INT64_MAX : INT64_MIN;
}

class PacketAggregator : public Aggregator {
 public:
  PacketAggregator(store::Database& db, PacketSettings settings)
      : db_(db),
        s_(std::move(settings)),
        get_(db, "SELECT sender, receivers, recv_ts_sum, hops_sum, last_recv_ts FROM packet_messages WHERE msg = ?1"),
        send_(db,
              "INSERT INTO packet_messages(msg, network, sender, sent_ts, expected, receivers, recv_ts_sum, hops_sum, "
              "max_hops, seen) VALUES (?1, ?2, ?3, ?4, ?5, 0, 0, 0, 0, ?4) "
              "ON CONFLICT(msg) DO UPDATE SET network = ?2, sender = ?3, sent_ts = ?4, expected = ?5, "
              "seen = min(seen, ?4)"),
        receipt_(db, "INSERT OR IGNORE INTO packet_receipts(msg, host, ts, hops) VALUES (?1, ?2, ?3, ?4)"),
        recv_(db,
              "INSERT INTO packet_messages(msg, network, expected, receivers, first_recv_ts, last_recv_ts, "
              "recv_ts_sum, hops_sum, max_hops, seen) VALUES (?1, ?2, ?5, 1, ?3, ?3, ?3, ?4, ?4, ?3) "
              "ON CONFLICT(msg) DO UPDATE SET receivers = receivers + 1, "
              "first_recv_ts = min(coalesce(first_recv_ts, ?3), ?3), last_recv_ts = max(coalesce(last_recv_ts, ?3), ?3), "
              "recv_ts_sum = recv_ts_sum + ?3, hops_sum = hops_sum + ?4, max_hops = max(max_hops, ?4), "
              "seen = min(seen, ?3) "
              "RETURNING sender, sent_ts, network"),
        network_(db,
                 "INSERT INTO packet_networks_1m(network, minute, sent, expected, received, hops_sum, delay_sum, "
                 "delay_max) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
                 "ON CONFLICT(network, minute) DO UPDATE SET sent = sent + ?3, expected = expected + ?4, "
                 "received = received + ?5, hops_sum = hops_sum + ?6, delay_sum = delay_sum + ?7, "
                 "delay_max = CASE WHEN ?5 = 0 THEN delay_max WHEN received = 0 THEN ?8 ELSE max(delay_max, ?8) END"),
        expire_receipts_(db,
                         "DELETE FROM packet_receipts WHERE msg IN (SELECT msg FROM packet_messages "
                         "WHERE seen < ?1 LIMIT 100)"),
        expire_messages_(db,
                         "DELETE FROM packet_messages WHERE msg IN (SELECT msg FROM packet_messages "
                         "WHERE seen < ?1 LIMIT 100)"),
        expire_networks_(db,
                         "DELETE FROM packet_networks_1m WHERE (network, minute) IN (SELECT network, minute "
                         "FROM packet_networks_1m WHERE minute < ?1 LIMIT 2000)") {}

  void Apply(const std::vector<const proto::Event*>& fresh) override {
    for (const proto::Event* e : fresh) {
      auto j = nlohmann::json::parse(e->content, nullptr, false);
      if (!j.is_object()) continue;
      auto direction = KeyPart(j, s_.direction_field);
      std::string msg;
      for (const auto& field : s_.key) {
        auto part = KeyPart(j, field);
        if (!part) {
          direction.reset();  // not a message we can correlate
          break;
        }
        msg += (msg.empty() ? "" : "/") + *part;
      }
      if (!direction || msg.size() > kMaxKeyChars) continue;
      const int64_t ts = e->ts.value_or(e->recv_ts.value_or(0));
      const std::string network = KeyPart(j, s_.network_field).value_or("");
      if (OneOf(*direction, s_.send_values)) {
        Send(msg, network, e->host, ts, IntField(j, s_.expected_field, s_.default_expected));
      } else if (OneOf(*direction, s_.recv_values)) {
        Receive(msg, network, e->host, ts, IntField(j, s_.hops_field, 0));
      }
    }
  }

  // Messages and receipts are raw detail; per-minute network rows are summaries.
  int64_t Expire(int64_t raw_cutoff_ms, int64_t summary_cutoff_ms) override {
    expire_receipts_.Bind(1, raw_cutoff_ms).Run();
    int64_t n = db_.Changes();
    expire_messages_.Bind(1, raw_cutoff_ms).Run();
    n += db_.Changes();
    expire_networks_.Bind(1, summary_cutoff_ms).Run();
    return n + db_.Changes();
  }

 private:
  void Send(const std::string& msg, const std::string& network, const std::string& host, int64_t ts,
            int64_t expected) {
    get_.Bind(1, msg);
    int64_t receivers = 0, recv_ts_sum = 0, hops_sum = 0, last_recv = 0;
    if (get_.Step()) {
      if (!get_.IsNull(0)) {
        get_.Reset();
        return;  // the message's send is in already (a resend under another id): the first one counts
      }
      receivers = get_.Int(1);
      recv_ts_sum = get_.Int(2);
      hops_sum = get_.Int(3);
      last_recv = get_.IsNull(4) ? 0 : get_.Int(4);
    }
    get_.Reset();
    send_.Bind(1, msg).Bind(2, network).Bind(3, host).Bind(4, ts).Bind(5, expected).Run();
    // Receipts that came first now count for the minute the message was sent.
    AddToNetwork(network, ts, 1, expected, receivers, hops_sum, SatSub(recv_ts_sum, SatMul(receivers, ts)),
                 receivers ? SatSub(last_recv, ts) : 0);
  }

  void Receive(const std::string& msg, const std::string& network, const std::string& host, int64_t ts,
               int64_t hops) {
    receipt_.Bind(1, msg).Bind(2, host).Bind(3, ts).Bind(4, hops).Run();
    if (db_.Changes() == 0) return;  // this host's copy is counted already (gossip delivers twice)
    recv_.Bind(1, msg).Bind(2, network).Bind(3, ts).Bind(4, hops).Bind(5, s_.default_expected);
    bool sent = recv_.Step() && !recv_.IsNull(0);
    int64_t sent_ts = sent ? recv_.Int(1) : 0;
    std::string sent_network = sent ? recv_.Text(2) : "";
    recv_.Reset();
    if (sent) AddToNetwork(sent_network, sent_ts, 0, 0, 1, hops, SatSub(ts, sent_ts), SatSub(ts, sent_ts));
  }

  void AddToNetwork(const std::string& network, int64_t sent_ts, int64_t sent, int64_t expected, int64_t received,
                    int64_t hops, int64_t delay_sum, int64_t delay_max) {
    network_.Bind(1, network).Bind(2, Minute(sent_ts)).Bind(3, sent).Bind(4, expected).Bind(5, received);
    network_.Bind(6, hops).Bind(7, delay_sum).Bind(8, delay_max).Run();
  }

  store::Database& db_;
  PacketSettings s_;
  store::Statement get_, send_, receipt_, recv_, network_, expire_receipts_, expire_messages_, expire_networks_;
};

}  // namespace

AggregatorSpec PacketAggregatorSpec() {
  AggregatorSpec spec;
  spec.make = [](const AggregatorContext& context) -> std::unique_ptr<Aggregator> {
    Settings s("packet", context.settings,
               {"key", "direction_field", "send", "recv", "network_field", "hops_field", "expected_field",
                "default_expected"});
    PacketSettings p;
    p.key = s.Strings("key", {"msg_id"});
    p.direction_field = s.String("direction_field", "direction");
    p.send_values = s.Strings("send", {"send"});
    p.recv_values = s.Strings("recv", {"recv"});
    p.network_field = s.String("network_field", "network");
    p.hops_field = s.String("hops_field", "hops");
    p.expected_field = s.String("expected_field", "expected");
    p.default_expected = s.Int("default_expected", 1, 0, 1000000);
    return std::make_unique<PacketAggregator>(context.db, std::move(p));
  };
  spec.migrations = {
      // 1: as a store of schema 5 made them (IF NOT EXISTS: such files have them).
      R"sql(
        CREATE TABLE IF NOT EXISTS packet_messages(
          msg           TEXT PRIMARY KEY,
          network       TEXT NOT NULL,
          sender        TEXT,
          sent_ts       INTEGER,
          expected      INTEGER NOT NULL,
          receivers     INTEGER NOT NULL,
          first_recv_ts INTEGER,
          last_recv_ts  INTEGER,
          recv_ts_sum   INTEGER NOT NULL,
          hops_sum      INTEGER NOT NULL,
          max_hops      INTEGER NOT NULL,
          seen          INTEGER NOT NULL) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS packet_messages_seen ON packet_messages(seen);
        CREATE INDEX IF NOT EXISTS packet_messages_network ON packet_messages(network, sent_ts);
        CREATE TABLE IF NOT EXISTS packet_receipts(
          msg  TEXT NOT NULL,
          host TEXT NOT NULL,
          ts   INTEGER NOT NULL,
          hops INTEGER NOT NULL,
          PRIMARY KEY (msg, host)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS packet_networks_1m(
          network   TEXT NOT NULL,
          minute    INTEGER NOT NULL,
          sent      INTEGER NOT NULL,
          expected  INTEGER NOT NULL,
          received  INTEGER NOT NULL,
          hops_sum  INTEGER NOT NULL,
          delay_sum INTEGER NOT NULL,
          delay_max INTEGER NOT NULL,
          PRIMARY KEY (network, minute)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS packet_networks_1m_minute ON packet_networks_1m(minute);
      )sql",
  };
  return spec;
}

}  // namespace argus::consumer
