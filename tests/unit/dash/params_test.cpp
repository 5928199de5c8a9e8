#include <doctest/doctest.h>

#include "tests/support/checks.h"
#include "dash/params.h"

using argus::dash::Params;

TEST_SUITE("dash::params") {
  TEST_CASE("values within their rules pass") {
    Params p({{"type", "disk"}, {"limit", "10"}, {"host", "web-01"}}, {"type", "limit", "host"});
    CHECK(p.Type("type") == "disk");
    CHECK(p.Int("limit", 1, 100) == 10);
    CHECK(p.Text("host", 255) == "web-01");
    CHECK_FALSE(p.Int("since", 0, 10));
    CHECK_OK(p.status());
  }

  TEST_CASE("each bad parameter is named") {
    Params a({{"limit", "abc"}}, {"limit"});
    a.Int("limit", 1, 1000);
    CHECK(a.status().message() == "parameter 'limit' must be an integer from 1 to 1000, got 'abc'");
    Params b({{"limit", "5000"}}, {"limit"});
    b.Int("limit", 1, 1000);
    CHECK(b.status().message().find("parameter 'limit'") == 0);
    Params c({{"type", "Bad Type"}}, {"type"});
    c.Type("type");
    CHECK(c.status().message().find("parameter 'type' must be an event type") == 0);
    Params d({{"colour", "red"}}, {"type"});
    CHECK(d.status().message() == "unknown parameter 'colour' (allowed: type)");
    Params e({{"since", "12x"}}, {"since"});
    e.Int("since", 0, 100);
    CHECK(e.status().message().find("parameter 'since'") == 0);
    Params f(std::string_view("/api/v1/events?type=a%zz"), {"type"});
    CHECK(f.status().message().find("the request target is not a valid URL") == 0);
    Params g(std::string_view("/api/v1/events?type=disk&limit=5"), {"type", "limit"});
    CHECK(g.Type("type") == "disk");
    CHECK(g.Int("limit", 1, 10) == 5);
    CHECK_OK(g.status());
  }

  TEST_CASE("times are ms or relative to now, and durations take units") {
    const int64_t now = 1'700'000'000'000;
    Params p({{"a", "now"}, {"b", "-15m"}, {"c", "-7d"}, {"d", "1699999999000"}, {"e", "30s"}, {"f", "1h"}, {"g", "250"}},
             {"a", "b", "c", "d", "e", "f", "g"});
    CHECK(p.Time("a", now) == now);
    CHECK(p.Time("b", now) == now - 15 * 60000);
    CHECK(p.Time("c", now) == now - 7 * 86400000LL);
    CHECK(p.Time("d", now) == 1699999999000);
    CHECK(p.Duration("e", 1000, 86400000) == 30000);
    CHECK(p.Duration("f", 1000, 86400000) == 3600000);
    CHECK(p.Duration("g", 1, 1000) == 250);
    CHECK_OK(p.status());
    for (const char* bad : {"-15", "15m", "-m", "yesterday", "-1q", "now-1h", "-99999999999999w", ""}) {
      CAPTURE(bad);
      Params q({{"since", bad}}, {"since"});
      CHECK_FALSE(q.Time("since", now));
      CHECK(q.status().message().find("parameter 'since' must be ms since the epoch or a time relative to now") == 0);
    }
    Params d({{"step", "2d"}}, {"step"});
    CHECK_FALSE(d.Duration("step", 1000, 86400000));
    CHECK(d.status().message().find("parameter 'step' must be a duration from 1000 to 86400000 ms") == 0);
  }

  TEST_CASE("labels and choices") {
    Params p({{"label", "role=web=1"}, {"agg", "max"}}, {"label", "agg"});
    CHECK(p.Label("label") == std::make_pair(std::string("role"), std::string("web=1")));
    CHECK(p.Choice("agg", {"avg", "max"}) == "max");
    CHECK_OK(p.status());
    for (const char* bad : {"role", "=web", "ro le=web"}) {
      Params q({{"label", bad}}, {"label"});
      CHECK_FALSE(q.Label("label"));
      CHECK(q.status().message().find("parameter 'label' must be key=value") == 0);
    }
  }

  TEST_CASE("a window: defaults, alignment to whole steps, a chosen step and the point cap") {
    const int64_t now = 1'700'002'800'000 + 123'456;  // 2 min 3.456 s past an hour
    Params p(std::map<std::string, std::string>{}, {"since", "until", "step"});
    auto w = argus::dash::ReadWindow(p, now, 3600000, 1000);
    CHECK_OK(p.status());
    CHECK(w.step == 10000);  // 1 h in 10 s steps: 360 points
    CHECK(w.since % w.step == 0);
    CHECK(w.until % w.step == 0);
    CHECK(w.since <= now - 3600000);
    CHECK(w.until >= now);
    CHECK_FALSE(w.step_given);
    Params week({{"since", "-7d"}}, {"since", "until", "step"});
    CHECK(argus::dash::ReadWindow(week, now, 3600000, 1000).step == 30 * 60000);  // 336 points
    Params minutes({{"since", "-1h"}}, {"since", "until", "step"});
    CHECK(argus::dash::ReadWindow(minutes, now, 3600000, 60000).step == 60000);  // a multiple of the unit
    Params given({{"step", "5m"}, {"since", "-1h"}}, {"since", "until", "step"});
    auto g = argus::dash::ReadWindow(given, now, 3600000, 1000);
    CHECK(g.step == 300000);
    CHECK(g.step_given);
    CHECK(g.points() == 13);  // the partial steps at both ends are whole ones
    Params many({{"step", "1s"}, {"since", "-1d"}}, {"since", "until", "step"});
    argus::dash::ReadWindow(many, now, 3600000, 1000);
    CHECK(many.status().message().find("parameter 'step': 1000 ms gives 86401 points over this range, at most 2000") == 0);
    Params odd({{"step", "90s"}}, {"since", "until", "step"});
    argus::dash::ReadWindow(odd, now, 3600000, 60000);
    CHECK(odd.status().message() == "parameter 'step' must be a multiple of 60000 ms here");
  }
}
