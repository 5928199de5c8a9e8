// A blocking HTTP/1.1 client with a kept-alive connection and a deadline on every
// request: what the agent ships with and what tests call servers with. Not
// thread-safe; use one Client per thread.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "http/endpoint.h"

namespace argus::http {

struct ClientResponse {
  int status = 0;           // 0 when no answer came (see error)
  std::string error;        // transport failure: refused, timed out, reset, ...
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  bool ok() const { return error.empty(); }
};

// For https:// endpoints: the server's certificate must chain to a trusted CA and name
// the host connected to.
struct TlsClientOptions {
  std::string ca_file;  // PEM; empty: the system's trusted CAs
};

class Client {
 public:
  explicit Client(Endpoint server, std::chrono::milliseconds timeout = std::chrono::seconds(10),
                  TlsClientOptions tls = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends one request; reconnects once when a kept-alive connection turns out closed.
  ClientResponse Request(std::string_view method, std::string_view target,
                         std::string_view body = {},
                         const std::map<std::string, std::string>& headers = {});
  ClientResponse Get(std::string_view target) { return Request("GET", target); }

  const Endpoint& server() const { return server_; }

 private:
  struct Impl;
  // Opens the connection (and the TLS session).
  base::Status Connect();

  Endpoint server_;
  std::chrono::milliseconds timeout_;
  TlsClientOptions tls_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace argus::http
