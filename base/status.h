// The one way Argus reports a failure (leveldb's Status): a fallible call returns a
// Status, and values come back through out-parameters. The class is [[nodiscard]], so
// an ignored error is a compile warning; the message names the problem for a person.
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace argus::base {

class [[nodiscard]] Status {
 public:
  enum class Code {
    kOk,
    kInvalid,      // the input is wrong (bad JSON, bad setting, bad output of a script)
    kNotFound,     // what was asked for does not exist
    kTooLarge,     // over a size limit
    kUnavailable,  // a peer or resource is away or failed (Redis, a disk, a proxy); retry later
  };

  Status() = default;  // success
  static Status Ok() { return {}; }
  static Status Invalid(std::string message) { return {Code::kInvalid, std::move(message)}; }
  static Status NotFound(std::string message) { return {Code::kNotFound, std::move(message)}; }
  static Status TooLarge(std::string message) { return {Code::kTooLarge, std::move(message)}; }
  static Status Unavailable(std::string message) { return {Code::kUnavailable, std::move(message)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  // Empty when ok().
  const std::string& message() const { return message_; }
  // The same failure with `context` in front ("reading /etc/x: " + message); ok stays ok.
  Status Prefixed(std::string_view context) const;
  // Marks an error as deliberately not acted on; say why next to the call.
  void IgnoreError() const {}

 private:
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  Code code_ = Code::kOk;
  std::string message_;
};

}  // namespace argus::base
