#include "common/json.h"

#include <fmt/format.h>

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

}  // namespace privox::json
