#include <doctest/doctest.h>

#include "dash/params.h"

using argus::dash::Params;

TEST_SUITE("dash::params") {
  TEST_CASE("values within their rules pass") {
    Params p({{"type", "disk"}, {"limit", "10"}, {"host", "web-01"}}, {"type", "limit", "host"});
    CHECK(p.Type("type") == "disk");
    CHECK(p.Int("limit", 1, 100) == 10);
    CHECK(p.Text("host", 255) == "web-01");
    CHECK_FALSE(p.Int("since", 0, 10));
    CHECK(p.error().empty());
  }

  TEST_CASE("each bad parameter is named") {
    Params a({{"limit", "abc"}}, {"limit"});
    a.Int("limit", 1, 1000);
    CHECK(a.error() == "parameter 'limit' must be an integer from 1 to 1000, got 'abc'");
    Params b({{"limit", "5000"}}, {"limit"});
    b.Int("limit", 1, 1000);
    CHECK(b.error().find("parameter 'limit'") == 0);
    Params c({{"type", "Bad Type"}}, {"type"});
    c.Type("type");
    CHECK(c.error().find("parameter 'type' must be an event type") == 0);
    Params d({{"colour", "red"}}, {"type"});
    CHECK(d.error() == "unknown parameter 'colour' (allowed: type)");
    Params e({{"since", "12x"}}, {"since"});
    e.Int("since", 0, 100);
    CHECK(e.error().find("parameter 'since'") == 0);
  }
}
