#include "sip/bencode.h"

#include <charconv>
#include <string>

namespace privox::sip::bencode {

Writer& Writer::string(std::string_view s) {
  out_ += std::to_string(s.size());
  out_ += ':';
  out_ += s;
  return *this;
}

Writer& Writer::integer(int64_t n) {
  out_ += 'i';
  out_ += std::to_string(n);
  out_ += 'e';
  return *this;
}

Writer& Writer::begin_dict() {
  out_ += 'd';
  return *this;
}

Writer& Writer::begin_list() {
  out_ += 'l';
  return *this;
}

Writer& Writer::end() {
  out_ += 'e';
  return *this;
}

namespace {

struct Open {
  uint32_t index;   // the container's node
  uint32_t count;   // children so far
  bool dict;
};

bool fail(std::string& error, std::string_view what, size_t at) {
  error = std::string(what) + " at byte " + std::to_string(at);
  return false;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

bool Document::parse(std::string_view in, std::string& error) {
  nodes_.clear();
  std::vector<Open> open;
  size_t pos = 0;
  const auto reject = [&](std::string_view what) {
    nodes_.clear();
    return fail(error, what, pos);
  };
  while (true) {
    if (pos >= in.size()) return reject(open.empty() ? "no value" : "unterminated list or dictionary");
    const char c = in[pos];
    if (c == 'e') {
      if (open.empty()) return reject("'e' without a list or dictionary");
      const Open& top = open.back();
      if (top.dict && top.count % 2 == 1) return reject("a dictionary key without a value");
      nodes_[top.index].end = static_cast<uint32_t>(nodes_.size());
      open.pop_back();
      ++pos;
    } else {
      if (nodes_.size() >= kMaxNodes) return reject("more than 65536 values");
      if (!open.empty()) {
        Open& top = open.back();
        if (top.dict && top.count % 2 == 0 && !is_digit(c)) return reject("a dictionary key that is not a string");
        ++top.count;
      }
      const auto index = static_cast<uint32_t>(nodes_.size());
      Node node;
      node.end = index + 1;
      if (c == 'd' || c == 'l') {
        if (open.size() >= kMaxDepth) return reject("nested deeper than 32");
        node.kind = c == 'd' ? Kind::dict : Kind::list;
        open.push_back({index, 0, c == 'd'});
        ++pos;
      } else if (c == 'i') {
        const size_t close = in.find('e', pos + 1);
        if (close == std::string_view::npos) return reject("unterminated integer");
        const std::string_view digits = in.substr(pos + 1, close - pos - 1);
        const bool negative = !digits.empty() && digits.front() == '-';
        const std::string_view magnitude = negative ? digits.substr(1) : digits;
        // Canonical only: no empty, no leading zeros, no "-0".
        if (magnitude.empty() || (magnitude.size() > 1 && magnitude.front() == '0') || (negative && magnitude == "0"))
          return reject("a malformed integer");
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), node.number);
        if (ec != std::errc() || end != digits.data() + digits.size()) return reject("a malformed integer");
        node.kind = Kind::integer;
        pos = close + 1;
      } else if (is_digit(c)) {
        const size_t colon = in.find(':', pos);
        if (colon == std::string_view::npos || colon - pos > 9) return reject("a malformed string length");
        size_t length = 0;
        const auto [end, ec] = std::from_chars(in.data() + pos, in.data() + colon, length);
        if (ec != std::errc() || end != in.data() + colon || (colon - pos > 1 && c == '0'))
          return reject("a malformed string length");
        if (length > in.size() - colon - 1) return reject("a string longer than the message");
        node.kind = Kind::string;
        node.text = in.substr(colon + 1, length);
        pos = colon + 1 + length;
      } else {
        return reject("an unexpected byte");
      }
      nodes_.push_back(node);
    }
    if (open.empty()) {
      if (pos != in.size()) return reject("bytes after the value");
      return true;
    }
  }
}

const Node* Document::find(const Node& dict, std::string_view key) const {
  if (dict.kind != Kind::dict) return nullptr;
  uint32_t i = index_of(dict) + 1;
  while (i < dict.end) {
    const Node& k = nodes_[i];
    const uint32_t value = k.end;
    if (value >= dict.end) return nullptr;
    if (k.text == key) return &nodes_[value];
    i = nodes_[value].end;
  }
  return nullptr;
}

std::string_view Document::text(const Node& dict, std::string_view key) const {
  const Node* value = find(dict, key);
  return value && value->kind == Kind::string ? value->text : std::string_view{};
}

}  // namespace privox::sip::bencode
