// Whole files: read in one call, and written so that they survive a crash whole or not
// at all (temp file, fsync, rename, fsync of the folder). Every component's config,
// checkpoint and state file goes through these.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace argus::base {

// The whole of `path` in *out: NotFound when it does not exist, Unavailable when it
// cannot be read (with errno's text).
Status ReadFile(const std::string& path, std::string* out);

// `path` parsed as JSON; Invalid names the line and column of a syntax error.
Status ReadJsonFile(const std::string& path, nlohmann::json* out);

// The folder part of `path` ("." for a bare name, "/" for a file at the root).
std::string DirOf(const std::string& path);

// Writes `data` to `path` atomically and durably (the directory entry is synced too).
Status WriteFileDurably(const std::string& path, std::string_view data);

}  // namespace argus::base
