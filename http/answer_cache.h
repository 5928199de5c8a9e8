// Cacheable JSON answers: each finished once (an ETag, a gzip form when that is worth
// it), sent as 304 when the client has it already or gzip-compressed when it accepts
// that, and kept a short while in a cache bounded in bytes, keyed by the normalised
// query, so a dashboard of many viewers asking the same thing costs one query.
#pragma once

#include <chrono>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/clock.h"
#include "http/router.h"

namespace argus::http {

struct FinishedAnswer {
  unsigned status = 200;
  std::string content_type, body, etag;
  std::string gzipped;  // empty: sent as it is (small, or gzip did not help)
  size_t bytes() const { return body.size() + gzipped.size() + content_type.size() + etag.size(); }
};

// The finished form of an answer: its ETag (from its body) and, with `gzip` and over
// 1 KiB, its gzip form (made once here for every client that will want it).
std::shared_ptr<const FinishedAnswer> Finish(const Response& res, bool gzip);

// Whether a request's Accept-Encoding takes gzip (named with q > 0, or `*` so).
bool AcceptsGzip(const Request& req);

// What to send for `req`: 304 when If-None-Match names the ETag; gzip when
// Accept-Encoding takes it (the kept form, or compressed now); else the body. Always with ETag, `Cache-Control: no-cache`
// (check back every time: relative times move) and `Vary: Accept-Encoding`.
Response Deliver(const Request& req, const FinishedAnswer& answer);

// The path and the decoded query parameters in name order: `?b=1&a=2` and `?a=2&b=1`
// are one key. Empty for a target whose query cannot be decoded.
std::string NormalisedQuery(std::string_view target);

class AnswerCache {
 public:
  // Entries live `ttl` (by the clock's steady time); the least recently used go first
  // once the entries pass `max_bytes`. A zero size or ttl caches nothing.
  AnswerCache(size_t max_bytes, std::chrono::milliseconds ttl, const base::Clock& clock = base::SystemClock());
  // False when a zero size or ttl makes it keep nothing.
  bool enabled() const { return max_bytes_ > 0 && ttl_.count() > 0; }
  std::shared_ptr<const FinishedAnswer> Get(const std::string& key);
  void Put(const std::string& key, std::shared_ptr<const FinishedAnswer> answer);
  size_t bytes() const;
  size_t entries() const;

 private:
  struct Entry {
    std::string key;
    std::shared_ptr<const FinishedAnswer> answer;
    base::Clock::SteadyTime expires;
    size_t bytes = 0;
  };
  void EraseLocked(std::list<Entry>::iterator it);

  const size_t max_bytes_;
  const std::chrono::milliseconds ttl_;
  const base::Clock& clock_;
  mutable std::mutex mu_;  // guards everything below
  std::list<Entry> lru_;   // most recently used first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
  size_t bytes_ = 0;
};

}  // namespace argus::http
