#pragma once
// A map keyed by std::string that is searched by std::string_view, so that a look-up on the packet
// path (a dialled number, a user name) builds no key and allocates nothing.

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace privox {

struct StringKeyHash {
  using is_transparent = void;
  size_t operator()(std::string_view key) const { return std::hash<std::string_view>{}(key); }
};

template <class V>
using StringMap = std::unordered_map<std::string, V, StringKeyHash, std::equal_to<>>;

}  // namespace privox
