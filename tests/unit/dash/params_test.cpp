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
}
