#include <doctest/doctest.h>

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/support/checks.h"
#include "proto/event.h"
#include "proto/hash.h"
#include "proto/json_depth.h"

using namespace argus::proto;
using nlohmann::json;

namespace {

// Decodes a single-event batch and returns its error ("" when accepted).
std::string One(const std::string& event_json, const Limits& limits = {}) {
  auto r = DecodeBatch("{\"events\":[" + event_json + "]}", limits);
  REQUIRE(r.error.empty());
  if (r.rejected.empty()) return "";
  return r.rejected[0].error;
}

}  // namespace

TEST_SUITE("proto::event") {
  TEST_CASE("a complete event is accepted with every field") {
    auto r = DecodeBatch(R"({"events":[{"type":"disk","content":{"used":5},"host":"h1","ts":1700000000000,
                            "id":"x-1","priority":"high"}]})",
                         {});
    REQUIRE(r.error.empty());
    REQUIRE(r.events.size() == 1);
    const Event& e = r.events[0];
    CHECK(e.type == "disk");
    CHECK(json::parse(e.content) == json{{"used", 5}});
    CHECK(e.host == "h1");
    CHECK(e.ts == 1700000000000);
    CHECK(e.id == "x-1");
    CHECK(e.priority == Priority::kHigh);
  }

  TEST_CASE("type must match the pattern") {
    CHECK(IsValidType("a"));
    CHECK(IsValidType("argus.cron_error"));
    CHECK(IsValidType("0-x"));
    CHECK(IsValidType(std::string(64, 'a')));
    CHECK_FALSE(IsValidType(std::string(65, 'a')));
    CHECK_FALSE(IsValidType(""));
    CHECK_FALSE(IsValidType("_x"));
    CHECK_FALSE(IsValidType("Disk"));
    CHECK_FALSE(IsValidType("a b"));
    CHECK(One(R"({"type":"Disk","content":{}})").find("field 'type' must match") == 0);
    CHECK(One(R"({"type":5,"content":{}})") == "field 'type' must be a string, not an integer");
    CHECK(One(R"({"content":{}})") == "missing required field 'type'");
  }

  TEST_CASE("content must be an object and is required") {
    CHECK(One(R"({"type":"a"})") == "missing required field 'content' (an object)");
    CHECK(One(R"({"type":"a","content":[1]})") == "field 'content' must be an object, not an array");
    CHECK(One(R"({"type":"a","content":"x"})") == "field 'content' must be an object, not a string");
  }

  TEST_CASE("host, ts, id and priority are checked") {
    CHECK(One(R"({"type":"a","content":{},"host":""})") == "field 'host' must not be empty");
    CHECK(One(R"({"type":"a","content":{},"host":7})") == "field 'host' must be a string, not an integer");
    CHECK(One(R"({"type":"a","content":{},"host":"a\u0001b"})") == "field 'host' contains control characters");
    CHECK(One(R"({"type":"a","content":{},"ts":1.5})") ==
          "field 'ts' must be an integer (ms since the epoch), not a fractional number");
    CHECK(One(R"({"type":"a","content":{},"ts":"1"})") ==
          "field 'ts' must be an integer (ms since the epoch), not a string");
    CHECK(One(R"({"type":"a","content":{},"ts":-1})") == "field 'ts' is out of range (ms since the epoch)");
    CHECK(One(R"({"type":"a","content":{},"id":""})") == "field 'id' must not be empty");
    CHECK(One("{\"type\":\"a\",\"content\":{},\"id\":\"" + std::string(128, 'i') + "\"}") == "");
    CHECK(One("{\"type\":\"a\",\"content\":{},\"id\":\"" + std::string(129, 'i') + "\"}") ==
          "field 'id' is longer than 128 characters");
    CHECK(One(R"({"type":"a","content":{},"priority":"urgent"})") ==
          "field 'priority' must be \"high\" or \"normal\", got \"urgent\"");
    CHECK(One(R"({"type":"a","content":{},"priority":"normal"})") == "");
  }

  TEST_CASE("unknown fields and proxy-only fields are refused by name") {
    CHECK(One(R"({"type":"a","content":{},"colour":"red"})") ==
          "unknown field 'colour' (allowed: type, content, host, ts, id, priority)");
    CHECK(One(R"({"type":"a","content":{},"recv_ts":1})") == "field 'recv_ts' is set by the proxy and must not be sent");
    CHECK(One(R"({"type":"a","content":{},"addr":"x"})") == "field 'addr' is set by the proxy and must not be sent");
  }

  TEST_CASE("an event that is not an object is refused alone") {
    auto r = DecodeBatch(R"({"events":[1,{"type":"a","content":{}},"x"]})", {});
    REQUIRE(r.error.empty());
    CHECK(r.events.size() == 1);
    CHECK(r.event_index == std::vector<size_t>{1});
    REQUIRE(r.rejected.size() == 2);
    CHECK(r.rejected[0].index == 0);
    CHECK(r.rejected[0].error == "an event must be a JSON object, not an integer");
    CHECK(r.rejected[1].index == 2);
  }

  TEST_CASE("event size limit") {
    Limits l;
    l.max_event_bytes = 200;
    CHECK(One("{\"type\":\"a\",\"content\":{\"s\":\"" + std::string(50, 'x') + "\"}}", l) == "");
    std::string err = One("{\"type\":\"a\",\"content\":{\"s\":\"" + std::string(200, 'x') + "\"}}", l);
    CHECK(err.find("bytes as JSON; the limit is 200") != std::string::npos);
  }

  TEST_CASE("depth: an event past the limit is refused alone, a hostile body as a whole") {
    Limits l;
    l.max_depth = 4;
    // event(1) > content(2) > a(3) > b(4)
    CHECK(One(R"({"type":"a","content":{"a":{"b":{}}}})", l) == "");
    CHECK(One(R"({"type":"a","content":{"a":{"b":{"c":{}}}}})", l) == "event nesting depth 5 exceeds the limit of 4");
    std::string deep = std::string(10000, '[') + std::string(10000, ']');
    auto r = DecodeBatch(deep, {});
    CHECK(r.status == 400);
    CHECK(r.error.find("JSON nesting is deeper than 66 levels") == 0);
    auto r2 = DecodeBatch("{\"events\":[{\"type\":\"a\",\"content\":{\"x\":" + std::string(5000, '[') +
                              std::string(5000, ']') + "}}]}",
                          {});
    CHECK(r2.status == 400);
  }

  TEST_CASE("envelope errors name the problem") {
    CHECK(DecodeBatch("", {}).error == "the body is empty: it must be {\"events\":[...]}");
    CHECK(DecodeBatch("{\"events\":[", {}).error.find("malformed JSON at byte") == 0);
    CHECK(DecodeBatch("[]", {}).error == "the body must be a JSON object {\"events\":[...]}, not an array");
    CHECK(DecodeBatch("{}", {}).error == "missing field 'events' (an array of events)");
    CHECK(DecodeBatch(R"({"events":{}})", {}).error == "field 'events' must be an array, not an object");
    CHECK(DecodeBatch(R"({"events":[],"x":1})", {}).error == "unknown field 'x' in the body; only 'events' is allowed");
    auto empty = DecodeBatch(R"({"events":[]})", {});
    CHECK(empty.error.empty());
    CHECK(empty.events.empty());
  }

  TEST_CASE("batch limits give 413") {
    Limits l;
    l.max_batch_events = 2;
    auto r = DecodeBatch(R"({"events":[{"type":"a","content":{}},{"type":"a","content":{}},{"type":"a","content":{}}]})", l);
    CHECK(r.status == 413);
    CHECK(r.error == "batch has 3 events; the limit is 2");
    l.max_batch_bytes = 10;
    auto r2 = DecodeBatch(R"({"events":[]})", l);
    CHECK(r2.status == 413);
    CHECK(r2.error == "request body is 13 bytes; the limit is 10");
  }

  TEST_CASE("serialize and deserialize round-trip, proxy fields included") {
    Event e;
    e.type = "t";
    e.content = R"({"a":{"b":1.5},"s":"x"})";
    e.host = "h";
    e.ts = 5;
    e.id = "i";
    e.priority = Priority::kHigh;
    e.recv_ts = 6;
    e.addr = "10.0.0.1";
    Event back;
    REQUIRE_OK(Deserialize(Serialize(e), &back));
    CHECK(back.type == e.type);
    CHECK(json::parse(back.content) == json::parse(e.content));
    CHECK(back.host == e.host);
    CHECK(back.ts == e.ts);
    CHECK(back.id == e.id);
    CHECK(back.priority == e.priority);
    CHECK(back.recv_ts == e.recv_ts);
    CHECK(back.addr == e.addr);
    CHECK(Deserialize("{", &back).message().find("stored event is not valid JSON") == 0);
  }

  TEST_CASE("serialize escapes strings and replaces invalid UTF-8 rather than breaking JSON") {
    Event e;
    e.type = "t";
    e.host = std::string("h\xff\"q\\");
    e.addr = "a\nb";
    std::string s = Serialize(e);
    Event back;
    REQUIRE_OK(Deserialize(s, &back));
    CHECK(back.host == "h\xef\xbf\xbd\"q\\");
    CHECK(back.addr == "a\nb");
    CHECK(JsonString("a\"b\x01") == "\"a\\\"b\\u0001\"");
  }

  TEST_CASE("content is kept as compact JSON text, numbers and escapes intact") {
    auto r = DecodeBatch(R"({"events":[{"type":"a","content":{ "n" : 12345678901234, "f": 1.5, "s":"\u00e9\n", "a":[ 1, {"b":null} ] }}]})", {});
    REQUIRE(r.events.size() == 1);
    CHECK(json::parse(r.events[0].content) ==
          json{{"n", 12345678901234}, {"f", 1.5}, {"s", "\u00e9\n"}, {"a", {1, {{"b", nullptr}}}}});
    CHECK(r.events[0].content.find(' ') == std::string::npos);
  }

  TEST_CASE("a body that is not UTF-8 is named as such") {
    auto r = DecodeBatch("{\"events\":[{\"type\":\"a\",\"content\":{\"s\":\"\xff\"}}]}", {});
    CHECK(r.status == 400);
    CHECK(r.error == "the body is not valid UTF-8");
  }
}

TEST_SUITE("proto::numbers") {
  TEST_CASE("every number of a content object, nested objects as dotted paths") {
    std::map<std::string, double> seen;
    auto collect = [&](const std::string& path, double v) { seen[path] = v; };
    REQUIRE(ForEachNumber(R"({"a":1,"b":{"c":2.5,"d":{"e":-3}},"s":"9","t":true,"arr":[1,2],"big":18446744073709551615})",
                          100, collect));
    CHECK(seen == std::map<std::string, double>{{"a", 1}, {"b.c", 2.5}, {"b.d.e", -3}, {"big", 18446744073709551615.0}});
    seen.clear();
    CHECK(ForEachNumber(R"({"a":1,"b":2,"c":3})", 2, collect));
    CHECK(seen.size() == 2);
    CHECK_FALSE(ForEachNumber("[1]", 10, collect));
    CHECK_FALSE(ForEachNumber("{", 10, collect));
  }
}

TEST_SUITE("proto::json_depth") {
  TEST_CASE("counts brackets outside strings only") {
    CHECK(JsonDepth("1", 10) == 0);
    CHECK(JsonDepth("[]", 10) == 1);
    CHECK(JsonDepth(R"({"a":[{"b":1}]})", 10) == 3);
    CHECK(JsonDepth(R"({"a":"[[[[[["})", 10) == 1);
    CHECK(JsonDepth(R"({"a":"\"[[[["})", 10) == 1);
    CHECK(JsonDepth(std::string(100, '['), 10) == 11);  // stops early
  }
}

TEST_SUITE("proto::hash") {
  TEST_CASE("hashes are stable and separate their parts") {
    // Pinned: ids and shards must not change between builds.
    CHECK(Hex64(Fnv1a64("")) == "cbf29ce484222325");
    CHECK(Hex64(Fnv1a64("a")) == "af63dc4c8601ec8c");
    CHECK(HashParts({"ab", "c"}) != HashParts({"a", "bc"}));
    CHECK(HashParts({"x", "y"}) == HashParts({"x", "y"}));
    CHECK(Hex64(0x1) == "0000000000000001");
  }
}
