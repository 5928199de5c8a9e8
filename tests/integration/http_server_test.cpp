// The shared HTTP server over real sockets: shutdown, and connections that misbehave.
#include <doctest/doctest.h>

#include <sys/resource.h>

#include <atomic>
#include <boost/asio.hpp>
#include <future>
#include <thread>

#include "http/client.h"
#include "http/metrics.h"
#include "http/server.h"
#include "tests/support/support.h"

using namespace argus;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

namespace {

// True when the peer closed `sock` (a read sees EOF or a reset).
bool ClosedByPeer(asio::ip::tcp::socket& sock) {
  char buf[512];
  boost::system::error_code ec;
  while (!ec) sock.read_some(asio::buffer(buf), ec);
  return ec == asio::error::eof || ec == asio::error::connection_reset;
}

}  // namespace

TEST_SUITE("http::server") {
  TEST_CASE("one address holds at most max_connections_per_ip connections, refusals are counted") {
    http::ServerOptions so;
    so.threads = 1;
    so.max_connections_per_ip = 3;
    http::Server server(so, [](const http::Request&, const http::Peer&) { return http::Json(bhttp::status::ok, {}); });
    server.Start();
    http::Metrics metrics;
    server.ExportMetrics(metrics, "t");
    std::thread runner([&] { server.Run(); });
    asio::io_context ioc;
    std::vector<std::unique_ptr<asio::ip::tcp::socket>> held;
    for (int i = 0; i < 3; ++i) {
      held.push_back(std::make_unique<asio::ip::tcp::socket>(ioc));
      held.back()->connect({asio::ip::make_address("127.0.0.1"), server.port()});
    }
    http::Endpoint ep{"127.0.0.1", server.port()};
    REQUIRE(testing::WaitFor([&] { return metrics.Render().find("t_connections 3") != std::string::npos; }, 10s));
    asio::ip::tcp::socket extra(ioc);
    extra.connect({asio::ip::make_address("127.0.0.1"), server.port()});
    CHECK(ClosedByPeer(extra));  // the fourth is closed at accept
    CHECK(metrics.Render().find("t_connections_refused_total 1") != std::string::npos);
    held.pop_back();  // one closes: room for one again
    CHECK(testing::WaitFor([&] { return http::Client(ep).Get("/").status == 200; }, 10s));
    server.Stop();
    runner.join();
  }

  TEST_CASE("with handler threads a slow handler holds no I/O thread: others are read and answered") {
    std::promise<void> release;
    auto released = release.get_future().share();
    http::ServerOptions so;
    so.threads = 1;          // one I/O thread: inline, the slow handler would hold it
    so.handler_threads = 2;
    http::Server server(so, [&](const http::Request& req, const http::Peer&) {
      if (req.target() == "/slow") released.wait();
      if (req.target() == "/release") release.set_value();
      return http::Json(bhttp::status::ok, {{"path", std::string(req.target())}});
    });
    server.Start();
    std::thread runner([&] { server.Run(); });
    http::Endpoint ep{"127.0.0.1", server.port()};
    auto slow = std::async(std::launch::async, [&] { return http::Client(ep, 20s).Get("/slow"); });
    auto fast = http::Client(ep, 20s).Get("/release");  // read and answered while /slow waits
    CHECK(fast.status == 200);
    auto res = slow.get();
    CHECK(res.status == 200);
    CHECK(res.body == R"({"path":"/slow"})");
    server.Stop();
    runner.join();
  }

  TEST_CASE("shutdown: a request in flight is answered, idle connections close, no new ones") {
    std::atomic<bool> in_handler{false};
    std::promise<void> release;
    auto released = release.get_future().share();
    http::ServerOptions so;
    so.threads = 2;
    http::Server server(so, [&](const http::Request&, const http::Peer&) {
      in_handler = true;
      released.wait();
      return http::Json(bhttp::status::ok, {{"done", true}});
    });
    server.Start();
    std::thread runner([&] { server.Run(); });
    http::Endpoint ep{"127.0.0.1", server.port()};

    asio::io_context ioc;
    asio::ip::tcp::socket idle(ioc);
    idle.connect({asio::ip::make_address("127.0.0.1"), server.port()});

    auto inflight = std::async(std::launch::async, [&] { return http::Client(ep).Get("/slow"); });
    REQUIRE(testing::WaitFor([&] { return in_handler.load(); }, 10s));
    server.Shutdown();
    CHECK(ClosedByPeer(idle));  // closed at once, before the slow request ends
    release.set_value();
    auto res = inflight.get();
    CHECK(res.status == 200);
    CHECK(res.headers["connection"] == "close");
    runner.join();  // Run() returned by itself
    CHECK_FALSE(http::Client(ep, 2s).Get("/slow").ok());
  }

  TEST_CASE("an idle kept-alive connection is closed after the idle timeout") {
    http::ServerOptions so;
    so.threads = 1;
    so.idle_timeout = 200ms;
    http::Server server(so, [](const http::Request&, const http::Peer&) {
      return http::Json(bhttp::status::ok, {});
    });
    server.Start();
    std::thread runner([&] { server.Run(); });
    asio::io_context ioc;
    asio::ip::tcp::socket sock(ioc);
    sock.connect({asio::ip::make_address("127.0.0.1"), server.port()});
    CHECK(ClosedByPeer(sock));
    CHECK(testing::WaitFor([&] { return server.connections() == 0; }, 5s));
    server.Stop();
    runner.join();
  }
}

TEST_SUITE("http::server streams") {
  // Yields "0", "1", … one per poll, up to `last` (then ends), or for ever (last < 0).
  struct Counting : http::EventStream {
    int next = 0, last;
    std::atomic<int>* alive;
    Counting(int l, std::atomic<int>* a) : last(l), alive(a) { ++*alive; }
    ~Counting() override { --*alive; }
    bool Poll(std::string* out) override {
      *out += std::to_string(next++);
      return last < 0 || next <= last;
    }
  };

  TEST_CASE("a streamed answer is sent in chunks until the stream ends, and ends at shutdown") {
    std::atomic<int> alive{0};
    http::ServerOptions so;
    so.threads = 2;
    so.handler_threads = 1;
    so.stream_poll = 10ms;
    so.shutdown_grace = 15s;
    http::Server server(so, [&](const http::Request& req, const http::Peer& peer) {
      *peer.stream = std::make_shared<Counting>(req.target() == "/three" ? 3 : -1, &alive);
      http::Response res{bhttp::status::ok, 11};
      res.set(bhttp::field::content_type, "text/plain");
      return res;
    });
    server.Start();
    std::thread runner([&] { server.Run(); });
    http::Client client({"127.0.0.1", server.port()});
    auto three = client.Get("/three");
    CHECK(three.status == 200);
    CHECK(three.body == "0123");
    CHECK(three.headers["transfer-encoding"] == "chunked");
    CHECK(testing::WaitFor([&] { return alive.load() == 0; }, 5s));

    // One that never ends is ended by a graceful shutdown, within its grace.
    auto endless = std::async(std::launch::async, [&] {
      return http::Client({"127.0.0.1", server.port()}, 20s).Get("/endless");
    });
    REQUIRE(testing::WaitFor([&] { return alive.load() == 1; }, 5s));
    server.Shutdown();
    // A whole answer, last chunk included: the stream ended, not the grace (after
    // which the connection would be cut mid-answer).
    auto res = endless.get();
    CHECK(res.status == 200);
    CHECK(res.body.rfind("012", 0) == 0);
    runner.join();
    CHECK(alive.load() == 0);
  }
}

TEST_SUITE("http::server tls") {
  TEST_CASE("HTTPS on the same code path, clients verify the CA and the host name") {
    testing::TempDir dir;
    auto files = testing::MakeTlsFiles(dir);
    http::ServerOptions so;
    so.threads = 2;
    so.tls_cert = files.cert;
    so.tls_key = files.key;
    http::Server server(so, [](const http::Request& req, const http::Peer&) {
      return http::Json(bhttp::status::ok, {{"path", std::string(req.target())}});
    });
    server.Start();
    std::thread runner([&] { server.Run(); });

    http::Client trusted({"127.0.0.1", server.port(), /*tls=*/true}, 5s, {files.ca});
    auto ok = trusted.Get("/x");
    CHECK(ok.status == 200);
    CHECK(ok.body == R"({"path":"/x"})");
    CHECK(trusted.Get("/y").status == 200);  // kept alive over TLS
    CHECK(http::Client({"localhost", server.port(), true}, 5s, {files.ca}).Get("/x").status == 200);

    auto untrusted = http::Client({"127.0.0.1", server.port(), true}, 5s).Get("/x");  // system CAs only
    CHECK_FALSE(untrusted.ok());
    CHECK(untrusted.error.find("certificate verify failed") != std::string::npos);
    auto plain = http::Client({"127.0.0.1", server.port()}, 2s).Get("/x");
    CHECK(plain.status != 200);
    CHECK(trusted.Get("/z").status == 200);  // still serving

    server.Stop();
    runner.join();
  }

  TEST_CASE("a certificate without its key is refused at start") {
    testing::TempDir dir;
    auto files = testing::MakeTlsFiles(dir);
    http::ServerOptions so;
    so.tls_cert = files.cert;
    http::Server server(so, nullptr);
    CHECK_THROWS_WITH_AS(server.Start(), doctest::Contains("needs both a certificate"), std::runtime_error);
  }
}

TEST_SUITE("proxy process") {
  TEST_CASE("10,000 idle and 1,000 slow-loris connections do not keep a normal client out") {
    // Both ends of every connection are file descriptors: raise this process's limit.
    rlimit lim{};
    getrlimit(RLIMIT_NOFILE, &lim);
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
    const size_t budget = lim.rlim_cur > 600 ? static_cast<size_t>(lim.rlim_cur) - 500 : 0;
    size_t idle_n = std::min<size_t>(10000, budget * 10 / 11);
    size_t loris_n = std::min<size_t>(1000, budget - idle_n);
    if (idle_n < 10000) MESSAGE("open-files limit " << lim.rlim_cur << ": using " << idle_n << " idle connections");

    testing::TempDir dir;
    testing::RedisServer redis;
    uint16_t port = testing::FreePort();
    testing::Process proxy({testing::BinDir() + "/argus-proxy", "--listen", "127.0.0.1:" + std::to_string(port),
                            "--redis", redis.address(), "--token", "t", "--threads", "2",
                            // every connection here comes from 127.0.0.1: no per-address limit
                            "--max-connections-per-ip", "0"},
                           dir / "proxy.log");
    http::Endpoint ep{"127.0.0.1", port};
    REQUIRE(testing::WaitFor([&] { return http::Client(ep).Get("/healthz").status == 200; }, 20s));

    asio::io_context ioc;
    std::vector<std::unique_ptr<asio::ip::tcp::socket>> conns;
    conns.reserve(idle_n + loris_n);
    const asio::ip::tcp::endpoint target{asio::ip::make_address("127.0.0.1"), port};
    for (size_t i = 0; i < idle_n + loris_n; ++i) {
      auto s = std::make_unique<asio::ip::tcp::socket>(ioc);
      s->connect(target);
      if (i >= idle_n) {
        // A head that starts and never ends.
        asio::write(*s, asio::buffer(std::string("POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Le")));
      }
      conns.push_back(std::move(s));
    }
    http::Client client(ep);
    auto res = client.Request("POST", "/api/v1/events",
                              R"({"events":[{"type":"busy","host":"h","id":"b1","content":{}}]})",
                              {{"Authorization", "Bearer t"}});
    CHECK(res.status == 200);
    CHECK(client.Get("/healthz").status == 200);
    auto metrics = client.Get("/metrics");
    CHECK(metrics.status == 200);
    INFO(proxy.Log());
    CHECK(proxy.running());
  }
}
