// Logging in to a real redis-server: a password (requirepass) and an ACL user.
#include <doctest/doctest.h>

#include "queue/redis.h"
#include "tests/support/support.h"

using namespace argus;

TEST_SUITE("queue::redis") {
  TEST_CASE("a password or an ACL user logs in, anything else is refused by name") {
    testing::RedisServer redis(false, "top-secret");
    queue::RedisOptions o = redis.options();
    o.reconnect_backoff = std::chrono::milliseconds(0);
    queue::Redis admin(o);
    REQUIRE(admin.Run({"PING"}).str() == "PONG");
    REQUIRE(admin.Run({"ACL", "SETUSER", "argus", "on", ">argus-pass", "~*", "&*", "+@all"}).ok());

    queue::RedisOptions none = o;
    none.password.clear();
    auto refused = queue::Redis(none).Run({"PING"});
    CHECK(refused.error.find("NOAUTH") != std::string::npos);

    queue::RedisOptions user = o;
    user.user = "argus";
    user.password = "argus-pass";
    CHECK(queue::Redis(user).Run({"PING"}).str() == "PONG");

    user.password = "pw-xyzzy";
    auto wrong = queue::Redis(user).Run({"PING"});
    CHECK(wrong.transport);
    CHECK(wrong.error.find("refused the login of user 'argus'") != std::string::npos);
    CHECK(wrong.error.find("xyzzy") == std::string::npos);  // the password is never in a message
  }
}
