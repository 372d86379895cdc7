#include "common/json.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace privox::json {
namespace {

using DomParser = nlohmann::detail::json_sax_dom_parser<nlohmann::json>;

// nlohmann's own DOM builder (iterative: it keeps an explicit stack), with a depth count that stops
// the parse at the first array or object past the limit.
class BoundedDomParser : public DomParser {
 public:
  BoundedDomParser(nlohmann::json& out, size_t max_depth) : DomParser(out, false), max_depth_(max_depth) {}

  bool start_object(std::size_t elements) {
    if (!enter()) return false;
    return DomParser::start_object(elements);
  }
  bool end_object() {
    --depth_;
    return DomParser::end_object();
  }
  bool start_array(std::size_t elements) {
    if (!enter()) return false;
    return DomParser::start_array(elements);
  }
  bool end_array() {
    --depth_;
    return DomParser::end_array();
  }
  template <class Exception>
  bool parse_error(std::size_t position, const std::string& /*last_token*/, const Exception& /*e*/) {
    error_position_ = position;
    return false;
  }

  bool too_deep() const { return too_deep_; }
  size_t error_position() const { return error_position_; }

 private:
  bool enter() {
    if (++depth_ <= max_depth_) return true;
    too_deep_ = true;
    return false;
  }

  size_t max_depth_;
  size_t depth_ = 0;
  bool too_deep_ = false;
  size_t error_position_ = 0;
};

}  // namespace

Result<nlohmann::json> parse_untrusted(std::string_view text, size_t max_depth) {
  nlohmann::json out;
  BoundedDomParser sax(out, max_depth);
  const bool ok = nlohmann::json::sax_parse(text, &sax, nlohmann::detail::input_format_t::json, true, false);
  if (sax.too_deep()) return invalid("body", fmt::format("is nested deeper than {} levels", max_depth));
  if (!ok) return invalid("body", fmt::format("is not valid JSON (at byte {})", sax.error_position()));
  return out;
}

std::string dump_lenient(const nlohmann::json& value, int indent) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool is_utf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t length = 0;
    unsigned char low = 0x80, high = 0xBF;  // the range of the second byte
    if (c >= 0xC2 && c <= 0xDF) length = 2;
    else if (c == 0xE0) length = 3, low = 0xA0;             // no overlong forms
    else if (c == 0xED) length = 3, high = 0x9F;            // no UTF-16 surrogates
    else if (c >= 0xE1 && c <= 0xEF) length = 3;
    else if (c == 0xF0) length = 4, low = 0x90;             // no overlong forms
    else if (c >= 0xF1 && c <= 0xF3) length = 4;
    else if (c == 0xF4) length = 4, high = 0x8F;            // nothing past U+10FFFF
    else return false;                                      // a continuation byte, C0, C1, F5-FF
    if (i + length > text.size()) return false;
    const auto second = static_cast<unsigned char>(text[i + 1]);
    if (second < low || second > high) return false;
    for (size_t k = 2; k < length; ++k)
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return false;
    i += length;
  }
  return true;
}

}  // namespace privox::json
