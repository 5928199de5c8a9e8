// Files under one folder served over HTTP (the dash's web UI): never a file outside the
// folder, whatever the path says, only regular files, with a content type by
// extension, an ETag (304 when unchanged) and gzip when the client takes it.
#pragma once

#include <string>
#include <string_view>

#include "http/router.h"

namespace argus::http {

class StaticFiles {
 public:
  // `root` need not exist yet (a UI built later): each request looks again.
  explicit StaticFiles(std::string root) : root_(std::move(root)) {}
  // The file at `relative` (a URL path below the root, percent-decoded by the caller)
  // for `req`: 404 when there is none or the path leaves the root, 400 when it is not
  // a plain relative path.
  Response Serve(const Request& req, std::string_view relative) const;
  const std::string& root() const { return root_; }

 private:
  std::string root_;
};

}  // namespace argus::http
