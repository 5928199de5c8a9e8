#include "store/series.h"

#include <limits>

#include <algorithm>
#include <map>

#include <nlohmann/json.hpp>

#include "proto/event.h"
#include "store/reader.h"
#include "store/schema.h"

namespace argus::store {
namespace {

constexpr const char* kAggNames[] = {"avg", "min", "max", "sum", "count", "last"};

// Parameters every series statement binds the same way.
enum Param { kType = 1, kField, kSince, kUntil, kStep, kHosts, kPrefix, kPrefixEnd, kAfter, kLimit };

// The WHERE fragment that keeps a query to its hosts (and its page of hosts). Fixed
// text only: the hosts themselves are bound.
std::string HostClause(const SeriesQuery& q) {
  std::string sql;
  if (!q.hosts.hosts.empty()) sql += " AND host IN (SELECT value FROM json_each(?6))";
  if (!q.hosts.prefix.empty()) sql += " AND host >= ?7 AND (?8 = '' OR host < ?8)";
  if (q.per_host && !q.after_host.empty()) sql += " AND host > ?9";
  return sql;
}

// Binds what the statement uses; SQLite ignores a number the text does not have.
void BindCommon(Statement& s, const SeriesQuery& q) {
  s.Bind(kType, q.type).Bind(kField, q.field).Bind(kSince, q.since).Bind(kUntil, q.until).Bind(kStep, q.step);
  if (!q.hosts.hosts.empty()) s.Bind(kHosts, nlohmann::json(q.hosts.hosts).dump());
  if (!q.hosts.prefix.empty()) s.Bind(kPrefix, q.hosts.prefix).Bind(kPrefixEnd, PrefixEnd(q.hosts.prefix));
  if (q.per_host && !q.after_host.empty()) s.Bind(kAfter, q.after_host);
}

// The rollup rows of the query's type, field, time range and hosts, as one relation
// (host, t, count, sum, min, max, last, last_ts); each table filtered on its own key.
std::string RollupRows(const SeriesQuery& q, bool with_hours) {
  const std::string hosts = HostClause(q);
  auto arm = [&](const char* table, const char* time) {
    return std::string("SELECT host, ") + time + " AS t, count, sum, min, max, last, last_ts FROM " + table +
           " WHERE type = ?1 AND field = ?2 AND " + time + " >= ?3 AND " + time + " < ?4" + hosts;
  };
  std::string sql = arm("rollups_1m", "minute");
  if (with_hours) sql += " UNION ALL " + arm("rollups_1h", "hour");
  return "(" + sql + ")";
}

// The aggregate over rollup rows that gives `agg`. `last` is SQLite's bare column of
// the one max() in the query: the row with the latest sample.
std::string AggExpr(Agg agg) {
  switch (agg) {
    case Agg::kAvg: return "sum(sum) / sum(count)";
    case Agg::kMin: return "min(min)";
    case Agg::kMax: return "max(max)";
    case Agg::kSum: return "sum(sum)";
    case Agg::kCount: return "sum(count)";
    case Agg::kLast: return "last, max(last_ts)";
  }
  return "NULL";
}

bool RollupsExist(Database& db) { return TableExists(db, "rollups_1m") && TableExists(db, "rollups_1h"); }

}  // namespace

std::optional<Agg> ParseAgg(std::string_view name) {
  for (size_t i = 0; i < std::size(kAggNames); ++i) {
    if (name == kAggNames[i]) return static_cast<Agg>(i);
  }
  return std::nullopt;
}

const char* AggName(Agg agg) { return kAggNames[static_cast<size_t>(agg)]; }

void Rollup::Add(double v, int64_t ts) {
  min = count == 0 ? v : std::min(min, v);
  max = count == 0 ? v : std::max(max, v);
  ++count;
  sum += v;
  if (ts >= last_ts) {
    last = v;
    last_ts = ts;
  }
}

double Rollup::Value(Agg agg) const {
  switch (agg) {
    case Agg::kAvg: return sum / static_cast<double>(count);
    case Agg::kMin: return min;
    case Agg::kMax: return max;
    case Agg::kSum: return sum;
    case Agg::kCount: return static_cast<double>(count);
    case Agg::kLast: return last;
  }
  return 0;
}

const char* SourceName(Source source) {
  switch (source) {
    case Source::kRaw: return "raw";
    case Source::kMinute: return "1m";
    case Source::kHour: return "1h";
  }
  return "?";
}

int64_t SourceResolutionMs(Source source) {
  switch (source) {
    case Source::kRaw: return 1;
    case Source::kMinute: return 60000;
    case Source::kHour: return 3600000;
  }
  return 1;
}

std::vector<FieldRow> SeriesReader::Fields(const std::string& type, const std::string& after, int64_t limit) {
  if (!TableExists(db_, "rollup_fields")) return {};
  Statement s(db_,
              "SELECT field, first_seen, last_seen FROM rollup_fields WHERE type = ?1 AND field > ?2 "
              "ORDER BY field LIMIT ?3",
              kReused);
  s.Bind(1, type).Bind(2, after).Bind(3, limit);
  std::vector<FieldRow> out;
  while (s.Step()) out.push_back({s.Text(0), s.Int(1), s.Int(2)});
  return out;
}

std::vector<Series> SeriesReader::Read(const SeriesQuery& q, bool* more) {
  if (more) *more = false;
  if (q.source == Source::kRaw) return ReadRaw(q, more);
  if (!RollupsExist(db_)) return {};
  const std::string rows = RollupRows(q, q.source == Source::kHour);
  const std::string bucket = "(t / ?5) * ?5";
  Statement s(db_, q.per_host ? "SELECT host, " + bucket + " AS b, " + AggExpr(q.agg) + " FROM " + rows +
                                    " GROUP BY host, b ORDER BY host, b"
                              : "SELECT NULL, " + bucket + " AS b, " + AggExpr(q.agg) + " FROM " + rows +
                                    " GROUP BY b ORDER BY b", kReused);
  BindCommon(s, q);
  std::vector<Series> out;
  while (s.Step()) {
    std::optional<std::string> host;
    if (q.per_host) host = s.Text(0);
    if (out.empty() || out.back().host != host) {
      if (q.per_host && static_cast<int64_t>(out.size()) == q.max_series) {
        if (more) *more = true;
        break;
      }
      out.push_back({host, {}});
    }
    if (!s.IsNull(2)) out.back().points.emplace_back(s.Int(1), s.Real(2));
  }
  return out;
}

std::map<std::string, double> SeriesReader::Totals(const SeriesQuery& q) {
  std::map<std::string, double> out;
  if (q.source != Source::kRaw) {
    for (const TopRow& r : Top(q, std::numeric_limits<int64_t>::max(), false)) out[r.host] = r.value;
    return out;
  }
  SeriesQuery one = q;
  one.per_host = true;
  one.after_host.clear();
  one.max_series = std::numeric_limits<int64_t>::max();
  one.step = std::numeric_limits<int64_t>::max();  // ts - ts % step == 0: one bucket per host
  for (const Series& series : ReadRaw(one, nullptr)) {
    if (!series.points.empty()) out[*series.host] = series.points.front().second;
  }
  return out;
}

std::vector<Series> SeriesReader::ReadRaw(const SeriesQuery& q, bool* more) {
  // Numbers are found in the content exactly as the generic aggregator finds them, so a
  // raw series and a rollup series of the same samples agree.
  Statement s(db_, "SELECT host, ts, content FROM events WHERE type = ?1 AND ts >= ?3 AND ts < ?4" + HostClause(q) +
                       " ORDER BY ts, seq", kReused);
  BindCommon(s, q);
  std::map<std::string, std::map<int64_t, Rollup>> buckets;  // host ("" merged) -> bucket -> samples
  while (s.Step()) {
    const int64_t ts = s.Int(1);
    const std::string content = s.Text(2);
    const std::string host = q.per_host ? s.Text(0) : std::string();
    proto::ForEachNumber(content, proto::kMaxNumberFields, [&](const std::string& path, double v) {
      if (path == q.field) buckets[host][ts - ts % q.step].Add(v, ts);
    });
  }
  std::vector<Series> out;
  for (const auto& [host, points] : buckets) {
    if (q.per_host && static_cast<int64_t>(out.size()) == q.max_series) {
      if (more) *more = true;
      break;
    }
    Series series;
    if (q.per_host) series.host = host;
    for (const auto& [b, r] : points) series.points.emplace_back(b, r.Value(q.agg));
    out.push_back(std::move(series));
  }
  return out;
}

std::vector<TopRow> SeriesReader::Top(const SeriesQuery& q, int64_t n, bool ascending) {
  if (!RollupsExist(db_)) return {};
  SeriesQuery all = q;
  all.per_host = false;
  const std::string value = q.agg == Agg::kLast ? "last, max(last_ts)" : AggExpr(q.agg) + ", NULL";
  Statement s(db_, "SELECT host, " + value + ", sum(count) FROM " + RollupRows(all, true) +
                       " GROUP BY host ORDER BY 2 " + (ascending ? "ASC" : "DESC") + ", host LIMIT ?10", kReused);
  BindCommon(s, all);
  s.Bind(kLimit, n);
  std::vector<TopRow> out;
  while (s.Step()) out.push_back({s.Text(0), s.Real(1), s.Int(3)});
  return out;
}

std::optional<int64_t> SeriesReader::FoldedUntil() {
  if (!RollupsExist(db_)) return std::nullopt;
  Statement s(db_, "SELECT max(hour) FROM rollups_1h", kReused);  // the rollups_1h_hour index's last entry
  if (s.Step() && !s.IsNull(0)) return s.Int(0) + SourceResolutionMs(Source::kHour);
  return std::nullopt;
}

}  // namespace argus::store
