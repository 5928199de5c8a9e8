#include "http/server.h"

#include <sys/resource.h>

#include <optional>

#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <spdlog/spdlog.h>

namespace argus::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

// After a final answer the server keeps reading (and discarding) what the client still
// sends, at most this long and this much, before it closes: an over-limit upload of up
// to 64 MiB then reads its 413 on a slow or loaded machine too.
constexpr std::chrono::seconds kLingerTime{5};
constexpr size_t kLingerBytes = 64 * 1024 * 1024;

// One connection: read a head, decide, read the body, answer, repeat while kept alive.
// `Stream` is a plain TCP stream or a TLS stream over one: the same code serves both.
template <class Stream>
class Server::Session : public Server::SessionBase, public std::enable_shared_from_this<Server::Session<Stream>> {
 public:
  template <class... TlsContext>
  Session(tcp::socket&& socket, Server& server, TlsContext&... tls)
      : stream_(std::move(socket), tls...), server_(server) {
    ++server_.connections_;
    beast::error_code ec;
    auto ep = Socket().remote_endpoint(ec);
    if (!ec) peer_.addr = ep.address().to_string();
    std::lock_guard lock(server_.sessions_mu_);
    ++server_.per_ip_[peer_.addr];
  }
  ~Session() {
    {
      std::lock_guard lock(server_.sessions_mu_);
      if (registered_) server_.sessions_.erase(self_);
      if (auto it = server_.per_ip_.find(peer_.addr); it != server_.per_ip_.end() && --it->second == 0) {
        server_.per_ip_.erase(it);
      }
    }
    --server_.connections_;
  }

  void Run() {
    {
      std::lock_guard lock(server_.sessions_mu_);
      self_ = server_.sessions_.insert(server_.sessions_.end(), this->weak_from_this());
      registered_ = true;
    }
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->Handshake(); });
  }

  // On shutdown: a connection waiting for its next request is closed now; one in the
  // middle of a request closes after answering it.
  void CloseIfIdle() override {
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if (!self->idle_) return;
      beast::error_code ec;
      self->Socket().close(ec);
    });
  }

 private:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  tcp::socket& Socket() { return beast::get_lowest_layer(stream_).socket(); }
  void ExpiresAfter(std::chrono::milliseconds d) { beast::get_lowest_layer(stream_).expires_after(d); }

  // TLS first, within the head deadline: a client that never finishes it is cut off.
  void Handshake() {
    if constexpr (kTls) {
      ExpiresAfter(server_.options_.header_timeout);
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) {
                                  spdlog::debug("{}: TLS handshake with {} failed: {}", self->server_.options_.name,
                                                self->peer_.addr, ec.message());
                                  beast::error_code ignored;
                                  self->Socket().close(ignored);
                                  return;
                                }
                                self->WaitForRequest();
                              });
    } else {
      WaitForRequest();
    }
  }
  // Idle (kept alive, between requests) until the first byte, then the head must
  // follow within header_timeout: a slow client cannot stretch either.
  void WaitForRequest() {
    if (buffer_.size() > 0) return ReadHeader();  // the next request is already here
    if (server_.stopping()) return Close();
    idle_ = true;
    ExpiresAfter(server_.options_.idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                              self->idle_ = false;
                              if (ec) return self->Close();
                              self->buffer_.commit(n);
                              self->ReadHeader();
                            });
  }

  void ReadHeader() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(server_.options_.header_limit));
    parser_->body_limit(server_.options_.body_limit);
    ExpiresAfter(server_.options_.header_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             beast::bind_front_handler(&Session<Stream>::OnHeader, this->shared_from_this()));
  }

  // Ends the connection after a failed read, answering when the client can act on it.
  // Returns false when there was no error.
  bool ReadFailed(beast::error_code ec) {
    if (!ec) return false;
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
        ec == bhttp::error::partial_message) {
      Close();
    } else if (ec == bhttp::error::body_limit) {
      Fail(bhttp::status::payload_too_large, "request body is larger than the limit of " +
                                                 std::to_string(server_.options_.body_limit) + " bytes");
    } else if (ec == bhttp::error::header_limit) {
      Fail(bhttp::status::request_header_fields_too_large,
           "request head is larger than the limit of " + std::to_string(server_.options_.header_limit) +
               " bytes");
    } else {
      Fail(bhttp::status::bad_request, "malformed HTTP request: " + ec.message());
    }
    return true;
  }

  void OnHeader(beast::error_code ec, size_t) {
    if (ReadFailed(ec)) return;
    auto& req = parser_->get();
    auto expect = req.find(bhttp::field::expect);
    if (expect != req.end() && beast::iequals(expect->value(), "100-continue")) {
      // Answer the interim response so clients (curl) send the body now, not after 1 s.
      auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, 11);
      ExpiresAfter(server_.options_.write_timeout);
      bhttp::async_write(stream_, *cont,
                         [self = this->shared_from_this(), cont](beast::error_code wec, size_t) {
                           if (wec) return self->Close();
                           self->ReadBody();
                         });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    ExpiresAfter(server_.options_.body_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&Session<Stream>::OnRead, this->shared_from_this()));
  }

  void OnRead(beast::error_code ec, size_t) {
    if (ReadFailed(ec)) return;
    auto req = std::make_shared<Request>(parser_->release());
    // Off the I/O threads when there are handler threads; the answer is written back
    // on this connection's strand.
    OffIo([self = this->shared_from_this(), req] {
      auto stream = std::make_shared<std::shared_ptr<EventStream>>();
      Peer peer = self->peer_;
      peer.stream = stream.get();
      auto res = std::make_shared<Response>(self->server_.handler_(*req, peer));
      asio::post(self->stream_.get_executor(), [self, req, res, stream] {
        if (*stream && res->result() == bhttp::status::ok && req->method() == bhttp::verb::get) {
          self->StartStream(*req, *res, std::move(*stream));
        } else {
          self->Answer(*req, std::move(*res));
        }
      });
    });
  }

  // Runs `fn` on a handler thread, or here when the server has none.
  template <class Fn>
  void OffIo(Fn&& fn) {
    if (server_.workers_) {
      asio::post(*server_.workers_, std::forward<Fn>(fn));
    } else {
      fn();
    }
  }

  // A streamed answer: the head (chunked, closing the connection at the end), then
  // what each poll brings, until the stream ends, the client goes or the server stops.
  void StartStream(const Request& req, const Response& res, std::shared_ptr<EventStream> stream) {
    streaming_ = std::move(stream);
    auto head = std::make_shared<bhttp::response<bhttp::empty_body>>(res.result(), req.version());
    for (const auto& field : res.base()) head->set(field.name_string(), field.value());
    head->set(bhttp::field::server, server_.options_.name);
    head->keep_alive(false);
    head->chunked(true);
    auto sr = std::make_shared<bhttp::response_serializer<bhttp::empty_body>>(*head);
    ExpiresAfter(server_.options_.write_timeout);
    bhttp::async_write_header(stream_, *sr, [self = this->shared_from_this(), head, sr](beast::error_code ec, size_t) {
      if (ec) return self->EndStream(false);
      self->last_write_ = std::chrono::steady_clock::now();
      self->NextPoll();
    });
  }

  void NextPoll() {
    if (!timer_) timer_.emplace(stream_.get_executor());
    timer_->expires_after(server_.options_.stream_poll);
    timer_->async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (ec || self->server_.stopping()) return self->EndStream(!ec);
      self->OffIo([self] {
        auto out = std::make_shared<std::string>();
        const bool more = self->streaming_->Poll(out.get());
        asio::post(self->stream_.get_executor(), [self, out, more] { self->WriteStream(out, more); });
      });
    });
  }

  void WriteStream(std::shared_ptr<std::string> out, bool more) {
    const auto now = std::chrono::steady_clock::now();
    if (out->empty() && now - last_write_ >= server_.options_.stream_keepalive) *out = ": keep-alive\n\n";
    if (out->empty()) return more ? NextPoll() : EndStream(true);
    ExpiresAfter(server_.options_.write_timeout);
    asio::async_write(stream_, bhttp::make_chunk(asio::buffer(*out)),
                      [self = this->shared_from_this(), out, more](beast::error_code ec, size_t) {
                        if (ec) return self->EndStream(false);
                        self->last_write_ = std::chrono::steady_clock::now();
                        more ? self->NextPoll() : self->EndStream(true);
                      });
  }

  // Ends a streamed answer: the last chunk when the client is still there, then close.
  void EndStream(bool tell_client) {
    streaming_.reset();
    if (!tell_client) return Close();
    ExpiresAfter(server_.options_.write_timeout);
    asio::async_write(stream_, bhttp::make_chunk_last(),
                      [self = this->shared_from_this()](beast::error_code, size_t) { self->Close(); });
  }

  void Answer(const Request& req, Response res) {
    const bool keep_alive = req.keep_alive() && !server_.stopping();
    res.version(req.version());
    res.keep_alive(keep_alive);
    res.set(bhttp::field::server, server_.options_.name);
    if (req.method() == bhttp::verb::head) res.body().clear();
    res.prepare_payload();
    Write(std::move(res), !keep_alive);
  }

  // Answers an error and closes: after a protocol error the stream position is unknown.
  void Fail(bhttp::status status, std::string message) {
    spdlog::debug("{}: {} from {}: {}", server_.options_.name, static_cast<int>(status),
                  peer_.addr, message);
    Response res = JsonError(status, message);
    res.keep_alive(false);
    res.set(bhttp::field::server, server_.options_.name);
    res.prepare_payload();
    Write(std::move(res), true);
  }

  void Write(Response&& res, bool close) {
    auto msg = std::make_shared<Response>(std::move(res));
    ExpiresAfter(server_.options_.write_timeout);
    bhttp::async_write(stream_, *msg,
                       [self = this->shared_from_this(), msg, close](beast::error_code ec, size_t) {
                         if (ec || close) return self->Close();
                         self->WaitForRequest();
                       });
  }

  void Close() {
    ExpiresAfter(kLingerTime);
    if constexpr (kTls) {
      // close_notify, then the socket; bounded by the deadline above.
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
        beast::error_code ignored;
        self->Socket().close(ignored);
      });
    } else {
      beast::error_code ec;
      Socket().shutdown(tcp::socket::shutdown_send, ec);
      // Drain so a client still sending its body reads our answer instead of a reset
      // (closing with unread data sends RST, which can discard the answer before the
      // client reads it); bounded in time and bytes.
      Drain(0);
    }
  }

  void Drain(size_t drained) {
    if (drained > kLingerBytes) return;
    auto buf = std::make_shared<std::array<char, 16384>>();
    stream_.async_read_some(asio::buffer(*buf),
                            [self = this->shared_from_this(), buf, drained](beast::error_code ec, size_t n) {
                              if (ec) {
                                beast::error_code ignored;
                                self->Socket().close(ignored);
                                return;
                              }
                              self->Drain(drained + n);
                            });
  }

  Stream stream_;
  Server& server_;
  Peer peer_;
  bool idle_ = false;  // waiting for the first byte of a request (on the strand)
  std::shared_ptr<EventStream> streaming_;  // a streamed answer in progress
  std::optional<asio::steady_timer> timer_;  // its poll interval
  std::chrono::steady_clock::time_point last_write_{};
  bool registered_ = false;
  std::list<std::weak_ptr<SessionBase>>::iterator self_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
};

Server::Server(ServerOptions options, Handler handler)
    : options_(std::move(options)), handler_(std::move(handler)), acceptor_(ioc_) {
  if (options_.threads <= 0) {
    options_.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  if (options_.handler_threads > 0) {
    workers_ = std::make_unique<asio::thread_pool>(static_cast<size_t>(options_.handler_threads));
  }
}

Server::~Server() { Stop(); }

size_t RaiseOpenFilesLimit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return 1024;
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
    ::getrlimit(RLIMIT_NOFILE, &lim);
  }
  return static_cast<size_t>(lim.rlim_cur);
}

namespace {

size_t OpenFilesLimit() {
  rlimit lim{};
  return ::getrlimit(RLIMIT_NOFILE, &lim) == 0 ? static_cast<size_t>(lim.rlim_cur) : 1024;
}

}  // namespace

void Server::Start() {
  if (!options_.tls_cert.empty() || !options_.tls_key.empty()) {
    if (options_.tls_cert.empty() || options_.tls_key.empty()) {
      throw std::runtime_error("TLS needs both a certificate (--tls-cert) and a key (--tls-key)");
    }
    tls_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    tls_->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                      asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                      asio::ssl::context::no_tlsv1_1);
    beast::error_code ec;
    tls_->use_certificate_chain_file(options_.tls_cert, ec);
    if (ec) throw std::runtime_error("cannot load TLS certificate " + options_.tls_cert + ": " + ec.message());
    tls_->use_private_key_file(options_.tls_key, asio::ssl::context::pem, ec);
    if (ec) throw std::runtime_error("cannot load TLS key " + options_.tls_key + ": " + ec.message());
  }
  // Each connection is a file descriptor; keep a reserve for Redis, SQLite and logs.
  const size_t files = OpenFilesLimit();
  const size_t reserve = 256;
  if (files > reserve && options_.max_connections > files - reserve) {
    spdlog::info("{}: open-files limit {} allows {} connections, not {}", options_.name, files,
                 files - reserve, options_.max_connections);
    options_.max_connections = files - reserve;
  }
  beast::error_code ec;
  auto address = asio::ip::make_address(options_.listen.host, ec);
  if (ec) {
    // Resolve names such as "localhost".
    tcp::resolver resolver(ioc_);
    auto results = resolver.resolve(options_.listen.host, std::to_string(options_.listen.port), ec);
    if (ec || results.empty()) {
      throw std::runtime_error("cannot resolve listen address '" + options_.listen.host + "'");
    }
    address = results.begin()->endpoint().address();
  }
  tcp::endpoint endpoint{address, options_.listen.port};
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::runtime_error("cannot listen on " + options_.listen.ToString() + ": " + ec.message());
  }
  port_ = acceptor_.local_endpoint().port();
  DoAccept();
}

void Server::DoAccept() {
  acceptor_.async_accept(asio::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      std::string why;
      if (connections_.load() >= options_.max_connections) {
        why = "the connection limit " + std::to_string(options_.max_connections) + " is reached";
      } else if (options_.max_connections_per_ip > 0) {
        beast::error_code pec;
        auto peer = socket.remote_endpoint(pec);
        std::lock_guard lock(sessions_mu_);
        auto it = pec ? per_ip_.end() : per_ip_.find(peer.address().to_string());
        if (it != per_ip_.end() && it->second >= options_.max_connections_per_ip) {
          why = it->first + " has " + std::to_string(it->second) + " connections open, the limit per address";
        }
      }
      if (!why.empty()) {
        Refused(why);
        beast::error_code ignored;
        socket.close(ignored);
      } else {
        if (tls_) {
          std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(std::move(socket), *this, *tls_)->Run();
        } else {
          std::make_shared<Session<beast::tcp_stream>>(std::move(socket), *this)->Run();
        }
      }
    } else {
      spdlog::warn("{}: accept failed: {}", options_.name, ec.message());
    }
    if (acceptor_.is_open()) DoAccept();
  });
}

void Server::Refused(const std::string& why) {
  const uint64_t total = ++refused_;
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(sessions_mu_);
  if (now - last_refusal_log_ < std::chrono::seconds(10)) return;
  spdlog::warn("{}: refusing connections: {} ({} refused since the last such line)", options_.name, why,
               total - refused_logged_);
  refused_logged_ = total;
  last_refusal_log_ = now;
}

void Server::Run() {
  auto guard = asio::make_work_guard(ioc_);
  std::vector<std::thread> threads;
  for (int i = 1; i < options_.threads; ++i) threads.emplace_back([this] { ioc_.run(); });
  ioc_.run();
  for (auto& t : threads) t.join();
  // Handlers still running finish (a query within its timeout); their answers go nowhere.
  if (workers_) workers_->join();
}

void Server::ExportMetrics(Metrics& metrics, const std::string& prefix) {
  metrics.Describe(prefix + "_connections", Metrics::Kind::kGauge, "Open client connections.");
  metrics.Describe(prefix + "_connections_refused_total", Metrics::Kind::kCounter,
                   "Connections closed at accept: over the total or the per-address limit.");
  metrics.OnRender([this, name = prefix + "_connections"](Metrics& m) {
    m.Set(name, {}, static_cast<double>(connections_.load()));
    m.Set(name + "_refused_total", {}, static_cast<double>(refused_.load()));
  });
}

void Server::StopOnSignals() {
  signals_ = std::make_unique<asio::signal_set>(ioc_, SIGINT, SIGTERM);
  signals_->async_wait([this](beast::error_code ec, int sig) {
    if (ec) return;
    spdlog::info("{}: signal {} received, finishing requests in flight", options_.name, sig);
    Shutdown();
  });
}

void Server::Shutdown() {
  if (stopping_.exchange(true)) return;
  asio::post(ioc_, [this] {
    beast::error_code ec;
    acceptor_.close(ec);
    std::vector<std::shared_ptr<SessionBase>> live;
    {
      std::lock_guard lock(sessions_mu_);
      for (auto& w : sessions_) {
        if (auto s = w.lock()) live.push_back(std::move(s));
      }
    }
    for (auto& s : live) s->CloseIfIdle();
    drain_timer_ = std::make_unique<asio::steady_timer>(ioc_);
    WaitForSessions(std::chrono::steady_clock::now() + options_.shutdown_grace);
  });
}

void Server::WaitForSessions(std::chrono::steady_clock::time_point deadline) {
  if (connections_.load() == 0 || std::chrono::steady_clock::now() >= deadline) {
    if (connections_.load() > 0) {
      spdlog::warn("{}: {} connections still open after the grace period", options_.name, connections_.load());
    }
    ioc_.stop();
    return;
  }
  drain_timer_->expires_after(std::chrono::milliseconds(20));
  drain_timer_->async_wait([this, deadline](beast::error_code) { WaitForSessions(deadline); });
}

void Server::Stop() {
  asio::post(ioc_, [this] {
    beast::error_code ec;
    acceptor_.close(ec);
  });
  ioc_.stop();
}

}  // namespace argus::http
