#include "http/client.h"

#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace argus::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

// Async operations on a private io_context give real deadlines to a blocking API:
// tcp_stream closes the socket when its timer fires, which completes the operation.
struct Client::Impl {
  asio::io_context ioc;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
};

Client::Client(Endpoint server, std::chrono::milliseconds timeout)
    : server_(std::move(server)), timeout_(timeout), impl_(std::make_unique<Impl>()) {}

Client::~Client() = default;

namespace {

// Runs handlers until the operation's own completion handler has set `done`, so no
// handler that refers to the caller's stack is left queued.
void RunUntilDone(asio::io_context& ioc, const bool& done) {
  ioc.restart();
  while (!done && ioc.run_one() > 0) {
  }
}

}  // namespace

ClientResponse Client::Request(std::string_view method, std::string_view target,
                               std::string_view body,
                               const std::map<std::string, std::string>& headers) {
  bhttp::request<bhttp::string_body> req;
  req.method_string(beast::string_view(method.data(), method.size()));
  req.target(beast::string_view(target.data(), target.size()));
  req.version(11);
  req.set(bhttp::field::host, server_.ToString());
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
    bool reused = impl_->stream.has_value();
    beast::error_code ec;
    bool done = false;
    if (!impl_->stream) {
      impl_->buffer.clear();
      tcp::resolver resolver(impl_->ioc);
      auto results = resolver.resolve(server_.host, std::to_string(server_.port), ec);
      if (ec) {
        out.error = "cannot resolve " + server_.host + ": " + ec.message();
        return out;
      }
      impl_->stream.emplace(impl_->ioc);
      impl_->stream->expires_after(timeout_);
      impl_->stream->async_connect(results, [&](beast::error_code e, const tcp::endpoint&) {
        ec = e;
        done = true;
      });
      RunUntilDone(impl_->ioc, done);
      if (ec) {
        impl_->stream.reset();
        out.error = "cannot connect to " + server_.ToString() + ": " + ec.message();
        return out;
      }
    }
    auto& stream = *impl_->stream;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    done = false;
    stream.expires_after(timeout_);
    bhttp::async_write(stream, req, [&](beast::error_code e, size_t) {
      ec = e;
      if (ec) {
        done = true;
        return;
      }
      bhttp::async_read(stream, impl_->buffer, parser, [&](beast::error_code e2, size_t) {
        ec = e2;
        done = true;
      });
    });
    RunUntilDone(impl_->ioc, done);
    if (ec) {
      impl_->stream.reset();
      impl_->buffer.clear();
      // A kept-alive connection the server closed meanwhile: one fresh try.
      bool stale = reused && (ec == bhttp::error::end_of_stream || ec == asio::error::connection_reset ||
                              ec == asio::error::broken_pipe || ec == asio::error::eof);
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
    if (!res.keep_alive()) {
      impl_->stream.reset();
      impl_->buffer.clear();
    }
    return out;
  }
  return out;
}

}  // namespace argus::http
