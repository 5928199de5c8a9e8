// Request and response body encodings: gzip in both directions, with a cap on how large
// an inflated body may grow (a few kilobytes of gzip can inflate to gigabytes).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "http/router.h"

namespace argus::http {

// A request's body with its Content-Encoding undone. `status` is 200 on success; 400
// (corrupt), 413 (inflates past `max_bytes`) or 415 (unknown encoding) with `error`.
struct DecodedBody {
  int status = 200;
  std::string error;
  std::optional<std::string> inflated;  // set when the body was encoded
  // The usable body; `req` must be the request this was decoded from.
  std::string_view View(const Request& req) const { return inflated ? *inflated : req.body(); }
};
DecodedBody DecodeBody(const Request& req, size_t max_bytes);

// Inflates gzip or zlib data: Invalid when corrupt, TooLarge when over `max_bytes`.
base::Status Gunzip(std::string_view in, size_t max_bytes, std::string* out);

// Compresses to the gzip format; fails when zlib does (no memory, a level outside 0-9).
base::Status Gzip(std::string_view in, int level, std::string* out);

}  // namespace argus::http
