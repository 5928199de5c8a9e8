#include "proto/json_scan.h"

#include <nlohmann/json.hpp>

namespace argus::proto {
namespace {

using nlohmann::json;

// Accepts every event and keeps nothing; records where parsing failed. Returning
// false from an event stops the parse (used by the subclass below).
class NullSax : public nlohmann::json_sax<json> {
 public:
  bool null() override { return Value(); }
  bool boolean(bool) override { return Value(); }
  bool number_integer(number_integer_t) override { return Value(); }
  bool number_unsigned(number_unsigned_t) override { return Value(); }
  bool number_float(number_float_t, const string_t&) override { return Value(); }
  bool string(string_t& s) override { return String(s); }
  bool binary(binary_t&) override { return Value(); }
  bool start_object(std::size_t) override { return Open(); }
  bool key(string_t& k) override { return Key(k); }
  bool end_object() override { return Close(); }
  bool start_array(std::size_t) override { return Open(); }
  bool end_array() override { return Close(); }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) override {
    // A number out of range is reported here too, but it is no syntax error.
    if (dynamic_cast<const nlohmann::detail::parse_error*>(&e) != nullptr) error_at = position;
    return false;
  }

  std::optional<size_t> error_at;

 protected:
  virtual bool Value() { return true; }
  virtual bool String(string_t&) { return Value(); }
  virtual bool Open() { return true; }
  virtual bool Close() { return true; }
  virtual bool Key(string_t&) { return true; }
};

// Stops at the first value of `key` in the top-level object.
class FieldSax : public NullSax {
 public:
  FieldSax(std::string_view key, size_t max_depth) : key_(key), max_depth_(max_depth) {}
  std::optional<std::string> found;

 private:
  // The field's value is not a string: the first occurrence decides, so stop.
  bool Value() override { return !want_; }
  bool String(string_t& s) override {
    if (want_) {
      found = std::move(s);
      return false;  // done: read no further
    }
    return true;
  }
  bool Open() override { return !want_ && ++depth_ <= max_depth_; }
  bool Close() override {
    --depth_;
    return true;
  }
  bool Key(string_t& k) override {
    want_ = depth_ == 1 && k == key_;
    return true;
  }

  std::string_view key_;
  size_t max_depth_;
  size_t depth_ = 0;
  bool want_ = false;
};

}  // namespace

std::optional<size_t> JsonSyntaxErrorAt(std::string_view text) {
  NullSax sax;
  json::sax_parse(text, &sax, json::input_format_t::json, /*strict=*/true);
  return sax.error_at;
}

std::optional<std::string> TopLevelString(std::string_view text, std::string_view key, size_t max_depth) {
  FieldSax sax(key, max_depth);
  json::sax_parse(text, &sax, json::input_format_t::json, /*strict=*/true);
  return std::move(sax.found);
}

}  // namespace argus::proto
