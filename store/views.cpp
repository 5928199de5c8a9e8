#include "store/views.h"

#include "store/schema.h"

namespace argus::store {

const std::vector<std::string>& SystemMetrics() {
  static const std::vector<std::string> kMetrics = {"cpu_pct",        "mem_pct",        "load1",
                                                    "load5",          "load15",         "net_rx_bytes_s",
                                                    "net_tx_bytes_s", "net_rx_packets_s", "net_tx_packets_s",
                                                    "disk_max_pct"};
  return kMetrics;
}

std::vector<SystemPoint> ViewReader::System(const std::optional<std::string>& host, int64_t since, int64_t until,
                                            int64_t step, SystemAgg agg) {
  if (!TableExists(db_, "system_samples")) return {};
  // Column names come from the fixed list above, never from a request.
  const char* fn = agg == SystemAgg::kAvg ? "avg(" : agg == SystemAgg::kMin ? "min(" : "max(";
  std::string sql = "SELECT (ts / ?3) * ?3 AS b";
  for (const auto& m : SystemMetrics()) sql += std::string(", ") + fn + m + ")";
  sql += " FROM system_samples WHERE ts >= ?1 AND ts < ?2";
  if (host) sql += " AND host = ?4";
  sql += " GROUP BY b ORDER BY b";
  Statement s(db_, sql, kReused);
  s.Bind(1, since).Bind(2, until).Bind(3, step);
  if (host) s.Bind(4, *host);
  std::vector<SystemPoint> out;
  while (s.Step()) {
    SystemPoint p;
    p.ts = s.Int(0);
    for (size_t i = 0; i < SystemMetrics().size(); ++i) {
      const int col = static_cast<int>(i) + 1;
      p.values.push_back(s.OptReal(col));
    }
    out.push_back(std::move(p));
  }
  return out;
}

std::optional<SystemSample> ViewReader::LatestSystem(const std::string& host) {
  if (!TableExists(db_, "system_samples")) return std::nullopt;
  std::string sql = "SELECT ts, mem_total_bytes, mem_used_bytes";
  for (const auto& m : SystemMetrics()) sql += ", " + m;
  sql += " FROM system_samples WHERE host = ?1 ORDER BY ts DESC LIMIT 1";
  Statement s(db_, sql, kReused);
  s.Bind(1, host);
  if (!s.Step()) return std::nullopt;
  SystemSample out;
  out.ts = s.Int(0);
  out.metrics["mem_total_bytes"] = s.OptReal(1);
  out.metrics["mem_used_bytes"] = s.OptReal(2);
  for (size_t i = 0; i < SystemMetrics().size(); ++i) out.metrics[SystemMetrics()[i]] = s.OptReal(static_cast<int>(i) + 3);
  Statement d(db_, "SELECT mount, total_bytes, used_bytes, pct FROM system_disks WHERE host = ?1 AND ts = ?2 "
                   "ORDER BY mount LIMIT 64", kReused);
  d.Bind(1, host).Bind(2, out.ts);
  while (d.Step()) {
    out.disks.push_back({d.Text(0), d.OptReal(1), d.OptReal(2), d.OptReal(3)});
  }
  return out;
}

std::vector<PacketNetwork> ViewReader::Packet(const std::optional<std::string>& network, int64_t since,
                                              int64_t until, int64_t step) {
  if (!TableExists(db_, "packet_networks_1m")) return {};
  std::string sql =
      "SELECT network, (minute / ?3) * ?3 AS b, sum(sent), sum(expected), sum(received), sum(hops_sum), "
      "sum(delay_sum), max(delay_max) FROM packet_networks_1m WHERE minute >= ?1 AND minute < ?2";
  if (network) sql += " AND network = ?4";
  sql += " GROUP BY network, b ORDER BY network, b";
  Statement s(db_, sql, kReused);
  s.Bind(1, since).Bind(2, until).Bind(3, step);
  if (network) s.Bind(4, *network);
  std::vector<PacketNetwork> out;
  while (s.Step()) {
    if (out.empty() || out.back().network != s.Text(0)) out.push_back({s.Text(0), {}});
    out.back().points.push_back({s.Int(1), s.Int(2), s.Int(3), s.Int(4), s.Int(5), s.Int(6), s.Int(7)});
  }
  return out;
}

std::vector<PacketMessage> ViewReader::Messages(const std::optional<std::string>& network,
                                                const std::optional<MessageCursor>& after, int64_t limit,
                                                int64_t max_receipts) {
  if (!TableExists(db_, "packet_messages")) return {};
  std::string sql =
      "SELECT msg, network, sender, sent_ts, expected, receivers, first_recv_ts, last_recv_ts, hops_sum, "
      "max_hops, seen FROM packet_messages WHERE 1";
  if (network) sql += " AND network = ?1";
  if (after) sql += " AND (seen, msg) < (?2, ?3)";
  sql += " ORDER BY seen DESC, msg DESC LIMIT ?4";
  Statement s(db_, sql, kReused);
  if (network) s.Bind(1, *network);
  if (after) s.Bind(2, after->seen).Bind(3, after->msg);
  s.Bind(4, limit);
  std::vector<PacketMessage> out;
  while (s.Step()) {
    PacketMessage m;
    m.msg = s.Text(0);
    m.network = s.Text(1);
    m.sender = s.Text(2);
    m.sent_ts = s.OptInt(3);
    m.expected = s.Int(4);
    m.receivers = s.Int(5);
    m.first_recv_ts = s.OptInt(6);
    m.last_recv_ts = s.OptInt(7);
    m.hops_sum = s.Int(8);
    m.max_hops = s.Int(9);
    m.seen = s.Int(10);
    out.push_back(std::move(m));
  }
  Statement r(db_, "SELECT host, ts, hops FROM packet_receipts WHERE msg = ?1 ORDER BY ts, host LIMIT ?2", kReused);
  for (auto& m : out) {
    r.Bind(1, m.msg).Bind(2, max_receipts);
    while (r.Step()) m.receipts.push_back({r.Text(0), r.Int(1), r.Int(2)});
    r.Reset();
  }
  return out;
}

}  // namespace argus::store
