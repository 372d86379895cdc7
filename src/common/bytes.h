#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace privox {

using Bytes = std::vector<uint8_t>;

std::string to_hex(const uint8_t* data, size_t size);
inline std::string to_hex(const Bytes& b) { return to_hex(b.data(), b.size()); }
std::optional<Bytes> from_hex(std::string_view hex);

inline Bytes to_bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }
inline std::string to_string(const Bytes& b) { return std::string(b.begin(), b.end()); }

}  // namespace privox
