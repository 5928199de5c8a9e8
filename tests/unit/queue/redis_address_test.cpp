#include <doctest/doctest.h>

#include "queue/redis_address.h"
#include "tests/support/support.h"

using namespace argus;

TEST_SUITE("queue::redis_address") {
  TEST_CASE("HOST:PORT and redis:// URLs, with a user and a password") {
    queue::RedisOptions o;
    CHECK_OK(queue::ParseRedisAddress("10.0.0.5:7000", &o));
    CHECK(o.host == "10.0.0.5");
    CHECK(o.port == 7000);
    CHECK(o.password.empty());
    CHECK_OK(queue::ParseRedisAddress("redis://argus:s%40cret@db.local:6380", &o));
    CHECK(o.host == "db.local");
    CHECK(o.port == 6380);
    CHECK(o.user == "argus");
    CHECK(o.password == "s@cret");  // percent-decoded
    CHECK(o.ToString() == "db.local:6380");  // what logs show: never the password
    o = {};
    CHECK_OK(queue::ParseRedisAddress("redis://:only-pass@127.0.0.1", &o));
    CHECK(o.user.empty());
    CHECK(o.password == "only-pass");
    CHECK(o.port == 6379);
  }

  TEST_CASE("refused: TLS (no support in this hiredis), a database, no port, garbage") {
    queue::RedisOptions o;
    CHECK(queue::ParseRedisAddress("rediss://127.0.0.1:6379", &o).message().find("has no TLS") != std::string::npos);
    CHECK(queue::ParseRedisAddress("redis://127.0.0.1:6379/3", &o).message().find("names no database") != std::string::npos);
    CHECK(queue::ParseRedisAddress("localhost", &o).message().find("is not HOST:PORT") != std::string::npos);
    CHECK(queue::ParseRedisAddress("redis://u:p@[bad", &o).message().find("not a redis:// URL") == 0);
    CHECK(queue::ParseRedisAddress("https://127.0.0.1:6379", &o).message() != "");
  }

  TEST_CASE("the password file: its first line, and the flags together") {
    testing::TempDir dir;
    testing::WriteFile(dir / "pass", "hunter2\r\nsecond line\n", 0600);
    testing::WriteFile(dir / "empty", "\n", 0600);
    queue::RedisFlags flags;
    flags.address = "redis://argus@127.0.0.1:7001";
    flags.password_file = dir / "pass";
    queue::RedisOptions o;
    REQUIRE_OK(flags.Apply(&o));
    CHECK(o.user == "argus");
    CHECK(o.password == "hunter2");
    flags.password_file = dir / "empty";
    CHECK(flags.Apply(&o).message().rfind("--redis-password-file: the Redis password file", 0) == 0);
    flags.password_file = dir / "missing";
    CHECK(flags.Apply(&o).message().find("cannot read") != std::string::npos);
    flags.address = "rediss://h:1";
    CHECK(flags.Apply(&o).message().rfind("--redis: rediss://", 0) == 0);
  }
}
