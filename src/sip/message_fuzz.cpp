// libFuzzer target for the SIP parser: runs parse_message and frame_stream on the input and, when a
// message parses (or fails with can_respond), touches every accessor and sub-parser result, so that
// AddressSanitizer sees any read outside the input. Every string_view handed out must lie inside
// the input; a view that does not, or a broken invariant, aborts.
//
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc
//       src/sip/message.cpp src/sip/message_fuzz.cpp -o sip_fuzz
//   cp -r src/sip/fuzz_corpus /tmp/corpus && ./sip_fuzz -max_total_time=300 /tmp/corpus

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sip/message.h"

namespace privox::sip {
namespace {

// The input being parsed; every view must point inside it.
std::string_view g_input;
// Summing bytes forces every view to be read, so ASan checks each one.
volatile size_t g_sink = 0;

void check(bool condition) {
  if (!condition) std::abort();
}

// Reads a view that need not point into the input (a literal).
void read_all(std::string_view v) {
  size_t sum = 0;
  for (const char c : v) sum += static_cast<unsigned char>(c);
  g_sink = g_sink + sum;
}

void touch(std::string_view v) {
  check(v.empty() || (v.data() >= g_input.data() && v.data() + v.size() <= g_input.data() + g_input.size()));
  size_t sum = 0;
  for (const char c : v) sum += static_cast<unsigned char>(c);
  g_sink = g_sink + sum;
}

void touch(std::optional<std::string_view> v) {
  if (v) touch(*v);
}

void touch_uri(const Uri& u) {
  touch(u.scheme);
  touch(u.user);
  touch(u.password);
  touch(u.host);
  touch(u.params);
  touch(u.headers);
  touch(u.param("transport"));
  touch(u.param("lr"));
  touch(u.param("user"));
  touch(u.param(""));
  check(!u.ipv6 || !u.host.empty());
}

void touch_name_addr(const NameAddr& na) {
  touch(na.display);
  touch(na.uri_text);
  touch(na.params);
  touch(na.tag());
  touch(na.param("expires"));
  touch(na.param("q"));
  touch_uri(na.uri);
}

void touch_via(const Via& v) {
  touch(v.transport);
  touch(v.host);
  touch(v.params);
  touch(v.branch());
  touch(v.param("received"));
  touch(v.param("rport"));
}

void exercise_message(const Message& m) {
  touch(m.bytes());
  touch(m.method_text());
  touch(m.request_uri_text());
  touch_uri(m.request_uri());
  if (const auto replaces = uri_header(m.request_uri().headers, "Replaces")) {
    for (char c : *replaces) check(c > 0x20 && c < 0x7f);
  }
  touch(m.reason());
  read_all(to_string(m.method()));
  check(m.method() == Method::unknown || to_string(m.method()) == m.method_text());
  touch(m.call_id());
  touch(m.body());
  touch(m.cseq().method_text);
  touch_via(m.top_via());
  touch_name_addr(m.from());
  touch_name_addr(m.to());
  check(m.max_forwards() >= -1 && m.max_forwards() <= 255);
  check(m.headers().size() <= Message::kMaxHeaders);
  check(m.is_request() || (m.status() >= 100 && m.status() <= 699));
  check(m.cseq().number <= 0x7fffffffu);

  for (const HeaderField& h : m.headers()) {
    touch(h.name);
    touch(h.value);
    check(classify_header(h.name) == h.id);
    check(m.first(h.id) != nullptr);
  }
  for (int id = 0; id <= static_cast<int>(Header::content_encoding); ++id) {
    const Header header = static_cast<Header>(id);
    if (const HeaderField* h = m.first(header)) touch(h->value);
    m.for_each(header, [](std::string_view v) { touch(v); });
  }
  m.for_each(Header::via, [](std::string_view v) {
    touch(v);
    if (std::optional<Via> via = parse_via(v)) touch_via(*via);
  });
  for (const Header header :
       {Header::contact, Header::route, Header::record_route, Header::p_asserted_identity, Header::from, Header::to}) {
    m.for_each(header, [](std::string_view v) {
      touch(v);
      if (std::optional<NameAddr> na = parse_name_addr(v)) touch_name_addr(*na);
    });
  }
  // Stopping early must stop.
  int calls = 0;
  m.for_each(Header::via, [&calls](std::string_view) { return ++calls < 1; });
  check(calls <= 1);
}

}  // namespace
}  // namespace privox::sip

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace privox::sip;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  g_input = input;

  // As a datagram.
  static Message message;  // about 5 KB: keep it off the stack, and reuse it as the product does
  ParseError error;
  if (parse_message(input, message, error)) {
    check(error.reason.empty());
    exercise_message(message);
    // The message as parsed (leading CRLFs and bytes after the body left out) parses the same.
    const std::string_view bytes = message.bytes();
    const size_t header_count = message.headers().size();
    const std::string_view body = message.body();
    static Message again;
    check(parse_message(bytes, again, error));
    check(again.headers().size() == header_count && again.body() == body && again.bytes() == bytes);
  } else {
    check(!error.reason.empty());
    check(error.status == 400 || error.status == 505);
    if (error.can_respond) {
      // What a 400 is built from must be there.
      check(message.is_request());
      touch_via(message.top_via());
      touch_name_addr(message.from());
      touch_name_addr(message.to());
      check(!message.call_id().empty());
      touch(message.call_id());
      touch(message.cseq().method_text);
    }
    for (const HeaderField& h : message.headers()) {
      touch(h.name);
      touch(h.value);
    }
  }

  // As a stream, under a few size limits; every complete frame goes to the parser in turn.
  for (const size_t limit : {size_t{65535}, size_t{256}, size_t{0}}) {
    std::string_view rest = input;
    for (int frames = 0; frames < 64 && !rest.empty(); ++frames) {
      const Frame f = frame_stream(rest, limit);
      if (f.kind == Frame::incomplete) {
        check(f.length == 0);
        break;
      }
      if (f.kind == Frame::invalid) {
        check(!f.reason.empty());
        break;
      }
      check(f.length > 0 && f.length <= rest.size());
      if (f.kind == Frame::message) {
        check(f.length <= limit);
        if (parse_message(rest.substr(0, f.length), message, error)) {
          exercise_message(message);
          check(message.bytes().size() == f.length);  // a frame is exactly one message
        }
      } else {
        check(f.length == 2 || f.length == 4);
      }
      rest.remove_prefix(f.length);
    }
  }

  // The incremental framer, fed in uneven reads: whatever it decides is what frame_stream decides
  // on the same bytes; it may only wait longer where frame_stream already refuses.
  for (const size_t limit : {size_t{65535}, size_t{256}}) {
    StreamFramer framer(limit);
    std::string_view rest = input;
    size_t have = 0, step_seed = 0;
    for (int reads = 0; reads < 4096 && !rest.empty(); ++reads) {
      const size_t step = 1 + static_cast<unsigned char>(input[step_seed++ % input.size()]) % 97;
      have = std::min(rest.size(), have + step);
      const std::string_view seen = rest.substr(0, have);
      const Frame f = framer.next(seen);
      const Frame e = frame_stream(seen, limit);
      if (f.kind == Frame::incomplete) {
        check(e.kind == Frame::incomplete || e.kind == Frame::invalid);
        if (have == rest.size()) break;
        continue;
      }
      check(f.kind == e.kind);
      if (f.kind == Frame::invalid) break;
      check(f.length == e.length);
      rest.remove_prefix(f.length);
      have -= f.length;
    }
  }

  // The sub-parsers straight on the input.
  if (std::optional<Uri> u = parse_uri(input)) touch_uri(*u);
  if (std::optional<NameAddr> na = parse_name_addr(input)) touch_name_addr(*na);
  if (std::optional<Via> v = parse_via(input)) touch_via(*v);
  for_each_value(input, [](std::string_view v) {
    touch(v);
    return true;
  });
  touch(std::string_view{});
  (void)classify_header(input);
  (void)parse_method(input);
  return 0;
}
