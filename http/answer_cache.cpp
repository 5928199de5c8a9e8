#include "http/answer_cache.h"

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <map>

#include <zlib.h>

#include "http/encoding.h"

namespace argus::http {
namespace {

constexpr size_t kGzipFrom = 1024;  // smaller answers are sent as they are

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls fn(item) for each comma-separated item of a header value, trimmed.
template <class Fn>
void ForEachItem(std::string_view value, Fn fn) {
  while (!value.empty()) {
    const size_t comma = value.find(',');
    fn(Trim(value.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

// Whether Accept-Encoding takes gzip: named with a q above 0, or else `*` so.
bool AcceptsGzip(std::string_view header) {
  std::optional<bool> gzip, star;
  ForEachItem(header, [&](std::string_view item) {
    const size_t semi = item.find(';');
    const std::string_view coding = Trim(item.substr(0, semi));
    bool wanted = true;
    if (semi != std::string_view::npos) {
      const std::string_view q = Trim(item.substr(semi + 1));
      if (q.starts_with("q=")) wanted = std::strtod(std::string(q.substr(2)).c_str(), nullptr) > 0;
    }
    if (coding == "gzip") gzip = wanted;
    if (coding == "*") star = wanted;
  });
  return gzip ? *gzip : star.value_or(false);
}

bool NamesEtag(std::string_view if_none_match, const std::string& etag) {
  bool match = false;
  ForEachItem(if_none_match, [&](std::string_view item) {
    if (item.starts_with("W/")) item.remove_prefix(2);  // weak comparison, as RFC 9110 asks for If-None-Match
    if (item == "*" || item == etag) match = true;
  });
  return match;
}

}  // namespace

bool AcceptsGzip(const Request& req) { return AcceptsGzip(std::string_view(req[bhttp::field::accept_encoding])); }

std::shared_ptr<const FinishedAnswer> Finish(const Response& res, bool gzip) {
  auto a = std::make_shared<FinishedAnswer>();
  a->status = res.result_int();
  a->content_type = std::string(res[bhttp::field::content_type]);
  a->body = res.body();
  // Two independent 32-bit checksums and the length: a changed answer gets a new tag.
  const auto* data = reinterpret_cast<const Bytef*>(a->body.data());
  const auto size = static_cast<uInt>(a->body.size());
  char tag[48];
  std::snprintf(tag, sizeof tag, "\"%08lx%08lx-%zx\"", crc32(0, data, size), adler32(1, data, size), a->body.size());
  a->etag = tag;
  if (gzip && a->body.size() >= kGzipFrom) {
    std::string gz;
    if (Gzip(a->body, 6, &gz).ok() && gz.size() < a->body.size()) a->gzipped = std::move(gz);
  }
  return a;
}

Response Deliver(const Request& req, const FinishedAnswer& answer) {
  Response res;
  res.version(req.version());
  res.keep_alive(req.keep_alive());
  res.set(bhttp::field::etag, answer.etag);
  res.set(bhttp::field::cache_control, "no-cache");
  res.set(bhttp::field::vary, "Accept-Encoding");
  if (NamesEtag(req[bhttp::field::if_none_match], answer.etag)) {
    res.result(bhttp::status::not_modified);
    return res;
  }
  res.result(answer.status);
  res.set(bhttp::field::content_type, answer.content_type);
  std::string gz;
  if (AcceptsGzip(req) && answer.body.size() >= kGzipFrom &&
      (!answer.gzipped.empty() || (Gzip(answer.body, 6, &gz).ok() && gz.size() < answer.body.size()))) {
    res.set(bhttp::field::content_encoding, "gzip");
    res.body() = answer.gzipped.empty() ? std::move(gz) : answer.gzipped;
  } else {
    res.body() = answer.body;
  }
  res.prepare_payload();
  return res;
}

std::string NormalisedQuery(std::string_view target) {
  std::map<std::string, std::string> params;
  if (!QueryParams(target, &params).ok()) return {};
  std::string key(TargetPath(target));
  // NUL separates: it cannot occur in a decoded parameter that the handlers accept.
  for (const auto& [k, v] : params) key += std::string(1, '\0') + k + '=' + v;
  return key;
}

AnswerCache::AnswerCache(size_t max_bytes, std::chrono::milliseconds ttl, const base::Clock& clock)
    : max_bytes_(max_bytes), ttl_(ttl), clock_(clock) {}

std::shared_ptr<const FinishedAnswer> AnswerCache::Get(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  if (clock_.Steady() >= it->second->expires) {
    EraseLocked(it->second);
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->answer;
}

void AnswerCache::Put(const std::string& key, std::shared_ptr<const FinishedAnswer> answer) {
  const size_t bytes = key.size() + answer->bytes();
  if (ttl_.count() <= 0 || bytes > max_bytes_) return;
  std::lock_guard lock(mu_);
  if (auto it = index_.find(key); it != index_.end()) EraseLocked(it->second);
  lru_.push_front({key, std::move(answer), clock_.Steady() + ttl_, bytes});
  index_[key] = lru_.begin();
  bytes_ += bytes;
  while (bytes_ > max_bytes_) EraseLocked(std::prev(lru_.end()));
}

void AnswerCache::EraseLocked(std::list<Entry>::iterator it) {
  bytes_ -= it->bytes;
  index_.erase(it->key);
  lru_.erase(it);
}

size_t AnswerCache::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

size_t AnswerCache::entries() const {
  std::lock_guard lock(mu_);
  return lru_.size();
}

}  // namespace argus::http
