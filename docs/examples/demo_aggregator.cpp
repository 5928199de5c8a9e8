// `demo`: the smallest complete aggregator, and the template for your own: events per
// type per minute. It is an example, not part of the consumer: the test suite
// compiles it and registers it as a plugin would, so it stays correct
// (docs/aggregators.md walks through it).
#include "consumer/aggregator.h"
#include "consumer/settings.h"

namespace argus::consumer {
namespace {

class DemoAggregator : public Aggregator {
 public:
  explicit DemoAggregator(store::Database& db)
      : db_(db),
        upsert_(db,
                "INSERT INTO demo_counts(type, minute, events) VALUES (?1, ?2, 1) "
                "ON CONFLICT(type, minute) DO UPDATE SET events = events + 1"),
        expire_(db, "DELETE FROM demo_counts WHERE minute < ?1") {}

  // Only events stored for the first time arrive here, inside the batch's transaction.
  void Apply(const std::vector<const proto::Event*>& fresh) override {
    for (const proto::Event* e : fresh) {
      const int64_t ts = e->ts.value_or(0);
      upsert_.Bind(1, e->type).Bind(2, ts - ts % 60000).Run();
    }
  }

  // Counts are summaries: they go after the summary days.
  int64_t Expire(int64_t /*raw_cutoff_ms*/, int64_t summary_cutoff_ms) override {
    expire_.Bind(1, summary_cutoff_ms).Run();
    return db_.Changes();
  }

 private:
  store::Database& db_;
  store::Statement upsert_, expire_;
};

}  // namespace

// Register it before any consumer starts: RegisterAggregator("demo", DemoAggregatorSpec()).
AggregatorSpec DemoAggregatorSpec() {
  AggregatorSpec spec;
  spec.make = [](const AggregatorContext& context) -> std::unique_ptr<Aggregator> {
    Settings("demo", context.settings, {});  // takes none; refuses any
    return std::make_unique<DemoAggregator>(context.db);
  };
  // Its tables, as migrations: applied once per database before it is built, and
  // never edited once released (a change is a new entry). IF NOT EXISTS because
  // stores made before the demo became an example have the table already.
  spec.migrations = {
      R"sql(
        CREATE TABLE IF NOT EXISTS demo_counts(
          type   TEXT NOT NULL,
          minute INTEGER NOT NULL,
          events INTEGER NOT NULL,
          PRIMARY KEY (type, minute)) WITHOUT ROWID;
      )sql",
  };
  return spec;
}

}  // namespace argus::consumer
