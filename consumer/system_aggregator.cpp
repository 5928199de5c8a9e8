// `system`: the agent's system samples (type `system`, one per host per interval) in
// two tables shaped for a host page: `system_samples`, one row per (host, ts) with
// cpu, memory, load, network rates and the fullest disk; and `system_disks`, one row
// per (host, mount, ts). A field missing or of the wrong type is stored as NULL: the
// raw event keeps whatever was sent, and a sample from an older or newer agent still
// fills what it can. The content shape is in docs/aggregators.md.
#include <algorithm>
#include <cmath>
#include <optional>

#include "consumer/aggregator.h"
#include "consumer/settings.h"
#include "proto/json_path.h"

namespace argus::consumer {
namespace {

constexpr size_t kMaxMounts = 64;  // per sample; a host with more keeps the raw event

class SystemAggregator : public Aggregator {
 public:
  explicit SystemAggregator(store::Database& db)
      : db_(db),
        sample_(db,
                "INSERT OR IGNORE INTO system_samples(host, ts, cpu_pct, mem_total_bytes, mem_used_bytes, mem_pct, "
                "load1, load5, load15, net_rx_bytes_s, net_tx_bytes_s, net_rx_packets_s, net_tx_packets_s, "
                "disk_max_pct) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"),
        disk_(db,
              "INSERT OR IGNORE INTO system_disks(host, mount, ts, total_bytes, used_bytes, pct) "
              "VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
        expire_samples_(db,
                        "DELETE FROM system_samples WHERE (host, ts) IN (SELECT host, ts FROM system_samples "
                        "WHERE ts < ?1 LIMIT 2000)"),
        expire_disks_(db,
                      "DELETE FROM system_disks WHERE (host, mount, ts) IN (SELECT host, mount, ts FROM system_disks "
                      "WHERE ts < ?1 LIMIT 2000)") {}

  void Apply(const std::vector<const proto::Event*>& fresh) override {
    for (const proto::Event* e : fresh) {
      auto j = nlohmann::json::parse(e->content, nullptr, false);
      if (!j.is_object()) continue;
      const int64_t ts = e->ts.value_or(e->recv_ts.value_or(0));
      sample_.Bind(1, e->host).Bind(2, ts);
      BindReal(sample_, 3, j, "cpu.pct");
      BindInt(sample_, 4, j, "mem.total_bytes");
      BindInt(sample_, 5, j, "mem.used_bytes");
      BindReal(sample_, 6, j, "mem.pct");
      BindReal(sample_, 7, j, "load.1m");
      BindReal(sample_, 8, j, "load.5m");
      BindReal(sample_, 9, j, "load.15m");
      BindReal(sample_, 10, j, "net.rx_bytes_s");
      BindReal(sample_, 11, j, "net.tx_bytes_s");
      BindReal(sample_, 12, j, "net.rx_packets_s");
      BindReal(sample_, 13, j, "net.tx_packets_s");
      std::optional<double> fullest;
      if (auto it = j.find("disk"); it != j.end() && it->is_object()) {
        size_t n = 0;
        for (const auto& [mount, d] : it->items()) {
          if (++n > kMaxMounts || !d.is_object()) continue;
          disk_.Bind(1, e->host).Bind(2, mount).Bind(3, ts);
          BindInt(disk_, 4, d, "total_bytes");
          BindInt(disk_, 5, d, "used_bytes");
          if (auto pct = BindReal(disk_, 6, d, "pct")) fullest = std::max(fullest.value_or(*pct), *pct);
          disk_.Run();
        }
      }
      if (fullest) {
        sample_.Bind(14, *fullest);
      } else {
        sample_.BindNull(14);
      }
      sample_.Run();
    }
  }

  // Samples are raw detail: they go with the raw events.
  int64_t Expire(int64_t raw_cutoff_ms, int64_t) override {
    int64_t n = 0;
    for (store::Statement* s : {&expire_samples_, &expire_disks_}) {
      s->Bind(1, raw_cutoff_ms).Run();
      n += db_.Changes();
    }
    return n;
  }

 private:
  static std::optional<double> BindReal(store::Statement& s, int index, const nlohmann::json& j, const char* path) {
    const nlohmann::json* v = proto::FindPath(j, path);
    if (!v || !v->is_number()) {
      s.BindNull(index);
      return std::nullopt;
    }
    s.Bind(index, v->get<double>());
    return v->get<double>();
  }
  static void BindInt(store::Statement& s, int index, const nlohmann::json& j, const char* path) {
    const nlohmann::json* v = proto::FindPath(j, path);
    if (v && v->is_number_integer()) {
      s.Bind(index, v->get<int64_t>());
    } else if (v && v->is_number() && std::fabs(v->get<double>()) < 9e18) {
      s.Bind(index, static_cast<int64_t>(v->get<double>()));
    } else {
      s.BindNull(index);
    }
  }

  store::Database& db_;
  store::Statement sample_, disk_, expire_samples_, expire_disks_;
};

}  // namespace

AggregatorSpec SystemAggregatorSpec() {
  AggregatorSpec spec;
  spec.make = [](const AggregatorContext& context) -> std::unique_ptr<Aggregator> {
    Settings("system", context.settings, {});
    return std::make_unique<SystemAggregator>(context.db);
  };
  spec.migrations = {
      // 1: as a store of schema 5 made them (IF NOT EXISTS: such files have them).
      R"sql(
        CREATE TABLE IF NOT EXISTS system_samples(
          host             TEXT NOT NULL,
          ts               INTEGER NOT NULL,
          cpu_pct          REAL,
          mem_total_bytes  INTEGER,
          mem_used_bytes   INTEGER,
          mem_pct          REAL,
          load1            REAL,
          load5            REAL,
          load15           REAL,
          net_rx_bytes_s   REAL,
          net_tx_bytes_s   REAL,
          net_rx_packets_s REAL,
          net_tx_packets_s REAL,
          disk_max_pct     REAL,
          PRIMARY KEY (host, ts)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS system_samples_ts ON system_samples(ts);
        CREATE TABLE IF NOT EXISTS system_disks(
          host        TEXT NOT NULL,
          mount       TEXT NOT NULL,
          ts          INTEGER NOT NULL,
          total_bytes INTEGER,
          used_bytes  INTEGER,
          pct         REAL,
          PRIMARY KEY (host, mount, ts)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS system_disks_ts ON system_disks(ts);
      )sql",
  };
  return spec;
}

}  // namespace argus::consumer
