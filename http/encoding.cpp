#include "http/encoding.h"

#include <zlib.h>

#include <boost/beast/core/string.hpp>

namespace argus::http {

base::Status Gunzip(std::string_view in, size_t max_bytes, std::string* out) {
  z_stream zs{};
  // 15 + 32: a full window, and detect gzip or zlib headers by themselves.
  if (inflateInit2(&zs, 15 + 32) != Z_OK) return base::Status::Unavailable("cannot start inflating");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  out->clear();
  char buf[65536];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      std::string why = rc == Z_BUF_ERROR ? "the data ends early" : (zs.msg ? zs.msg : "corrupt data");
      inflateEnd(&zs);
      return base::Status::Invalid(why);
    }
    size_t got = sizeof(buf) - zs.avail_out;
    if (out->size() + got > max_bytes) {
      inflateEnd(&zs);
      return base::Status::TooLarge("inflates to more than " + std::to_string(max_bytes) + " bytes");
    }
    out->append(buf, got);
    if (rc == Z_OK && zs.avail_in == 0 && got == 0) {
      inflateEnd(&zs);
      return base::Status::Invalid("the data ends early");
    }
  }
  inflateEnd(&zs);
  return {};
}

base::Status Gzip(std::string_view in, int level, std::string* result) {
  z_stream zs{};
  if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return base::Status::Invalid("zlib refused to start compressing at level " + std::to_string(level));
  }
  std::string& out = *result;
  out.resize(deflateBound(&zs, static_cast<uLong>(in.size())) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  // deflateBound sized the buffer for the whole stream: anything but its end is an error.
  const int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return base::Status::Unavailable("zlib could not compress (" + std::to_string(rc) + ")");
  return {};
}

DecodedBody DecodeBody(const Request& req, size_t max_bytes) {
  DecodedBody r;
  auto it = req.find(bhttp::field::content_encoding);
  std::string_view encoding = it == req.end() ? std::string_view{} : std::string_view(it->value().data(), it->value().size());
  if (encoding.empty() || boost::beast::iequals(encoding, "identity")) return r;
  if (!boost::beast::iequals(encoding, "gzip") && !boost::beast::iequals(encoding, "deflate")) {
    r.status = 415;
    r.error = "Content-Encoding '" + std::string(encoding.substr(0, 40)) + "' is not supported (use gzip or none)";
    return r;
  }
  std::string inflated;
  if (base::Status s = Gunzip(req.body(), max_bytes, &inflated); !s.ok()) {
    const bool too_large = s.code() == base::Status::Code::kTooLarge;
    r.status = too_large ? 413 : 400;
    r.error = "Content-Encoding " + std::string(encoding) +
              (too_large ? ": the body " + s.message() : ": the body is not valid (" + s.message() + ")");
    return r;
  }
  r.inflated = std::move(inflated);
  return r;
}

}  // namespace argus::http
