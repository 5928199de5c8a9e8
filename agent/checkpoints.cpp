#include "agent/checkpoints.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace argus::agent {

using nlohmann::json;

Checkpoints::Checkpoints(std::string state_dir) : path_(std::move(state_dir) + "/checkpoints.json") {
  std::ifstream in(path_);
  if (!in) return;
  std::stringstream ss;
  ss << in.rdbuf();
  json j = json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("files") || !j["files"].is_object()) {
    throw std::runtime_error("checkpoint file " + path_ + " is corrupt; move it away to start over");
  }
  for (const auto& [file, v] : j["files"].items()) {
    Checkpoint cp;
    cp.id.dev = v.value("dev", uint64_t{0});
    cp.id.ino = v.value("ino", uint64_t{0});
    cp.id.gen = v.value("gen", uint64_t{0});
    cp.offset = v.value("offset", uint64_t{0});
    files_[file] = cp;
  }
}

std::optional<Checkpoint> Checkpoints::Get(const std::string& path) const {
  std::lock_guard lock(mu_);
  auto it = files_.find(path);
  if (it == files_.end()) return std::nullopt;
  return it->second;
}

void Checkpoints::Advance(const std::string& path, const Checkpoint& cp) {
  std::lock_guard lock(mu_);
  auto& cur = files_[path];
  if (cur.id == cp.id && cur.offset >= cp.offset) return;
  cur = cp;
  dirty_ = true;
}

void Checkpoints::Save() {
  json j;
  {
    std::lock_guard lock(mu_);
    if (!dirty_) return;
    j["files"] = json::object();
    for (const auto& [file, cp] : files_) {
      j["files"][file] = {{"dev", cp.id.dev}, {"ino", cp.id.ino}, {"gen", cp.id.gen}, {"offset", cp.offset}};
    }
    dirty_ = false;
  }
  std::string tmp = path_ + ".tmp";
  std::string text = j.dump(1);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  bool ok = fd >= 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  if (fd >= 0) ::close(fd);
  if (!ok || std::rename(tmp.c_str(), path_.c_str()) != 0) {
    spdlog::error("cannot save checkpoints to {}: {}", path_, std::strerror(errno));
    std::lock_guard lock(mu_);
    dirty_ = true;
  }
}

}  // namespace argus::agent
