// Helper for bench/alert.sh:
//   run --db PATH --redis HOST:PORT --now MS --rounds N
//     10 threshold rules over every host of the dash benchmark's store (bench/dash.sh's
//     `fill`): 1,000 hosts make 10,000 (rule, host) pairs, five rules judged from raw
//     events (5 min windows), five from the rollups (30 min). One evaluator runs a first
//     round (every pair's state is created) and N more (states kept, values moved); then
//     the same window reads as plain SQL on the same file, N times. Prints
//     "pairs first_ms round_ms sql_ms" (rounds as medians).
#include <algorithm>
#include <chrono>
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "alert/evaluator.h"
#include "base/clock.h"
#include "queue/redis_address.h"
#include "store/alerts.h"
#include "store/database.h"

using namespace argus;
using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

namespace {

struct BenchRule {
  json rule;
  std::string sql;  // the window read by plain SQL: ?1 since, ?2 until
};

std::vector<BenchRule> Rules() {
  std::vector<BenchRule> out;
  const char* aggs[] = {"avg", "max", "min", "last", "sum"};
  for (int i = 0; i < 5; ++i) {
    const std::string field = i % 2 ? "f1" : "f0";
    out.push_back({{{"name", "raw-" + std::to_string(i)}, {"kind", "threshold"}, {"type", "bench"}, {"field", field},
                    {"agg", aggs[i]}, {"op", ">"}, {"value", 25}, {"window", "5m"}, {"interval", "1s"}},
                   std::string("SELECT host, ") + (std::string(aggs[i]) == "last" ? "json_extract(content, '$." + field + "'), max(ts)"
                                                                                  : std::string(aggs[i]) + "(json_extract(content, '$." + field + "'))") +
                       " FROM events WHERE type = 'bench' AND ts >= ?1 AND ts < ?2 GROUP BY host"});
  }
  for (int i = 0; i < 5; ++i) {
    const std::string field = "f" + std::to_string(i);
    out.push_back({{{"name", "rollup-" + std::to_string(i)}, {"kind", "threshold"}, {"type", "bench"}, {"field", field},
                    {"agg", "avg"}, {"op", ">"}, {"value", 10.0 * i + 25}, {"window", "30m"}, {"interval", "1s"}},
                   "SELECT host, sum(sum) / sum(count) FROM (SELECT host, count, sum FROM rollups_1m WHERE type = 'bench' "
                   "AND field = '" + field + "' AND minute >= ?1 AND minute < ?2 UNION ALL SELECT host, count, sum FROM "
                   "rollups_1h WHERE type = 'bench' AND field = '" + field + "' AND hour >= ?1 AND hour < ?2) GROUP BY host"});
  }
  return out;
}

double Ms(SteadyClock::time_point since) {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - since).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

int Run(const std::string& db_path, const std::string& redis_address, int64_t now, int rounds) {
  const auto rules = Rules();
  {
    auto db = store::Database::Open(db_path);
    store::AlertStore store(*db);
    for (const auto& r : rules) store.Put(r.rule["name"], r.rule.dump(), "api", now);
  }
  alert::EvaluatorOptions o;
  o.db_path = db_path;
  if (base::Status s = queue::ParseRedisAddress(redis_address, &o.redis); !s.ok()) throw std::runtime_error(s.message());
  o.name = "bench";
  base::ManualClock clock;
  clock.SetWallMs(now);
  alert::Evaluator evaluator(o, clock);
  auto started = SteadyClock::now();
  evaluator.RunOnce();
  const double first = Ms(started);
  if (!evaluator.healthy()) throw std::runtime_error("the first round failed; see the log");
  std::vector<double> round_ms;
  for (int i = 0; i < rounds; ++i) {
    clock.SetWallMs(now + 1000 * (i + 1));  // every rule is due again
    started = SteadyClock::now();
    evaluator.RunOnce();
    round_ms.push_back(Ms(started));
  }
  std::vector<double> sql_ms;
  auto db = store::Database::OpenReadOnly(db_path);
  int64_t rows = 0;
  for (int i = 0; i < rounds; ++i) {
    started = SteadyClock::now();
    for (const auto& r : rules) {
      store::Statement s(*db, r.sql);
      const int64_t window = r.rule["window"] == "5m" ? 300000 : 1800000;
      s.Bind(1, now - window).Bind(2, now + 1);
      while (s.Step()) ++rows;
    }
    sql_ms.push_back(Ms(started));
  }
  const auto& st = evaluator.stats();
  std::cout << st.evaluations / static_cast<uint64_t>(rounds + 1) << " " << first << " " << Median(round_ms) << " "
            << Median(sql_ms) << " " << st.notifications << " " << rows / rounds << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"argus_alert_bench: helper for bench/alert.sh"};
  std::string db, redis;
  int64_t now = 0;
  int rounds = 5;
  app.add_option("--db", db)->required();
  app.add_option("--redis", redis)->required();
  app.add_option("--now", now)->required();
  app.add_option("--rounds", rounds)->check(CLI::Range(1, 1000));
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);
  try {
    return Run(db, redis, now, rounds);
  } catch (const std::exception& e) {
    std::cerr << "argus_alert_bench: " << e.what() << "\n";
    return 1;
  }
}
