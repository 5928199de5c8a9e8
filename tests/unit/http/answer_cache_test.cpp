#include <doctest/doctest.h>

#include "base/clock.h"
#include "http/answer_cache.h"
#include "http/encoding.h"
#include "tests/support/checks.h"

using namespace argus;
using namespace argus::http;

namespace {

Request Get(std::map<bhttp::field, std::string> headers = {}) {
  Request r{bhttp::verb::get, "/x", 11};
  for (const auto& [k, v] : headers) r.set(k, v);
  return r;
}

}  // namespace

TEST_SUITE("http::answer_cache") {
  TEST_CASE("an answer is tagged, sent as 304 when the client has it, and gzipped when it takes gzip") {
    const std::string big(5000, 'a');
    auto answer = Finish(Json(bhttp::status::ok, {{"v", big}}), true);
    REQUIRE(answer->etag.size() > 2);
    CHECK(Finish(Json(bhttp::status::ok, {{"v", big + "b"}}), true)->etag != answer->etag);
    CHECK(Finish(Json(bhttp::status::ok, {{"v", big}}), true)->etag == answer->etag);

    auto plain = Deliver(Get(), *answer);
    CHECK(plain.result() == bhttp::status::ok);
    CHECK(plain[bhttp::field::etag] == answer->etag);
    CHECK(plain[bhttp::field::content_encoding] == "");
    CHECK(plain.body() == answer->body);

    for (const char* accept : {"gzip", "deflate, gzip;q=0.5", "br, *", " GZIP-not, gzip "}) {
      CAPTURE(accept);
      auto gz = Deliver(Get({{bhttp::field::accept_encoding, accept}}), *answer);
      CHECK(gz[bhttp::field::content_encoding] == "gzip");
      std::string inflated;
      REQUIRE_OK(Gunzip(gz.body(), 1 << 20, &inflated));
      CHECK(inflated == answer->body);
    }
    for (const char* accept : {"gzip;q=0", "deflate", "*;q=0", "*, gzip;q=0"}) {
      CAPTURE(accept);
      CHECK(Deliver(Get({{bhttp::field::accept_encoding, accept}}), *answer).body() == answer->body);
    }
    // One finished without its gzip form is compressed when a client wants it.
    auto lazy = Finish(Json(bhttp::status::ok, {{"v", big}}), false);
    CHECK(lazy->gzipped.empty());
    auto lazy_gz = Deliver(Get({{bhttp::field::accept_encoding, "gzip"}}), *lazy);
    CHECK(lazy_gz[bhttp::field::content_encoding] == "gzip");
    std::string lazy_body;
    REQUIRE_OK(Gunzip(lazy_gz.body(), 1 << 20, &lazy_body));
    CHECK(lazy_body == lazy->body);
    // Small answers are not worth compressing.
    auto small = Finish(Json(bhttp::status::ok, {{"v", 1}}), true);
    CHECK(small->gzipped.empty());
    CHECK(Deliver(Get({{bhttp::field::accept_encoding, "gzip"}}), *small)[bhttp::field::content_encoding] == "");

    for (const std::string& inm : std::vector<std::string>{answer->etag, "\"x\", " + answer->etag, "W/" + answer->etag, "*"}) {
      CAPTURE(inm);
      auto res = Deliver(Get({{bhttp::field::if_none_match, inm}}), *answer);
      CHECK(res.result() == bhttp::status::not_modified);
      CHECK(res.body().empty());
      CHECK(res[bhttp::field::etag] == answer->etag);
    }
    CHECK(Deliver(Get({{bhttp::field::if_none_match, "\"other\""}}), *answer).result() == bhttp::status::ok);
  }

  TEST_CASE("the cache keys by the normalised query, expires by its ttl and stays within its bytes") {
    CHECK(NormalisedQuery("/a?b=1&a=2") == NormalisedQuery("/a?a=2&b=1"));
    CHECK(NormalisedQuery("/a?a=x+y") == NormalisedQuery("/a?a=x%20y"));
    CHECK(NormalisedQuery("/a?a=1") != NormalisedQuery("/b?a=1"));
    CHECK(NormalisedQuery("/a?a=1") != NormalisedQuery("/a?a=12"));
    CHECK(NormalisedQuery("/a?a=%zz").empty());

    base::ManualClock clock;
    auto one = Finish(Json(bhttp::status::ok, {{"v", std::string(550, 'x')}}), true);
    AnswerCache cache(2000, std::chrono::milliseconds(2000), clock);
    cache.Put("k1", one);
    CHECK(cache.Get("k1") == one);
    CHECK(cache.Get("k2") == nullptr);
    clock.Advance(std::chrono::milliseconds(1999));
    CHECK(cache.Get("k1") == one);
    clock.Advance(std::chrono::milliseconds(1));
    CHECK(cache.Get("k1") == nullptr);
    CHECK(cache.entries() == 0);
    CHECK(cache.bytes() == 0);

    // Four answers of ~600 bytes in 2000: the least recently used goes.
    for (const char* k : {"a", "b", "c"}) cache.Put(k, one);
    CHECK(cache.Get("a") == one);  // now b is the oldest
    cache.Put("d", one);
    CHECK(cache.Get("b") == nullptr);
    CHECK(cache.Get("a") == one);
    CHECK(cache.Get("d") == one);
    CHECK(cache.bytes() <= 2000);
    // An answer larger than the whole cache is not kept.
    cache.Put("huge", Finish(Json(bhttp::status::ok, {{"v", std::string(5000, 'y')}}), true));
    CHECK(cache.Get("huge") == nullptr);
    CHECK(cache.Get("a") == one);
    AnswerCache off(0, std::chrono::milliseconds(2000), clock);
    off.Put("a", one);
    CHECK(off.Get("a") == nullptr);
  }
}
