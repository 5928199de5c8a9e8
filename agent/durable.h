// The agent's own files (config, checkpoints, spool segments): read whole, and written
// so that they survive a crash whole or not at all (temp file, sync, rename).
#pragma once

#include <string>
#include <string_view>

namespace argus::agent {

// The whole of `path` in *out; false when it cannot be opened or read.
bool ReadWholeFile(const std::string& path, std::string* out);

// The folder part of `path` ("." for a bare name, "/" for a file at the root).
std::string DirOf(const std::string& path);

// Writes `data` to `path` atomically and durably (the directory entry is synced too).
// Returns "" or what failed, with errno's text.
std::string WriteFileDurably(const std::string& path, std::string_view data);

}  // namespace argus::agent
