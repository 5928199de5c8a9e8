// What integration tests need to run real parts: temp folders, free loopback ports,
// child processes that are always reaped, and a private redis-server.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "queue/redis.h"
#include "tests/support/checks.h"

namespace argus::testing {

// A fresh folder under $TMPDIR, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A loopback TCP port that was free a moment ago.
uint16_t FreePort();

// Folder holding the built programs (argus-proxy, ...).
std::string BinDir();

// Polls `cond` every 50 ms until true or `timeout`; returns the last result.
bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds timeout);

// The file's contents; empty when it does not exist (yet).
std::string ReadFile(const std::string& path);

// `text` gzip-compressed (throws when zlib refuses).
std::string Gzipped(std::string_view text, int level = 6);

// Runs a shell command; returns its exit status and puts stdout+stderr in *output.
int RunCommand(const std::string& command, std::string* output);
void AppendFile(const std::string& path, const std::string& text);
void WriteFile(const std::string& path, const std::string& text, int mode = 0644);

// A child process; its output goes to `log_path`. Killed (SIGKILL) and reaped on
// destruction if still running.
class Process {
 public:
  Process(std::vector<std::string> argv, std::string log_path);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  void Kill(int sig);
  // Waits for exit up to `timeout`; returns the exit status, or -1 if still running.
  int Wait(std::chrono::milliseconds timeout);
  std::string Log() const { return ReadFile(log_path_); }

 private:
  pid_t pid_ = -1;
  int status_ = -1;
  std::string log_path_;
};

// A throwaway CA and a server certificate it signed for localhost and 127.0.0.1,
// made with the openssl command in `dir`.
struct TlsFiles {
  std::string ca, cert, key;
};
TlsFiles MakeTlsFiles(const TempDir& dir);

// redis-server on a free loopback port with its data in a temp folder. Without
// persistence by default; with it, an append-only file synced every write.
class RedisServer {
 public:
  // With a `password`, clients must AUTH with it (requirepass).
  explicit RedisServer(bool persistent = false, std::string password = {});
  ~RedisServer();
  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // How a client reaches and logs in to it.
  queue::RedisOptions options() const;
  // A file (mode 0600) holding the password, for --redis-password-file.
  std::string password_file() const { return dir_ / "redis.pass"; }
  // Stops the server: SIGKILL by default (nothing saved), or SIGTERM (a clean shutdown).
  void Stop(bool graceful = false);
  // Starts it again on the same port (with its data when persistent).
  void Start();

 private:
  TempDir dir_;
  bool persistent_ = false;
  std::string password_;
  uint16_t port_ = 0;
  std::unique_ptr<Process> proc_;
};

}  // namespace argus::testing
