#include <doctest/doctest.h>

#include "http/encoding.h"
#include "tests/support/support.h"

using namespace argus::http;
using argus::testing::Gzipped;
namespace bhttp = boost::beast::http;

namespace {

Request WithBody(std::string body, std::string encoding) {
  Request r{bhttp::verb::post, "/", 11};
  if (!encoding.empty()) r.set(bhttp::field::content_encoding, encoding);
  r.body() = std::move(body);
  return r;
}

}  // namespace

TEST_SUITE("http::encoding") {
  TEST_CASE("gzip round-trips, identity and no header pass through") {
    std::string text(100000, 'a');
    text += "end";
    auto zipped = WithBody(Gzipped(text), "gzip");
    auto d = DecodeBody(zipped, 1 << 20);
    CHECK(d.status == 200);
    CHECK(d.View(zipped) == text);
    auto raw = WithBody("raw", "");
    CHECK(DecodeBody(raw, 10).View(raw) == "raw");
    auto identity = WithBody("raw", "identity");
    CHECK(DecodeBody(identity, 10).View(identity) == "raw");
  }

  TEST_CASE("the inflated size is capped: a small bomb is refused with 413") {
    std::string bomb = Gzipped(std::string(50 * 1024 * 1024, '\0'), 9);
    CHECK(bomb.size() < 200 * 1024);
    auto req = WithBody(bomb, "gzip");
    auto d = DecodeBody(req, 4 * 1024 * 1024);
    CHECK(d.status == 413);
    CHECK(d.error.find("inflates to more than 4194304 bytes") != std::string::npos);
  }

  TEST_CASE("corrupt, truncated and unknown encodings are named") {
    auto bad_req = WithBody("not gzip at all", "gzip");
    auto bad = DecodeBody(bad_req, 1000);
    CHECK(bad.status == 400);
    CHECK(bad.error.find("Content-Encoding gzip: the body is not valid") == 0);
    std::string z = Gzipped("hello world, hello world");
    auto cut_req = WithBody(z.substr(0, z.size() / 2), "gzip");
    auto cut = DecodeBody(cut_req, 1000);
    CHECK(cut.status == 400);
    auto br_req = WithBody("x", "br");
    auto br = DecodeBody(br_req, 1000);
    CHECK(br.status == 415);
    CHECK(br.error == "Content-Encoding 'br' is not supported (use gzip or none)");
  }

  TEST_CASE("zlib's answers are checked: a level it refuses gives nothing, not a broken body") {
    std::string z;
    CHECK(Gzip("hello", 42, &z).code() == argus::base::Status::Code::kInvalid);
    REQUIRE_OK(Gzip("hello", 9, &z));
    std::string back;
    REQUIRE_OK(Gunzip(z, 100, &back));
    CHECK(back == "hello");
    CHECK(Gunzip(z, 2, &back).code() == argus::base::Status::Code::kTooLarge);
    CHECK(Gunzip("not gzip", 100, &back).code() == argus::base::Status::Code::kInvalid);
  }
}
