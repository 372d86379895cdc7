#pragma once
// JSON written straight into a string, for answers too hot to build as a nlohmann tree first (the
// call log, issue 5: a tree costs ~15 allocations per item). What these append is what nlohmann's
// dump prints for the same value (no spaces, the same escapes), except that bytes that are not
// UTF-8 become U+FFFD where nlohmann's dump would throw, as json::dump_lenient (common/json.h)
// does. Writing objects in nlohmann's key order (sorted) is the caller's part.
//
// This header needs no nlohmann and no Beast: the point is to build without them.
//
// Thread-safety: free functions, no shared state.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace privox::portal::json_out {

// `text` as a JSON string, quotes included.
void append_string(std::string& out, std::string_view text);
// The string, or null when absent.
void append_optional(std::string& out, const std::optional<std::string>& value);
// The time as format_utc writes it (common/clock.h), or null when `us` is 0 (never happened).
void append_time(std::string& out, int64_t us);

}  // namespace privox::portal::json_out
