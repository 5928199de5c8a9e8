// `generic`: one-minute rollups (count, sum, min, max, last) of every numeric field of
// every event's content, per (type, field, host), so a new script's numbers are
// chartable with no code change.
#include "consumer/aggregator.h"
#include "consumer/settings.h"

#include <algorithm>
#include <map>
#include <tuple>

namespace argus::consumer {
namespace {

// Fields per event that get a rollup; content beyond that is still stored raw.
constexpr size_t kMaxFields = 256;

// One rollup cell's change from a batch.
struct Cell {
  int64_t count = 0;
  double sum = 0, min = 0, max = 0, last = 0;
  int64_t last_ts = INT64_MIN;
  void Add(double v, int64_t ts) {
    min = count == 0 ? v : std::min(min, v);
    max = count == 0 ? v : std::max(max, v);
    ++count;
    sum += v;
    // The latest sample by its own time wins; a tie goes to the later arrival.
    if (ts >= last_ts) {
      last = v;
      last_ts = ts;
    }
  }
};

class GenericAggregator : public Aggregator {
 public:
  explicit GenericAggregator(store::Database& db)
      : upsert_(db,
                "INSERT INTO rollups_1m(type, field, host, minute, count, sum, min, max, last, last_ts) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
                "ON CONFLICT(type, field, host, minute) DO UPDATE SET count = count + ?5, sum = sum + ?6, "
                "min = min(min, ?7), max = max(max, ?8), "
                "last = CASE WHEN ?10 >= last_ts THEN ?9 ELSE last END, last_ts = max(last_ts, ?10)") {}

  void Apply(const std::vector<const proto::Event*>& fresh) override {
    // Summed per cell in memory first: a batch touches each cell once, not per event.
    std::map<std::tuple<std::string_view, std::string, std::string_view, int64_t>, Cell> cells;
    for (const proto::Event* e : fresh) {
      const int64_t ts = e->ts.value_or(e->recv_ts.value_or(0));
      const int64_t minute = ts - ts % 60000;
      proto::ForEachNumber(e->content, kMaxFields, [&](const std::string& field, double value) {
        cells[{e->type, field, e->host, minute}].Add(value, ts);
      });
    }
    for (const auto& [key, c] : cells) {
      const auto& [type, field, host, minute] = key;
      upsert_.Bind(1, type).Bind(2, field).Bind(3, host).Bind(4, minute).Bind(5, c.count);
      upsert_.Bind(6, c.sum).Bind(7, c.min).Bind(8, c.max).Bind(9, c.last).Bind(10, c.last_ts);
      upsert_.Run();
    }
  }

 private:
  store::Statement upsert_;
};

}  // namespace

std::unique_ptr<Aggregator> MakeGenericAggregator(const AggregatorContext& context) {
  Settings("generic", context.settings, {});  // takes none; refuses any
  return std::make_unique<GenericAggregator>(context.db);
}

}  // namespace argus::consumer
