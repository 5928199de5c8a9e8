#include "tests/support/support.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "base/file.h"
#include "http/encoding.h"
#include "queue/redis.h"

namespace argus::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string templ = std::string(base && *base ? base : "/tmp") + "/argus-test-XXXXXX";
  if (!::mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed");
  path_ = templ;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

uint16_t FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string BinDir() { return ARGUS_BIN_DIR; }

bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (cond()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

std::string ReadFile(const std::string& path) {
  std::string text;
  base::ReadFile(path, &text).IgnoreError();  // missing reads as empty, as documented
  return text;
}

std::string Gzipped(std::string_view text, int level) {
  std::string out;
  if (base::Status s = http::Gzip(text, level, &out); !s.ok()) throw std::runtime_error(s.message());
  return out;
}

int RunCommand(const std::string& command, std::string* output) {
  output->clear();
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return -1;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) output->append(buf, n);
  int status = ::pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void AppendFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out << text;
}

void WriteFile(const std::string& path, const std::string& text, int mode) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
  }
  ::chmod(path.c_str(), static_cast<mode_t>(mode));
}

Process::Process(std::vector<std::string> argv, std::string log_path) : log_path_(std::move(log_path)) {
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ == 0) {
    int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execv(args[0], args.data());
    _exit(127);
  }
  if (pid_ < 0) throw std::runtime_error("fork failed");
}

Process::~Process() {
  if (running()) {
    Kill(SIGKILL);
    Wait(std::chrono::seconds(10));
  }
}

bool Process::running() {
  if (pid_ <= 0 || status_ != -1) return false;
  int st = 0;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return false;
  }
  return true;
}

void Process::Kill(int sig) {
  if (running()) ::kill(pid_, sig);
}

int Process::Wait(std::chrono::milliseconds timeout) {
  WaitFor([this] { return !running(); }, timeout);
  return status_;
}

TlsFiles MakeTlsFiles(const TempDir& dir) {
  TlsFiles f{dir / "ca.pem", dir / "server.pem", dir / "server.key"};
  WriteFile(dir / "san.ext", "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  const std::string d = "'" + dir.path() + "'";
  std::string out;
  const std::string cmd =
      "cd " + d + " && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 "
      "-subj /CN=argus-test-ca && openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr "
      "-subj /CN=localhost && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
      "-out server.pem -days 2 -extfile san.ext";
  if (RunCommand(cmd, &out) != 0) throw std::runtime_error("openssl failed: " + out);
  return f;
}

RedisServer::RedisServer(bool persistent, std::string password)
    : persistent_(persistent), password_(std::move(password)) {
  if (!password_.empty()) WriteFile(password_file(), password_ + "\n", 0600);
  Start();
}

queue::RedisOptions RedisServer::options() const {
  queue::RedisOptions o;
  o.host = "127.0.0.1";
  o.port = port_;
  o.password = password_;
  return o;
}

RedisServer::~RedisServer() { Stop(); }

void RedisServer::Stop(bool graceful) {
  if (proc_ && graceful) {
    proc_->Kill(SIGTERM);
    proc_->Wait(std::chrono::seconds(30));
  }
  proc_.reset();
}

void RedisServer::Start() {
  // A port picked free may be taken by the time redis binds it: try a few.
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (port_ == 0 || attempt > 0) port_ = FreePort();
    std::vector<std::string> argv = {"/usr/bin/redis-server", "--port", std::to_string(port_), "--bind",
                                     "127.0.0.1", "--save", "", "--dir", dir_.path()};
    if (!password_.empty()) argv.insert(argv.end(), {"--requirepass", password_});
    if (persistent_) {
      argv.insert(argv.end(), {"--appendonly", "yes", "--appendfsync", "always"});
    } else {
      argv.insert(argv.end(), {"--appendonly", "no"});
    }
    proc_ = std::make_unique<Process>(argv, dir_ / "redis.log");
    queue::RedisOptions po = options();
    po.timeout = std::chrono::milliseconds(500);
    po.reconnect_backoff = std::chrono::milliseconds(0);
    queue::Redis probe(po);
    if (WaitFor([&] { return proc_->running() && probe.Run({"PING"}).ok(); }, std::chrono::seconds(5))) {
      return;
    }
    proc_.reset();
  }
  throw std::runtime_error("redis-server did not start; see " + (dir_ / "redis.log"));
}

}  // namespace argus::testing
