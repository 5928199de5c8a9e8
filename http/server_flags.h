// The command-line flags every Argus server takes (logging, access log, TLS), declared
// once so argus-proxy and argus-dash read the same way.
#pragma once

#include <string>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "base/logging.h"
#include "http/server.h"

namespace argus::http {

struct ServerFlags {
  base::LogFlags log;
  bool access_log = false;
  std::string tls_cert, tls_key;
  size_t max_connections_per_ip = kDefaultMaxConnectionsPerIp;

  void Add(CLI::App& app) {
    log.Add(app);
    app.add_flag("--access-log", access_log, "log every request at info level (peer, method, path, status)");
    app.add_option("--tls-cert", tls_cert, "PEM certificate chain: serve HTTPS (with --tls-key)")
        ->check(CLI::ExistingFile);
    app.add_option("--tls-key", tls_key, "PEM private key for --tls-cert")->check(CLI::ExistingFile);
    app.add_option("--max-connections-per-ip", max_connections_per_ip,
                   "open connections one client address may hold; more are closed at once (0: no limit)")
        ->capture_default_str();
  }

  // Call right after parsing (see base::LogFlags::Start).
  void StartLogging(const std::string& program) const { log.Start(program); }

  // Call after parsing, once `options` exists (set the log level before anything logs).
  void Apply(ServerOptions& options) const {
    options.tls_cert = tls_cert;
    options.tls_key = tls_key;
    options.max_connections_per_ip = max_connections_per_ip;
  }

  const char* scheme() const { return tls_cert.empty() ? "http" : "https"; }

  // For a program's main. Serves `service` (anything with Handle, metrics and
  // set_access_log) until SIGTERM or SIGINT: raises the process's open-files limit,
  // applies these flags, starts, publishes `<metrics_prefix>_connections`, calls
  // `started(port)` once listening, and returns after a graceful shutdown.
  template <class Service, class Started>
  void Serve(ServerOptions options, Service& service, const std::string& metrics_prefix,
             const Started& started) const {
    Apply(options);
    // Every connection is a file descriptor: this program takes all the hard limit allows.
    spdlog::info("open-files limit raised to {} (the hard limit)", RaiseOpenFilesLimit());
    Server server(options, [&service](const Request& r, const Peer& p) { return service.Handle(r, p); });
    service.set_access_log(access_log);
    server.Start();
    server.StopOnSignals();
    server.ExportMetrics(service.metrics(), metrics_prefix);
    started(server.port());
    server.Run();
  }
};

}  // namespace argus::http
