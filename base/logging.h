// How every Argus program logs and names its machine, declared once: the --log-level
// flag (checked, so a typo is an error rather than silence), spdlog to stderr (stdout
// stays free for what a program is asked to print), and the host-name default.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace argus::base {

struct LogFlags {
  std::string level = "info";

  void Add(CLI::App& app);
  // Call right after parsing, before anything logs: logs go to stderr, named after
  // `program`, at the chosen level.
  void Start(const std::string& program) const;
};

// This machine's host name (gethostname), the default for an agent's `host` and a
// consumer's name; "localhost" when the system has none.
std::string HostName();

}  // namespace argus::base
