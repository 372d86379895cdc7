#pragma once
// JSON at the edges of privox. Every JSON text that comes from outside (an HTTP body, a provider's
// answer, a stored value that once was input) is parsed here, never with nlohmann::json::parse
// directly: nlohmann parses without a depth limit, and its serialiser and comparison recurse, so a
// body nested 70,000 levels deep overflowed a handler thread's stack (DESIGN R2). parse_untrusted
// refuses nesting deeper than a limit while parsing, before any recursive code sees the value.
//
// dump_lenient writes a value whose strings may hold bytes that are not UTF-8 (a raw path, an echoed
// parameter): nlohmann's dump throws on those; this replaces them with U+FFFD instead.
//
// Thread-safety: free functions, no shared state.

#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.h"

namespace privox::json {

// Deep enough for every document privox defines (the deepest, an access export's audit detail, is
// five levels), far too shallow to exhaust a thread's stack in any recursive walk.
inline constexpr size_t kDefaultMaxDepth = 64;

// Parses `text` as one JSON value. Errors (invalid_argument, field "body"): not JSON, with the byte
// offset; nested deeper than `max_depth` arrays and objects; trailing content.
Result<nlohmann::json> parse_untrusted(std::string_view text, size_t max_depth = kDefaultMaxDepth);

// The value as compact text; invalid UTF-8 inside strings becomes U+FFFD rather than an exception.
std::string dump_lenient(const nlohmann::json& value, int indent = -1);

// Whether `text` is well-formed UTF-8 (RFC 3629: shortest forms only, no surrogates, nothing past
// U+10FFFF), i.e. whether a JSON string can carry it as it is. Input that is not should be refused
// before it reaches a message, never echoed.
bool is_utf8(std::string_view text);

}  // namespace privox::json
