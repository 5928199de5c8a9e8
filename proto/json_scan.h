// Reading raw JSON text without building a tree, for the paths where the text may be
// hostile and nothing has been authenticated yet: where a syntax error is, and one
// top-level string field (a token sent in the body). Both walk the text once with
// nlohmann's SAX parser, whose nesting stack is one bit per level; no value is kept.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace argus::proto {

// The byte offset (1-based, as nlohmann counts) at which `text` stops being JSON, or
// nullopt when its syntax is valid (a number out of range is no syntax error).
std::optional<size_t> JsonSyntaxErrorAt(std::string_view text);

// The value of the string field `key` of the top-level object, reading no further
// than that field; nullopt when the text is not an object, the field is not a string,
// it is absent, or the text goes wrong (or nests deeper than `max_depth`) before it.
// The first occurrence wins. Values before it are skipped, not stored.
std::optional<std::string> TopLevelString(std::string_view text, std::string_view key, size_t max_depth);

}  // namespace argus::proto
