// A service (proxy, dash) served over a real socket on a free loopback port, on its
// own thread, for as long as the object lives.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "http/server.h"

namespace argus::testing {

template <typename Service>
struct Served {
  std::unique_ptr<Service> service;
  std::unique_ptr<http::Server> server;
  std::thread thread;
  Served(std::unique_ptr<Service> s, const std::string& prefix, http::ServerOptions so = {}) : service(std::move(s)) {
    if (so.threads == 0) so.threads = 2;
    server = std::make_unique<http::Server>(so, [this](const http::Request& r, const http::Peer& p) {
      return service->Handle(r, p);
    });
    server->Start();
    server->ExportMetrics(service->metrics(), prefix);
    thread = std::thread([this] { server->Run(); });
  }
  ~Served() {
    server->Stop();
    thread.join();
  }
  http::Endpoint endpoint() const { return {"127.0.0.1", server->port()}; }
};

}  // namespace argus::testing
