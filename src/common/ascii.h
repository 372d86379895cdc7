#pragma once
// ASCII case folding for protocol text (SIP header and parameter names, digest algorithm names):
// locale-free, and the same everywhere privox compares such names.

#include <cstddef>
#include <string_view>

namespace privox {

constexpr char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

constexpr bool iequals_ascii(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

}  // namespace privox
