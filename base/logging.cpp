#include "base/logging.h"

#include <unistd.h>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace argus::base {

void LogFlags::Add(CLI::App& app) {
  app.add_option("--log-level", level, "least severe message logged: trace, debug, info, warn, error, off")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
}

void LogFlags::Start(const std::string& program) const {
  spdlog::set_default_logger(spdlog::stderr_color_mt(program));
  spdlog::set_level(spdlog::level::from_str(level));
}

std::string HostName() {
  char name[256] = {0};
  if (::gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

}  // namespace argus::base
