// The HTTP/1.1 server every Argus program serves from: Beast sessions on a
// multi-threaded io_context, keep-alive, bounded headers and bodies, deadlines on
// every read, and one JSON error shape. Handlers are plain functions of a request.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/thread_pool.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "http/endpoint.h"
#include "http/metrics.h"
#include "http/router.h"

namespace argus::http {

inline constexpr size_t kDefaultMaxConnectionsPerIp = 1000;

// Raises the process's open-files limit to its hard limit and returns the limit in
// force. For a server program's main: a Server only reads the limit (to cap its
// connections), it never changes the process.
size_t RaiseOpenFilesLimit();

struct ServerOptions {
  Endpoint listen{"127.0.0.1", 0};
  int threads = 0;                                  // 0: one per core
  // > 0: handlers run on a pool of this many threads of their own, so a slow one (a
  // long query) never holds a thread that accepts and reads connections. 0: inline.
  int handler_threads = 0;
  size_t header_limit = 16 * 1024;
  size_t body_limit = 4 * 1024 * 1024;
  std::chrono::milliseconds idle_timeout{60000};    // kept-alive, waiting for a request
  std::chrono::milliseconds header_timeout{10000};  // first byte to end of the head
  std::chrono::milliseconds body_timeout{30000};
  std::chrono::milliseconds write_timeout{30000};
  std::chrono::milliseconds shutdown_grace{10000};  // in-flight requests on SIGTERM
  size_t max_connections = 50000;                   // capped by the open-files limit
  size_t max_connections_per_ip = kDefaultMaxConnectionsPerIp;  // one address cannot take them all (0: no limit)
  // Streamed answers (EventStream): polled this often; a comment line goes out after
  // this long without a write, so proxies keep the connection and dead clients show.
  std::chrono::milliseconds stream_poll{1000};
  std::chrono::milliseconds stream_keepalive{15000};
  std::string name = "argus";                       // Server header and log prefix
  std::string tls_cert, tls_key;                    // PEM files; both set: serve HTTPS
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
  // Stops accepting and ends all sessions at once. Safe from any thread.
  void Stop();
  // Stops accepting, closes idle connections, lets requests in flight finish (closing
  // their connections after the answer), then stops; at most shutdown_grace. Returns
  // at once; Run() returns when done. Safe from any thread.
  void Shutdown();
  // Makes SIGINT and SIGTERM call Shutdown(); call before Run().
  void StopOnSignals();
  bool stopping() const { return stopping_.load(); }

  size_t connections() const { return connections_.load(); }
  // Publishes `<prefix>_connections` (open now) in `metrics`. The gauge is read from this
  // server at each render, so the server must outlive every render of `metrics`.
  void ExportMetrics(Metrics& metrics, const std::string& prefix);

 private:
  // What shutdown needs of a connection, whatever its stream.
  class SessionBase {
   public:
    virtual ~SessionBase() = default;
    virtual void CloseIfIdle() = 0;
  };
  template <class Stream>
  class Session;
  void DoAccept();
  // Counts a refused connection; logs at most one line per 10 s, with the count since.
  void Refused(const std::string& why);
  void WaitForSessions(std::chrono::steady_clock::time_point deadline);

  ServerOptions options_;
  Handler handler_;
  // Declared before ioc_: destroying ioc_ destroys pending handlers, and with them
  // sessions that still count themselves out and unregister.
  std::atomic<size_t> connections_{0};
  std::atomic<bool> stopping_{false};
  std::mutex sessions_mu_;  // guards sessions_
  std::list<std::weak_ptr<SessionBase>> sessions_;
  std::map<std::string, size_t> per_ip_;  // open connections by peer address
  std::atomic<uint64_t> refused_{0};      // connections refused at accept, ever
  uint64_t refused_logged_ = 0;           // refused_ when a refusal was last logged
  std::chrono::steady_clock::time_point last_refusal_log_{};
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::unique_ptr<boost::asio::signal_set> signals_;
  std::unique_ptr<boost::asio::steady_timer> drain_timer_;
  std::unique_ptr<boost::asio::ssl::context> tls_;
  std::unique_ptr<boost::asio::thread_pool> workers_;  // with handler_threads > 0
};

}  // namespace argus::http
