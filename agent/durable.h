// Writing files that survive a crash whole or not at all: the agent's checkpoints and
// spool segments are written to a temp file, synced, then renamed into place.
#pragma once

#include <string>
#include <string_view>

namespace argus::agent {

// Writes `data` to `path` atomically and durably (the directory entry is synced too).
// Returns "" or what failed, with errno's text.
std::string WriteFileDurably(const std::string& path, std::string_view data);

}  // namespace argus::agent
