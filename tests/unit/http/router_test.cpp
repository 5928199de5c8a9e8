#include <doctest/doctest.h>

#include <limits>

#include "tests/support/checks.h"
#include "http/endpoint.h"
#include "http/metrics.h"
#include "http/router.h"

using namespace argus::http;
namespace bhttp = boost::beast::http;

namespace {

Request Make(bhttp::verb method, const std::string& target) {
  Request r{method, target, 11};
  return r;
}

}  // namespace

TEST_SUITE("http::router") {
  TEST_CASE("dispatch by path and method, 404 and 405 as JSON") {
    Router router;
    router.Add(bhttp::verb::get, "/a", [](const Request&, const Peer&) {
      return Json(bhttp::status::ok, {{"ok", true}});
    });
    router.Add(bhttp::verb::get, "/boom", [](const Request&, const Peer&) -> Response {
      throw std::runtime_error("secret detail");
    });
    Peer peer{"127.0.0.1"};
    CHECK(router.Dispatch(Make(bhttp::verb::get, "/a?x=1"), peer).result() == bhttp::status::ok);
    auto nf = router.Dispatch(Make(bhttp::verb::get, "/b"), peer);
    CHECK(nf.result() == bhttp::status::not_found);
    CHECK(nf.body() == R"({"error":"no such path: /b"})");
    auto na = router.Dispatch(Make(bhttp::verb::post, "/a"), peer);
    CHECK(na.result() == bhttp::status::method_not_allowed);
    CHECK(na[bhttp::field::allow] == "GET");
    auto boom = router.Dispatch(Make(bhttp::verb::get, "/boom"), peer);
    CHECK(boom.result() == bhttp::status::internal_server_error);
    CHECK(boom.body().find("secret detail") == std::string::npos);
  }

  TEST_CASE("a route ending in /* takes the paths below it, and exact routes and longer prefixes win") {
    Router router;
    auto answer = [](std::string name) {
      return [name](const Request& r, const Peer&) {
        std::string rest;
        argus::base::Status s = PathRest(std::string_view(r.target().data(), r.target().size()), "/h/", &rest);
        return Json(bhttp::status::ok, {{"route", name}, {"rest", s.ok() ? rest : s.message()}});
      };
    };
    router.Add(bhttp::verb::get, "/h", answer("list"));
    router.Add(bhttp::verb::get, "/h/*", answer("one"));
    router.Add(bhttp::verb::get, "/h/x/*", answer("deeper"));
    router.Add(bhttp::verb::get, "/h/fixed", answer("fixed"));
    Peer peer{"127.0.0.1"};
    auto body = [&](const std::string& target) {
      auto res = router.Dispatch(Make(bhttp::verb::get, target), peer);
      return res.result() == bhttp::status::ok ? nlohmann::json::parse(res.body()) : nlohmann::json(res.result_int());
    };
    CHECK(body("/h")["route"] == "list");
    CHECK(body("/h/web%2001?since=1") == nlohmann::json({{"route", "one"}, {"rest", "web 01"}}));
    CHECK(body("/h/x/y")["route"] == "deeper");
    CHECK(body("/h/fixed")["route"] == "fixed");
    CHECK(body("/h/") == 404);   // nothing below the prefix
    CHECK(body("/hx/a") == 404);
    CHECK(body("/h/%zz")["rest"].get<std::string>().find("the path is not a valid URL path") == 0);
  }

  TEST_CASE("query parameters are decoded") {
    std::map<std::string, std::string> q;
    REQUIRE_OK(QueryParams("/x?type=a%2Eb&host=web+01&empty=&flag&type=a%2Ec&sp=%20", &q));
    CHECK(q["type"] == "a.c");  // the last one counts
    CHECK(q["host"] == "web 01");
    CHECK(q["empty"] == "");
    CHECK(q.count("flag") == 1);
    CHECK(q["sp"] == " ");
    CHECK(TargetPath("/x?y") == "/x");
    REQUIRE_OK(QueryParams("/x", &q));
    CHECK(q.empty());
    argus::base::Status bad = QueryParams("/x?type=%zz", &q);
    CHECK(bad.code() == argus::base::Status::Code::kInvalid);
    CHECK(bad.message().find("not a valid URL") != std::string::npos);
  }

  TEST_CASE("secrets compare equal only when equal") {
    CHECK(SecretEquals("abc", "abc"));
    CHECK_FALSE(SecretEquals("abc", "abd"));
    CHECK_FALSE(SecretEquals("abc", "abcd"));
    CHECK_FALSE(SecretEquals("", "a"));
    CHECK(SecretEquals("", ""));
  }

  TEST_CASE("bearer token") {
    Request r = Make(bhttp::verb::post, "/");
    CHECK(BearerToken(r).empty());
    r.set(bhttp::field::authorization, "Bearer tok");
    CHECK(BearerToken(r) == "tok");
    r.set(bhttp::field::authorization, "bearer tok2");
    CHECK(BearerToken(r) == "tok2");
    r.set(bhttp::field::authorization, "Basic xyz");
    CHECK(BearerToken(r).empty());
  }
}

TEST_SUITE("http::endpoint") {
  TEST_CASE("parses HOST:PORT forms and names bad ones") {
    Endpoint a, b, c, tls, plain, bad;
    REQUIRE_OK(ParseEndpoint("127.0.0.1:9090", &a));
    CHECK(a.host == "127.0.0.1");
    CHECK(a.port == 9090);
    REQUIRE_OK(ParseEndpoint(":80", &b));
    CHECK(b.host == "127.0.0.1");
    REQUIRE_OK(ParseEndpoint("[::1]:5", &c));
    CHECK(c.host == "::1");
    CHECK(ParseEndpoint("localhost", &bad).message() == "'localhost' is not HOST:PORT");
    CHECK(ParseEndpoint("h:70000", &bad).message() == "'h:70000' has no valid port (0-65535)");
    CHECK_FALSE(ParseEndpoint("h:x", &bad).ok());
    CHECK_FALSE(ParseEndpoint("h:", &bad).ok());
    REQUIRE_OK(ParseEndpoint("https://proxy.example:9443/", &tls));
    CHECK(tls.tls);
    CHECK(tls.host == "proxy.example");
    CHECK(tls.port == 9443);
    CHECK(tls.ToString() == "https://proxy.example:9443");
    REQUIRE_OK(ParseEndpoint("http://h:1", &plain));
    CHECK_FALSE(plain.tls);
  }
}

TEST_SUITE("http::metrics") {
  TEST_CASE("renders Prometheus text with escaped labels") {
    Metrics m;
    m.Describe("x_total", Metrics::Kind::kCounter, "Things.");
    m.Add("x_total", {{"route", "/a\"b"}}, 2);
    m.Add("x_total", {{"route", "/a\"b"}});
    m.Describe("g", Metrics::Kind::kGauge, "A gauge.");
    m.Set("g", {}, 1.5);
    std::string text = m.Render();
    CHECK(text.find("# TYPE x_total counter\n") != std::string::npos);
    CHECK(text.find("x_total{route=\"/a\\\"b\"} 3\n") != std::string::npos);
    CHECK(text.find("# TYPE g gauge\ng 1.5\n") != std::string::npos);
  }

  TEST_CASE("values keep full precision, specials are spelled as Prometheus reads them") {
    Metrics m;
    m.DescribeHistogram("h_seconds", "A histogram.", {0.005, 0.25});
    m.Observe("h_seconds", {}, 12345.678);
    m.Describe("g", Metrics::Kind::kGauge, "A gauge.");
    m.Set("g", {{"k", "big"}}, 1234567890123.25);
    m.Set("g", {{"k", "inf"}}, std::numeric_limits<double>::infinity());
    m.Set("g", {{"k", "nan"}}, std::numeric_limits<double>::quiet_NaN());
    std::string text = m.Render();
    CHECK(text.find("h_seconds_sum 12345.678\n") != std::string::npos);
    CHECK(text.find("h_seconds_bucket{le=\"0.005\"} 0\n") != std::string::npos);
    CHECK(text.find("g{k=\"big\"} 1234567890123.25\n") != std::string::npos);
    CHECK(text.find("g{k=\"inf\"} +Inf\n") != std::string::npos);
    CHECK(text.find("g{k=\"nan\"} NaN\n") != std::string::npos);
  }
}
