#pragma once
// Bencode (the BitTorrent encoding), which rtpengine's ng control protocol speaks: byte strings
// ("4:spam"), integers ("i42e"), lists ("l...e") and dictionaries ("d...e", keys are strings).
// The writer appends to one string; the reader parses a reply into a flat array of nodes whose
// strings are views into the input, so reading a reply copies nothing. The reader takes untrusted
// bytes (anything that reaches the control socket), bounds depth and node count, and reports what
// is wrong instead of failing hard; `bencode_fuzz.cpp` runs it under libFuzzer.
//
// Thread-safety: none needed; values are used by one thread at a time.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace privox::sip::bencode {

// Appends bencoded values to `out`. Dictionaries must be written with their keys in sorted order
// to be canonical; rtpengine does not require it, and the writer does not check.
class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  Writer& string(std::string_view s);
  Writer& integer(int64_t n);
  Writer& begin_dict();
  Writer& begin_list();
  Writer& end();
  // key and value in one step, for the common case of a dictionary of strings.
  Writer& entry(std::string_view key, std::string_view value) { return string(key).string(value); }
  Writer& entry(std::string_view key, int64_t value) { return string(key).integer(value); }

 private:
  std::string& out_;
};

enum class Kind : uint8_t { string, integer, list, dict };

struct Node {
  Kind kind = Kind::string;
  std::string_view text;  // string: its bytes
  int64_t number = 0;     // integer: its value
  uint32_t end = 0;       // the index just past this node's subtree (its children follow it)
};

// One parsed value. Nodes are in document order; a list's or a dictionary's children follow it up
// to its `end`, and a dictionary's children alternate key and value.
class Document {
 public:
  static constexpr size_t kMaxDepth = 32;
  static constexpr size_t kMaxNodes = 65'536;

  // Parses exactly one value filling all of `bytes`. On failure returns false and `error` says
  // what is wrong and at which offset; the document is then empty.
  bool parse(std::string_view bytes, std::string& error);

  bool empty() const { return nodes_.empty(); }
  const Node& root() const { return nodes_.front(); }
  // The value stored under `key` in the dictionary at `dict` (an index); nullptr when `dict` is not
  // a dictionary or has no such key.
  const Node* find(const Node& dict, std::string_view key) const;
  // The string under `key`, or empty when absent or not a string.
  std::string_view text(const Node& dict, std::string_view key) const;
  // Children of a list or dictionary, in order (for a dictionary: key, value, key, value...).
  template <class F>
  void for_each_child(const Node& parent, F&& visit) const {
    uint32_t i = index_of(parent) + 1;
    while (i < parent.end) {
      visit(nodes_[i]);
      i = nodes_[i].end;
    }
  }
  size_t size() const { return nodes_.size(); }

 private:
  uint32_t index_of(const Node& node) const { return static_cast<uint32_t>(&node - nodes_.data()); }
  std::vector<Node> nodes_;
};

}  // namespace privox::sip::bencode
