#include "base/status.h"

namespace argus::base {

Status Status::Prefixed(std::string_view context) const {
  if (ok()) return *this;
  return {code_, std::string(context) + message_};
}

}  // namespace argus::base
