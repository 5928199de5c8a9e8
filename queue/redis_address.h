// Where a program finds Redis and how it logs in, as the command lines and config files
// say it: `HOST:PORT` or `redis://[USER[:PASSWORD]@]HOST:PORT`, and a password file,
// so that no password needs to stand on a command line (where `ps` shows it).
#pragma once

#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "queue/redis.h"

namespace argus::queue {

// Sets host, port and (from a URL) user and password. `rediss://` is refused: the
// hiredis of Debian 12 (0.14) has no TLS, and Argus will not fall back to clear text
// silently. The error says what is wrong, never echoing a password.
base::Status ParseRedisAddress(std::string_view text, RedisOptions* out);

// Sets the password from the first line of `path` (a trailing newline is not part of
// it). Warns when others may read the file.
base::Status ReadRedisPasswordFile(const std::string& path, RedisOptions* out);

// The --redis and --redis-password-file flags, declared once for every program.
struct RedisFlags {
  std::string address = "127.0.0.1:6379";
  std::string password_file;

  // `what` says what the program uses Redis for, in --redis's help.
  void Add(CLI::App& app, const std::string& what);
  // Fills `out` from the flags; the error names the flag. Without `address_too` only
  // the password file is applied (the address came from elsewhere).
  base::Status Apply(RedisOptions* out, bool address_too = true) const;
};

}  // namespace argus::queue
