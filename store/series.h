// Numeric series over the generic aggregator's rollups (or over raw events, for steps
// under a minute), the fields a type has, and hosts ranked by a field: what the dash
// draws its charts from.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/database.h"

namespace argus::store {

enum class Agg { kAvg, kMin, kMax, kSum, kCount, kLast };
// "avg", "min", "max", "sum", "count", "last"; nullopt for anything else.
std::optional<Agg> ParseAgg(std::string_view name);
const char* AggName(Agg agg);

// Count, sum, min, max and the latest value of a set of samples: one rollup cell, or
// one bucket of a series from raw events. Every agg is computed from these.
struct Rollup {
  int64_t count = 0;
  double sum = 0, min = 0, max = 0, last = 0;
  int64_t last_ts = INT64_MIN;
  // The latest sample by its own time is `last`; a tie goes to the later arrival.
  void Add(double v, int64_t ts);
  double Value(Agg agg) const;
};

// Where a series' points come from. kHour reads the one-hour rollups and, for the
// hours not yet folded, the one-minute ones: together they hold every sample once.
enum class Source { kRaw, kMinute, kHour };
const char* SourceName(Source source);  // "raw", "1m", "1h"
int64_t SourceResolutionMs(Source source);  // 1, 60000, 3600000

struct FieldRow {
  std::string field;
  int64_t first_seen = 0, last_seen = 0;
};

// The hosts a series or a ranking covers: a list, a name prefix, or (both empty) all.
struct HostFilter {
  std::vector<std::string> hosts;
  std::string prefix;
};

struct SeriesQuery {
  std::string type, field;
  Agg agg = Agg::kAvg;
  Source source = Source::kMinute;
  int64_t step = 60000;          // a multiple of the source's resolution
  int64_t since = 0, until = 0;  // [since, until), ms since the epoch
  HostFilter hosts;
  bool per_host = false;   // one series per host, in host order, else one merged series
  std::string after_host;  // per_host: the page starts after this host
  int64_t max_series = 100;  // per_host: hosts per page
};

struct Series {
  std::optional<std::string> host;                 // nullopt: merged over the hosts
  std::vector<std::pair<int64_t, double>> points;  // bucket start, value; buckets with data only
};

struct TopRow {
  std::string host;
  double value = 0;
  int64_t count = 0;  // samples behind the value
};

class SeriesReader {
 public:
  explicit SeriesReader(Database& db) : db_(db) {}
  // The numeric fields of `type` in field order, after `after` (exclusive), at most `limit`.
  std::vector<FieldRow> Fields(const std::string& type, const std::string& after, int64_t limit);
  // Buckets of q.step from q.since; merged buckets combine the hosts' rollups (an avg is
  // the sum of sums over the sum of counts). With per_host, `more` says that hosts
  // beyond this page have points.
  std::vector<Series> Read(const SeriesQuery& q, bool* more = nullptr);
  // Hosts by the agg of the field over [since, until), highest first (lowest with
  // `ascending`), at most `n`; reads the rollups (q.source and q.step are ignored).
  std::vector<TopRow> Top(const SeriesQuery& q, int64_t n, bool ascending);
  // Each host's agg of the field over [since, until): from raw events when q.source is
  // kRaw, else from the one-minute and one-hour rollups. The alert evaluator's window.
  std::map<std::string, double> Totals(const SeriesQuery& q);
  // The end of the last hour folded into the one-hour rollups: before it, samples are
  // kept in whole hours only. Nullopt while nothing has been folded.
  std::optional<int64_t> FoldedUntil();

 private:
  std::vector<Series> ReadRaw(const SeriesQuery& q, bool* more);
  Database& db_;
};

}  // namespace argus::store
