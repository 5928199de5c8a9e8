#include <doctest/doctest.h>

#include <filesystem>

#include "http/static_files.h"
#include "tests/support/support.h"

using namespace argus;
namespace bhttp = boost::beast::http;

TEST_SUITE("http::static_files") {
  TEST_CASE("files under the root are served with a type and a tag, and nothing outside it ever is") {
    testing::TempDir dir;
    const std::string root = dir / "web";
    std::filesystem::create_directories(root + "/assets");
    testing::WriteFile(root + "/index.html", "<!doctype html><p>hi</p>");
    testing::WriteFile(root + "/assets/app.js", "console.log(1)");
    testing::WriteFile(dir / "secret.txt", "secret");
    std::filesystem::create_symlink(dir / "secret.txt", root + "/assets/link.txt");
    http::StaticFiles files(root);
    http::Request req{bhttp::verb::get, "/", 11};

    auto page = files.Serve(req, "index.html");
    CHECK(page.result() == bhttp::status::ok);
    CHECK(page[bhttp::field::content_type] == "text/html; charset=utf-8");
    CHECK(page.body() == "<!doctype html><p>hi</p>");
    CHECK_FALSE(page[bhttp::field::etag].empty());
    auto js = files.Serve(req, "assets/app.js");
    CHECK(js[bhttp::field::content_type] == "text/javascript; charset=utf-8");

    for (const char* bad : {"../secret.txt", "assets/../../secret.txt", "/etc/passwd", "assets//app.js", "./index.html",
                            "assets/.."}) {
      CAPTURE(bad);
      auto res = files.Serve(req, bad);
      CHECK(res.result() == bhttp::status::bad_request);
      CHECK(res.body().find("secret") == std::string::npos);
    }
    for (const char* missing : {"assets/link.txt", "nope.html", "assets"}) {
      CAPTURE(missing);
      auto res = files.Serve(req, missing);
      CHECK(res.result() == bhttp::status::not_found);
      CHECK(res.body().find("\"secret\"") == std::string::npos);
    }
    http::Request again{bhttp::verb::get, "/", 11};
    again.set(bhttp::field::if_none_match, std::string(page[bhttp::field::etag]));
    CHECK(files.Serve(again, "index.html").result() == bhttp::status::not_modified);
    CHECK(http::StaticFiles(dir / "not-built").Serve(req, "index.html").result() == bhttp::status::not_found);
  }
}
