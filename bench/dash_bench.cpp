// Helper for bench/dash.sh:
//   fill --db PATH --hosts N --fields F --now MS   a store as the consumers leave it after a
//        week: 24 h of one-minute rollups, 6 days before that in one-hour rollups, the
//        field list, the hosts (with agent status) and an hour of raw events
//   sql  --db PATH --query NAME --now MS --threads C --seconds S
//        the limit: the same answer as the dash's route, by plain SQL on the same file,
//        from C threads with a read-only connection each; prints "qps p50_ms p99_ms rows"
#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <thread>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "consumer/aggregator.h"
#include "store/database.h"
#include "store/writer.h"

using namespace argus;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr int64_t kMinute = 60000, kHour = 60 * kMinute, kDay = 24 * kHour;

std::string Host(int i) {
  char name[32];
  std::snprintf(name, sizeof name, "host-%04d", i);
  return name;
}

int Fill(const std::string& path, int hosts, int fields, int64_t now) {
  auto db = store::Database::Open(path);
  // The tables exactly as the consumer's aggregators make them.
  const nlohmann::json no_settings = nlohmann::json::object();
  for (const char* name : {"generic", "hosts"}) {
    consumer::AggregatorContext ctx{*db, no_settings, {}, base::SystemClock()};
    consumer::BuildAggregator(name, ctx);
  }
  db->Exec("PRAGMA synchronous=OFF");
  const int64_t end = now - now % kMinute;
  store::Statement minute(*db,
                          "INSERT INTO rollups_1m(type, field, host, minute, count, sum, min, max, last, last_ts) "
                          "VALUES ('bench', ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  store::Statement hour(*db,
                        "INSERT INTO rollups_1h(type, field, host, hour, count, sum, min, max, last, last_ts) "
                        "VALUES ('bench', ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  auto cell = [](store::Statement& s, const std::string& field, const std::string& host, int64_t t, int64_t count,
                 double base) {
    s.Bind(1, field).Bind(2, host).Bind(3, t).Bind(4, count).Bind(5, base * static_cast<double>(count));
    s.Bind(6, base - 1).Bind(7, base + 1).Bind(8, base).Bind(9, t + 59000).Run();
  };
  int64_t rows = 0;
  for (int f = 0; f < fields; ++f) {
    const std::string field = "f" + std::to_string(f);
    store::Transaction tx(*db);
    for (int h = 0; h < hosts; ++h) {
      const std::string host = Host(h);
      for (int64_t t = end - kDay; t < end; t += kMinute) {
        cell(minute, field, host, t, 1 + (h + t / kMinute) % 6, 10.0 * f + h % 50 + (t / kMinute) % 30);
        ++rows;
      }
      // The hours before: what folding six days of minutes left.
      for (int64_t t = end - kDay - (end % kHour) - 6 * kDay; t < end - kDay - (end % kHour); t += kHour) {
        cell(hour, field, host, t, 60 * (1 + h % 6), 10.0 * f + h % 50);
        ++rows;
      }
    }
    tx.Commit();
  }
  {
    store::Transaction tx(*db);
    store::Statement fs(*db, "INSERT INTO rollup_fields(type, field, first_seen, last_seen) VALUES ('bench', ?1, ?2, ?3)");
    for (int f = 0; f < fields; ++f) fs.Bind(1, "f" + std::to_string(f)).Bind(2, end - 7 * kDay).Bind(3, end).Run();
    store::Statement st(*db,
                        "INSERT INTO host_status(host, state, state_since, last_seen, timeout_ms, agent_version, "
                        "last_heartbeat, heartbeat) VALUES (?1, 'online', ?2, ?2, 90000, '0.1.0', ?2, ?3)");
    for (int h = 0; h < hosts; ++h) {
      st.Bind(1, Host(h)).Bind(2, end).Bind(3, R"({"labels":{"role":"web"},"counters":{"sent":1}})").Run();
    }
    tx.Commit();
  }
  // An hour of raw events: a few per host per minute.
  std::vector<proto::Event> events;
  store::EventWriter writer(*db);
  int64_t raw = 0;
  for (int64_t t = end - kHour; t < end; t += 20000) {
    for (int h = 0; h < hosts; ++h) {
      proto::Event e;
      e.type = "bench";
      e.host = Host(h);
      e.id = "e" + std::to_string(t) + "-" + std::to_string(h);
      e.ts = t + h;
      e.recv_ts = *e.ts;
      e.addr = "10.0.0.1";
      e.content = R"({"f0":)" + std::to_string(h % 50) + R"(,"f1":2.5,"path":"/api/orders"})";
      events.push_back(std::move(e));
    }
    if (events.size() >= 5000) {
      raw += static_cast<int64_t>(writer.Write(events).stored);
      events.clear();
    }
  }
  raw += static_cast<int64_t>(writer.Write(events).stored);
  std::cout << rows << " rollup rows, " << raw << " raw events\n";
  return 0;
}

// The plain SQL that gives each route's answer.
struct Query {
  std::string sql;
  std::vector<int64_t> ints;  // bound as ?1, ?2, …
};

Query MakeQuery(const std::string& name, int64_t now) {
  const int64_t end = now - now % kMinute;
  const std::string arm_m = "SELECT host, minute AS t, count, sum FROM rollups_1m WHERE type = 'bench' AND field = 'f0' "
                            "AND minute >= ?1 AND minute < ?2";
  const std::string arm_h = "SELECT host, hour AS t, count, sum FROM rollups_1h WHERE type = 'bench' AND field = 'f0' "
                            "AND hour >= ?1 AND hour < ?2";
  if (name == "host24h") {
    return {"SELECT (minute / 300000) * 300000 AS b, sum(sum) / sum(count) FROM rollups_1m WHERE type = 'bench' "
            "AND field = 'f0' AND host = 'host-0042' AND minute >= ?1 AND minute < ?2 GROUP BY b ORDER BY b",
            {end - kDay, end}};
  }
  if (name == "all24h") {
    return {"SELECT (minute / 300000) * 300000 AS b, sum(sum) / sum(count) FROM rollups_1m WHERE type = 'bench' "
            "AND field = 'f0' AND minute >= ?1 AND minute < ?2 GROUP BY b ORDER BY b",
            {end - kDay, end}};
  }
  if (name == "all7d") {
    return {"SELECT (t / 3600000) * 3600000 AS b, sum(sum) / sum(count) FROM (" + arm_m + " UNION ALL " + arm_h +
                ") GROUP BY b ORDER BY b",
            {end - 7 * kDay - end % kHour, end - end % kHour + kHour}};
  }
  if (name == "top") {
    return {"SELECT host, sum(sum) / sum(count) AS v FROM (" + arm_m + " UNION ALL " + arm_h +
                ") GROUP BY host ORDER BY v DESC LIMIT 10",
            {end - kHour, end}};
  }
  if (name == "hosts") {
    return {"SELECT h.host, h.first_seen, h.last_seen, h.events, s.state, s.heartbeat FROM hosts h "
            "LEFT JOIN host_status s ON s.host = h.host WHERE h.host > '' ORDER BY h.host LIMIT 1000",
            {}};
  }
  if (name == "events") {
    return {"SELECT id, type, host, ts, recv_ts, priority, addr, content, seq FROM events WHERE type = 'bench' "
            "ORDER BY ts DESC, seq DESC LIMIT 100",
            {}};
  }
  throw std::runtime_error("unknown query " + name);
}

int Sql(const std::string& path, const std::string& name, int64_t now, int threads, double seconds) {
  const Query q = MakeQuery(name, now);
  std::vector<std::vector<double>> latencies(static_cast<size_t>(threads));
  std::atomic<int64_t> rows{0};
  const auto stop = SteadyClock::now() + std::chrono::duration<double>(seconds);
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) {
    pool.emplace_back([&, i] {
      auto db = store::Database::OpenReadOnly(path);
      store::Statement s(*db, q.sql);
      while (SteadyClock::now() < stop) {
        const auto t0 = SteadyClock::now();
        for (size_t k = 0; k < q.ints.size(); ++k) s.Bind(static_cast<int>(k + 1), q.ints[k]);
        int64_t n = 0;
        while (s.Step()) {
          ++n;
          (void)s.Text(0);  // read the values, as the dash does
        }
        s.Reset();
        rows = n;
        latencies[static_cast<size_t>(i)].push_back(std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count());
      }
    });
  }
  for (auto& t : pool) t.join();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) { return all.empty() ? 0 : all[std::min(all.size() - 1, static_cast<size_t>(p * static_cast<double>(all.size())))]; };
  std::cout << static_cast<double>(all.size()) / seconds << " " << pct(0.5) << " " << pct(0.99) << " " << rows << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"argus_dash_bench: helper for bench/dash.sh"};
  app.require_subcommand(1);
  std::string db, query;
  int hosts = 1000, fields = 5, threads = 4;
  int64_t now = 0;
  double seconds = 10;
  auto* fill = app.add_subcommand("fill", "build the benchmark store");
  fill->add_option("--db", db)->required();
  fill->add_option("--hosts", hosts);
  fill->add_option("--fields", fields);
  fill->add_option("--now", now)->required();
  auto* sql = app.add_subcommand("sql", "the limit: the same answer by plain SQL");
  sql->add_option("--db", db)->required();
  sql->add_option("--query", query)->required();
  sql->add_option("--now", now)->required();
  sql->add_option("--threads", threads);
  sql->add_option("--seconds", seconds);
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);
  try {
    if (*fill) return Fill(db, hosts, fields, now);
    return Sql(db, query, now, threads, seconds);
  } catch (const std::exception& e) {
    std::cerr << "argus_dash_bench: " << e.what() << "\n";
    return 1;
  }
}
