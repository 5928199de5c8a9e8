// A linear pre-scan of raw JSON text for nesting depth, run before the real parse so
// that a hostile body (say 10,000 nested arrays) is refused without building, walking
// or printing a deep tree.
#pragma once

#include <cstddef>
#include <string_view>

namespace argus::proto {

// Largest nesting depth of arrays and objects in `text`, counting brackets outside
// string literals. Stops early and returns a value > `stop_after` once that is passed.
// The text need not be valid JSON; the parser that runs afterwards judges that.
size_t JsonDepth(std::string_view text, size_t stop_after);

}  // namespace argus::proto
