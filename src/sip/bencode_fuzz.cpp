// libFuzzer target for the bencode reader (rtpengine's ng replies): parses the input and walks every
// node, checking that each string view lies inside the input and each subtree ends inside the
// document. A parse must either succeed with a consistent tree or fail with a reason.
//
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc
//       src/sip/bencode.cpp src/sip/bencode_fuzz.cpp -o bencode_fuzz

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sip/bencode.h"

namespace privox::sip::bencode {
namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

volatile size_t g_sink = 0;

void walk(const Document& doc, const Node& node, std::string_view input, int depth) {
  check(depth <= static_cast<int>(Document::kMaxDepth) + 1);
  if (node.kind == Kind::string) {
    check(node.text.empty() || (node.text.data() >= input.data() && node.text.data() + node.text.size() <= input.data() + input.size()));
    size_t sum = 0;
    for (const char c : node.text) sum += static_cast<unsigned char>(c);
    g_sink = g_sink + sum;
    return;
  }
  check(node.end <= doc.size());
  doc.for_each_child(node, [&](const Node& child) { walk(doc, child, input, depth + 1); });
  if (node.kind == Kind::dict) {
    (void)doc.find(node, "result");
    (void)doc.text(node, "sdp");
  }
}

}  // namespace
}  // namespace privox::sip::bencode

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace privox::sip::bencode;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  Document doc;
  std::string error;
  if (doc.parse(input, error)) {
    check(!doc.empty() && doc.root().end == doc.size());
    walk(doc, doc.root(), input, 0);
  } else {
    check(doc.empty() && !error.empty());
  }
  return 0;
}
