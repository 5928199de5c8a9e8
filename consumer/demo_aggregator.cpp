// `demo`: the smallest complete aggregator, and the template for your own: events per
// type per minute. Its table is migration 4 in store/schema.cpp.
#include "consumer/aggregator.h"
#include "consumer/settings.h"

namespace argus::consumer {
namespace {

class DemoAggregator : public Aggregator {
 public:
  explicit DemoAggregator(store::Database& db)
      : upsert_(db,
                "INSERT INTO demo_counts(type, minute, events) VALUES (?1, ?2, 1) "
                "ON CONFLICT(type, minute) DO UPDATE SET events = events + 1") {}

  // Only events stored for the first time arrive here, inside the batch's transaction.
  void Apply(const std::vector<const proto::Event*>& fresh) override {
    for (const proto::Event* e : fresh) {
      const int64_t ts = e->ts.value_or(0);
      upsert_.Bind(1, e->type).Bind(2, ts - ts % 60000).Run();
    }
  }

 private:
  store::Statement upsert_;
};

}  // namespace

std::unique_ptr<Aggregator> MakeDemoAggregator(const AggregatorContext& context) {
  Settings("demo", context.settings, {});  // takes none; refuses any
  return std::make_unique<DemoAggregator>(context.db);
}

}  // namespace argus::consumer
