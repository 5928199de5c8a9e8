#include <doctest/doctest.h>

#include "proxy/config.h"
#include "tests/support/support.h"

using namespace argus;

TEST_SUITE("proxy::config") {
  TEST_CASE("a config file sets endpoints, tokens (plain or bound to a host) and limits") {
    testing::TempDir dir;
    testing::WriteFile(dir / "p.json", R"({"listen":"0.0.0.0:9999","redis":"10.1.2.3:7000","shards":8,
      "tokens":["plain",{"token":"bound","host":"web-01","rate_limit":{"events_per_s":5}}],"admin_token":"adm",
      "rate_limit":{"events_per_s":100,"burst":500},"backlog_limit":42,
      "limits":{"max_batch_events":50,"max_depth":8}})");
    proxy::ProxyOptions o;
    REQUIRE_OK(proxy::LoadConfigFile(dir / "p.json", &o));
    CHECK(o.listen.ToString() == "0.0.0.0:9999");
    CHECK(o.redis.ToString() == "10.1.2.3:7000");
    CHECK(o.shards == 8);
    REQUIRE(o.tokens.size() == 2);
    CHECK(o.tokens[0].token == "plain");
    CHECK(o.tokens[0].host.empty());
    CHECK(o.tokens[1].host == "web-01");
    CHECK(o.admin_token == "adm");
    CHECK(o.limits.max_batch_events == 50);
    CHECK(o.limits.max_depth == 8);
    CHECK(o.rate.events_per_s == 100);
    CHECK(o.rate.burst == 500);
    CHECK_FALSE(o.tokens[0].rate.has_value());
    REQUIRE(o.tokens[1].rate.has_value());
    CHECK(o.tokens[1].rate->events_per_s == 5);
    CHECK(o.backlog_limit == 42);
  }

  TEST_CASE("mistakes are named") {
    testing::TempDir dir;
    auto error_of = [&](const std::string& text) {
      testing::WriteFile(dir / "p.json", text);
      proxy::ProxyOptions o;
      base::Status s = proxy::LoadConfigFile(dir / "p.json", &o);
      return s.ok() ? std::string("<accepted>") : s.message();
    };
    CHECK(error_of(R"({"colour":1})").find("unknown key 'colour'") != std::string::npos);
    CHECK(error_of(R"({"limits":{"max_body":1}})").find("unknown key 'limits.max_body'") != std::string::npos);
    CHECK(error_of(R"({"tokens":[{"token":"t","hots":"x"}]})").find("unknown key 'tokens[].hots'") != std::string::npos);
    CHECK(error_of(R"({"listen":"nope"})").find("'listen': 'nope' is not HOST:PORT") != std::string::npos);
    CHECK(error_of(R"({"rate_limit":{"per_s":1}})").find("unknown key 'rate_limit.per_s'") != std::string::npos);
    CHECK(error_of(R"({"rate_limit":{"events_per_s":-1}})").find("must be a number >= 0") != std::string::npos);
    CHECK(error_of(R"({"shards":0})").find("'shards' must be a positive integer") != std::string::npos);
    CHECK(error_of("{").find("is not valid JSON") != std::string::npos);
    CHECK(error_of("[]").find("is not a JSON object") != std::string::npos);
    proxy::ProxyOptions o;
    base::Status missing = proxy::LoadConfigFile(dir / "missing.json", &o);
    CHECK(missing.code() == base::Status::Code::kNotFound);
    CHECK(missing.message().find("cannot read") != std::string::npos);
  }
}
