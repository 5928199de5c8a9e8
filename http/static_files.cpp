#include "http/static_files.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "http/answer_cache.h"

namespace argus::http {
namespace {

namespace fs = std::filesystem;

constexpr uintmax_t kMaxFileBytes = 16 << 20;

const char* ContentType(const fs::path& p) {
  const std::string ext = p.extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".json" || ext == ".map") return "application/json";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

}  // namespace

Response StaticFiles::Serve(const Request& req, std::string_view relative) const {
  // A plain relative path: no "..", no empty or "." segments, no backslash or NUL.
  bool plain = !relative.empty() && relative.front() != '/' && relative.size() <= 1024;
  for (size_t start = 0; plain && start <= relative.size();) {
    const size_t slash = std::min(relative.find('/', start), relative.size());
    const std::string_view seg = relative.substr(start, slash - start);
    plain = !seg.empty() && seg != "." && seg != ".." && seg.find_first_of(std::string_view("\\\0", 2)) == seg.npos;
    start = slash + 1;
  }
  if (!plain) return JsonError(bhttp::status::bad_request, "not a plain relative path");
  // And the file it names, symbolic links resolved, must still be under the root.
  std::error_code ec;
  const fs::path root = fs::weakly_canonical(root_, ec);
  const fs::path file = fs::weakly_canonical(root / fs::path(std::string(relative)), ec);
  auto [r, f] = std::mismatch(root.begin(), root.end(), file.begin(), file.end());
  if (ec || r != root.end() || !fs::is_regular_file(file, ec) || fs::file_size(file, ec) > kMaxFileBytes) {
    return JsonError(bhttp::status::not_found, "no such file: " + std::string(relative.substr(0, 200)));
  }
  std::ifstream in(file, std::ios::binary);
  std::ostringstream body;
  body << in.rdbuf();
  if (!in) return JsonError(bhttp::status::not_found, "cannot read " + std::string(relative.substr(0, 200)));
  Response res{bhttp::status::ok, 11};
  res.set(bhttp::field::content_type, ContentType(file));
  res.body() = body.str();
  return Deliver(req, *Finish(res, AcceptsGzip(req)));
}

}  // namespace argus::http
