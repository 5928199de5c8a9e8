#include <doctest/doctest.h>

#include <string>

#include "proto/event.h"
#include "proto/json_scan.h"

using namespace argus;

TEST_SUITE("proto::json_scan") {
  TEST_CASE("the top-level token is read without reading past it") {
    CHECK(proto::TopLevelString(R"({"token":"t1","data":[]})", "token", 8) == "t1");
    // Whatever follows the token is never looked at, broken or not.
    CHECK(proto::TopLevelString(R"({"token":"t2", this is not JSON)", "token", 8) == "t2");
    CHECK(proto::TopLevelString(R"({"data":[{"token":"inner"}],"token":"outer"})", "token", 8) == "outer");
    CHECK(proto::TopLevelString(R"({"token":"\u00e9\"q"})", "token", 8) == "\xc3\xa9\"q");
    CHECK_FALSE(proto::TopLevelString(R"([{"token":"in an array"}])", "token", 8));
    CHECK_FALSE(proto::TopLevelString(R"({"token":5,"token":"second"})", "token", 8));  // the first one decides
    CHECK_FALSE(proto::TopLevelString(R"({"token":["t"]})", "token", 8));
    CHECK_FALSE(proto::TopLevelString(R"({"other":"t"})", "token", 8));
    CHECK_FALSE(proto::TopLevelString("{not json", "token", 8));
    // Nesting past the limit before the token stops the scan.
    std::string deep = "{\"data\":" + std::string(20, '[') + std::string(20, ']') + ",\"token\":\"t\"}";
    CHECK_FALSE(proto::TopLevelString(deep, "token", 8));
    CHECK(proto::TopLevelString(deep, "token", 32) == "t");
  }

  TEST_CASE("syntax errors are located without building anything, even in 4 MiB of brackets") {
    CHECK_FALSE(proto::JsonSyntaxErrorAt(R"({"a":[1,2,{"b":null}]})"));
    CHECK(proto::JsonSyntaxErrorAt(R"({"a":[1,2,})") == 11u);
    CHECK_FALSE(proto::JsonSyntaxErrorAt(R"({"n":1e999})"));  // out of range is no syntax error
    const std::string brackets(4 * 1024 * 1024, '[');
    CHECK(proto::JsonSyntaxErrorAt(brackets) == brackets.size() + 1);
    auto r = proto::DecodeBatch(brackets, proto::Limits{});
    CHECK(r.status == 400);
    CHECK(r.error.rfind("malformed JSON at byte 4194305", 0) == 0);
  }
}
