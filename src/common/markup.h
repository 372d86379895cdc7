#pragma once
// Text placed inside HTML or XML markup (an invoice's HTML, a desk phone's XML configuration): the
// five characters that could end an element or an attribute value become entity references. The
// apostrophe is written as &#39;, which both HTML and XML read (HTML 4 has no &apos;).

#include <string>
#include <string_view>

namespace privox {

inline std::string markup_escaped(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace privox
