#include "agent/checkpoints.h"

#include <stdexcept>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "base/file.h"

namespace argus::agent {

using nlohmann::json;

Checkpoints::Checkpoints(std::string state_dir) : path_(std::move(state_dir) + "/checkpoints.json") {
  std::string text;
  if (base::Status s = base::ReadFile(path_, &text); !s.ok()) {
    if (s.code() == base::Status::Code::kNotFound) return;  // none yet
    throw std::runtime_error("checkpoints: " + s.message());
  }
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("files") || !j["files"].is_object()) {
    throw std::runtime_error("checkpoint file " + path_ + " is corrupt; move it away to start over");
  }
  try {
    for (const auto& [key, v] : j["files"].items()) {
      Checkpoint cp;
      cp.id.dev = v.at("dev").get<uint64_t>();
      cp.id.ino = v.at("ino").get<uint64_t>();
      cp.id.gen = v.value("gen", uint64_t{0});
      cp.offset = v.value("offset", uint64_t{0});
      cp.fp.hash = v.value("fp", uint64_t{0});
      cp.fp.len = v.value("fp_len", uint32_t{0});
      // Version 1 files were keyed by path and had no "path" field.
      cp.path = v.value("path", key);
      files_[{cp.id.dev, cp.id.ino}] = cp;
    }
  } catch (const json::exception& e) {
    throw std::runtime_error("checkpoint file " + path_ + " is corrupt (" + e.what() +
                             "); move it away to start over");
  }
}

std::optional<Checkpoint> Checkpoints::Get(uint64_t dev, uint64_t ino) const {
  std::lock_guard lock(mu_);
  auto it = files_.find({dev, ino});
  if (it == files_.end()) return std::nullopt;
  return it->second;
}

std::vector<Checkpoint> Checkpoints::All() const {
  std::lock_guard lock(mu_);
  std::vector<Checkpoint> out;
  for (const auto& [key, cp] : files_) out.push_back(cp);
  return out;
}

void Checkpoints::Advance(const Checkpoint& cp) {
  std::lock_guard lock(mu_);
  auto& cur = files_[{cp.id.dev, cp.id.ino}];
  Checkpoint next = cp;
  if (cur.id == cp.id) next.offset = std::max(cur.offset, cp.offset);
  if (cur == next) return;
  cur = std::move(next);
  dirty_ = true;
}

void Checkpoints::Retire(const FileIdentity& id) {
  std::lock_guard lock(mu_);
  auto it = files_.find({id.dev, id.ino});
  // A newer generation of the same inode is still being followed.
  if (it == files_.end() || it->second.id.gen != id.gen) return;
  files_.erase(it);
  dirty_ = true;
}

void Checkpoints::Apply(const Progress& p) {
  if (p.retire) {
    Retire(p.cp.id);
  } else {
    Advance(p.cp);
  }
}

void Checkpoints::Save() {
  json j;
  {
    std::lock_guard lock(mu_);
    if (!dirty_) return;
    j["version"] = 2;
    j["files"] = json::object();
    for (const auto& [key, cp] : files_) {
      j["files"][std::to_string(cp.id.dev) + ":" + std::to_string(cp.id.ino)] = {
          {"path", cp.path}, {"dev", cp.id.dev}, {"ino", cp.id.ino}, {"gen", cp.id.gen},
          {"offset", cp.offset}, {"fp", cp.fp.hash}, {"fp_len", cp.fp.len}};
    }
    dirty_ = false;
  }
  if (base::Status s = base::WriteFileDurably(path_, j.dump(1)); !s.ok()) {
    spdlog::error("cannot save checkpoints: {}", s.message());
    std::lock_guard lock(mu_);
    dirty_ = true;
  }
}

}  // namespace argus::agent
