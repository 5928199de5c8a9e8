#include "proto/json_path.h"

namespace argus::proto {

const nlohmann::json* FindPath(const nlohmann::json& j, std::string_view path) {
  const nlohmann::json* at = &j;
  while (true) {
    if (!at->is_object()) return nullptr;
    const size_t dot = path.find('.');
    auto it = at->find(path.substr(0, dot));
    if (it == at->end()) return nullptr;
    at = &*it;
    if (dot == std::string_view::npos) return at;
    path.remove_prefix(dot + 1);
  }
}

}  // namespace argus::proto
