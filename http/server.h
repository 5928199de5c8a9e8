// The HTTP/1.1 server every Argus program serves from: Beast sessions on a
// multi-threaded io_context, keep-alive, bounded headers and bodies, deadlines on
// every read, and one JSON error shape. Handlers are plain functions of a request.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>

#include "http/endpoint.h"
#include "http/router.h"

namespace argus::http {

struct ServerOptions {
  Endpoint listen{"127.0.0.1", 0};
  int threads = 0;                                  // 0: one per core
  size_t header_limit = 16 * 1024;
  size_t body_limit = 4 * 1024 * 1024;
  std::chrono::milliseconds header_timeout{10000};  // a whole request head, idle included
  std::chrono::milliseconds body_timeout{30000};
  std::chrono::milliseconds write_timeout{30000};
  size_t max_connections = 10000;
  std::string name = "argus";                       // Server header and log prefix
};

// Thread safety: Start/Run/Stop may be called from any thread; the handler is called
// concurrently from the server's threads and must be thread-safe.
class Server {
 public:
  Server(ServerOptions options, Handler handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens; throws std::runtime_error with the address on failure.
  void Start();
  // The bound port (useful with port 0).
  uint16_t port() const { return port_; }
  // Runs the threads until Stop(); returns after they are joined.
  void Run();
  // Stops accepting and ends all sessions. Safe from any thread.
  void Stop();
  // Makes SIGINT and SIGTERM call Stop(); call before Run().
  void StopOnSignals();

  size_t connections() const { return connections_.load(); }

 private:
  class Session;
  void DoAccept();

  ServerOptions options_;
  Handler handler_;
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::unique_ptr<boost::asio::signal_set> signals_;
  std::atomic<size_t> connections_{0};
};

}  // namespace argus::http
