#include "http/client.h"

#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace argus::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

// Async operations on a private io_context give real deadlines to a blocking API:
// tcp_stream closes the socket when its timer fires, which completes the operation.
struct Client::Impl {
  asio::io_context ioc;
  std::unique_ptr<ssl::context> tls_ctx;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;

  bool connected() const { return plain.has_value() || tls.has_value(); }
  void Reset() {
    plain.reset();
    tls.reset();
    buffer.clear();
  }
  beast::tcp_stream& Lowest() { return plain ? *plain : beast::get_lowest_layer(*tls); }
};

Client::Client(Endpoint server, std::chrono::milliseconds timeout, TlsClientOptions tls)
    : server_(std::move(server)), timeout_(timeout), tls_(std::move(tls)), impl_(std::make_unique<Impl>()) {}

Client::~Client() = default;

namespace {

// Runs handlers until the operation's own completion handler has set `done`, so no
// handler that refers to the caller's stack is left queued.
void RunUntilDone(asio::io_context& ioc, const bool& done) {
  ioc.restart();
  while (!done && ioc.run_one() > 0) {
  }
}

// Writes the request and reads the answer on either kind of stream.
template <class Stream>
beast::error_code Exchange(asio::io_context& ioc, Stream& stream, beast::flat_buffer& buffer,
                           bhttp::request<bhttp::string_body>& req,
                           bhttp::response_parser<bhttp::string_body>& parser) {
  beast::error_code ec;
  bool done = false;
  bhttp::async_write(stream, req, [&](beast::error_code e, size_t) {
    ec = e;
    if (ec) {
      done = true;
      return;
    }
    bhttp::async_read(stream, buffer, parser, [&](beast::error_code e2, size_t) {
      ec = e2;
      done = true;
    });
  });
  RunUntilDone(ioc, done);
  return ec;
}

}  // namespace

ClientResponse Client::Request(std::string_view method, std::string_view target,
                               std::string_view body,
                               const std::map<std::string, std::string>& headers) {
  bhttp::request<bhttp::string_body> req;
  req.method_string(beast::string_view(method.data(), method.size()));
  req.target(beast::string_view(target.data(), target.size()));
  req.version(11);
  req.set(bhttp::field::host, server_.host + ":" + std::to_string(server_.port));
  req.set(bhttp::field::user_agent, "argus");
  req.keep_alive(true);
  for (const auto& [k, v] : headers) req.set(k, v);
  if (!body.empty() || method == "POST" || method == "PUT") {
    req.body() = std::string(body);
    if (req.find(bhttp::field::content_type) == req.end()) {
      req.set(bhttp::field::content_type, "application/json");
    }
  }
  req.prepare_payload();

  ClientResponse out;
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool reused = impl_->connected();
    beast::error_code ec;
    if (!impl_->connected()) {
      if (base::Status s = Connect(); !s.ok()) {
        out.error = s.message();
        return out;
      }
    }
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    impl_->Lowest().expires_after(timeout_);
    ec = impl_->plain ? Exchange(impl_->ioc, *impl_->plain, impl_->buffer, req, parser)
                      : Exchange(impl_->ioc, *impl_->tls, impl_->buffer, req, parser);
    if (ec) {
      impl_->Reset();
      // A kept-alive connection the server closed meanwhile: one fresh try.
      bool stale = reused && (ec == bhttp::error::end_of_stream || ec == asio::error::connection_reset ||
                              ec == asio::error::broken_pipe || ec == asio::error::eof ||
                              ec == ssl::error::stream_truncated);
      if (stale && attempt == 0) continue;
      out.error = (ec == beast::error::timeout ? std::string("timed out after ") +
                                                     std::to_string(timeout_.count()) + " ms"
                                               : ec.message()) +
                  " talking to " + server_.ToString();
      return out;
    }
    auto res = parser.release();
    out.status = static_cast<int>(res.result_int());
    out.body = std::move(res.body());
    for (const auto& f : res) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.headers[name] = std::string(f.value());
    }
    if (!res.keep_alive()) impl_->Reset();
    return out;
  }
  return out;
}

base::Status Client::Connect() {
  impl_->Reset();
  beast::error_code ec;
  tcp::resolver resolver(impl_->ioc);
  auto results = resolver.resolve(server_.host, std::to_string(server_.port), ec);
  if (ec) return base::Status::Unavailable("cannot resolve " + server_.host + ": " + ec.message());

  if (server_.tls && !impl_->tls_ctx) {
    impl_->tls_ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
    impl_->tls_ctx->set_verify_mode(ssl::verify_peer);
    if (tls_.ca_file.empty()) {
      impl_->tls_ctx->set_default_verify_paths(ec);
    } else {
      impl_->tls_ctx->load_verify_file(tls_.ca_file, ec);
    }
    if (ec) {
      impl_->tls_ctx.reset();
      return base::Status::Unavailable("cannot load trusted CAs " +
                                       (tls_.ca_file.empty() ? std::string("(system)") : tls_.ca_file) + ": " +
                                       ec.message());
    }
  }
  if (server_.tls) {
    impl_->tls.emplace(impl_->ioc, *impl_->tls_ctx);
    // SNI, and the certificate must name the host we asked for.
    SSL_set_tlsext_host_name(impl_->tls->native_handle(), server_.host.c_str());
    impl_->tls->set_verify_callback(ssl::host_name_verification(server_.host));
  } else {
    impl_->plain.emplace(impl_->ioc);
  }
  bool done = false;
  impl_->Lowest().expires_after(timeout_);
  impl_->Lowest().async_connect(results, [&](beast::error_code e, const tcp::endpoint&) {
    ec = e;
    done = true;
  });
  RunUntilDone(impl_->ioc, done);
  if (!ec && server_.tls) {
    done = false;
    impl_->tls->async_handshake(ssl::stream_base::client, [&](beast::error_code e) {
      ec = e;
      done = true;
    });
    RunUntilDone(impl_->ioc, done);
    if (ec) {
      impl_->Reset();
      return base::Status::Unavailable("TLS handshake with " + server_.ToString() + " failed: " + ec.message());
    }
  }
  if (ec) {
    impl_->Reset();
    return base::Status::Unavailable("cannot connect to " + server_.ToString() + ": " + ec.message());
  }
  return {};
}

}  // namespace argus::http
