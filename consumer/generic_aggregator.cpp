// `generic`: one-minute rollups (count, sum, min, max, last) of every numeric field of
// every event's content, per (type, field, host), so a new script's numbers are
// chartable with no code change.
#include "consumer/aggregator.h"

namespace argus::consumer {
namespace {

// Fields per event that get a rollup; content beyond that is still stored raw.
constexpr size_t kMaxFields = 256;

class GenericAggregator : public Aggregator {
 public:
  explicit GenericAggregator(store::Database& db)
      : upsert_(db,
                "INSERT INTO rollups_1m(type, field, host, minute, count, sum, min, max, last, last_ts) "
                "VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5, ?5, ?5, ?6) "
                "ON CONFLICT(type, field, host, minute) DO UPDATE SET count = count + 1, sum = sum + ?5, "
                "min = min(min, ?5), max = max(max, ?5), "
                // The latest sample by its own time wins; a tie goes to the later arrival.
                "last = CASE WHEN ?6 >= last_ts THEN ?5 ELSE last END, last_ts = max(last_ts, ?6)") {}

  void Apply(const std::vector<const proto::Event*>& fresh) override {
    for (const proto::Event* e : fresh) {
      const int64_t ts = e->ts.value_or(e->recv_ts.value_or(0));
      const int64_t minute = ts - ts % 60000;
      proto::ForEachNumber(e->content, kMaxFields, [&](const std::string& field, double value) {
        upsert_.Bind(1, e->type).Bind(2, field).Bind(3, e->host).Bind(4, minute);
        upsert_.Bind(5, value).Bind(6, ts);
        upsert_.Run();
      });
    }
  }

 private:
  store::Statement upsert_;
};

}  // namespace

std::unique_ptr<Aggregator> MakeGenericAggregator(store::Database& db) {
  return std::make_unique<GenericAggregator>(db);
}

}  // namespace argus::consumer
