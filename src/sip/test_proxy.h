#pragma once
// The proxy under test with everything below it real but the network (a fake sender), the clock,
// the directory (filled by hand) and the traffic sink (paused): the fixture of proxy_test.cpp and
// proxy_callflow_test.cpp.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <array>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "sip/builder.h"
#include "sip/memory_directory.h"
#include "sip/proxy.h"
#include "sip/registrar.h"

namespace privox::sip {

struct FakeSender final : Sender {
  void send(const Peer& to, std::string_view bytes) override { sent.push_back({to, std::string(bytes)}); }
  struct Sent {
    Peer to;
    std::string bytes;
  };
  std::vector<Sent> sent;
  size_t count(const Peer& to, std::string_view start) const {
    size_t n = 0;
    for (const Sent& s : sent) n += s.to.same_address(to) && s.bytes.rfind(start, 0) == 0;
    return n;
  }
  // The last message sent to `to` that starts with `start`, or "" if none.
  std::string last(const Peer& to, std::string_view start) const {
    for (auto it = sent.rbegin(); it != sent.rend(); ++it)
      if (it->to.same_address(to) && it->bytes.rfind(start, 0) == 0) return it->bytes;
    return "";
  }
};

// A traffic sink whose writer is paused: opened() callbacks wait until the test releases them.
struct PausedSink final : traffic::TrafficSink {
  void opened(const traffic::CallRecord& record, traffic::Durable done) override {
    opened_records.push_back(record);
    waiting.push_back(std::move(done));
  }
  void closed(const traffic::CallRecord& record) override { closed_records.push_back(record); }
  void release(const Status& outcome) {
    auto done = std::move(waiting.front());
    waiting.pop_front();
    done(outcome);
  }
  std::vector<traffic::CallRecord> opened_records, closed_records;
  std::deque<traffic::Durable> waiting;
};

// The proxy with everything below it real but the network (a fake sender), the clock, the
// directory (filled by hand) and the traffic sink (paused).
class ProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(Peer::parse("192.0.2.50", 5060, TransportKind::udp, carrier_));
    ASSERT_TRUE(Peer::parse("192.0.2.7", 5062, TransportKind::udp, phone_));
    DirectoryUpdate update;
    update.replace_all = true;
    update.extensions.push_back({"line-1", "company-1", "GB", "101", "101", "+442079460958", "", "", {}, {}});
    update.trunks.push_back({"trunk-1", "carrier", carrier_, true});
    directory_.apply(update);
    Binding phone;
    phone.contact = "sip:101@192.0.2.7:5062";
    phone.peer = phone_;
    phone.expires_at_us = clock_.now_us() + 3'600'000'000;
    location_.apply({{"line-1", phone, false}}, [](const Status&) {});
    proxy_.attach(layer_, registrar_);
  }

  void feed(const std::string& bytes, const Peer& from) {
    storage_.push_back(bytes);  // the Message views must outlive the call
    Message m;
    ParseError error;
    ASSERT_TRUE(parse_message(storage_.back(), m, error)) << error.reason << "\n" << bytes;
    layer_.receive(m, from);
  }

  // The carrier calls the line's DID (from the trunk's own port unless `from` says otherwise);
  // returns the INVITE the proxy forwarded to the phone.
  Message call_in(std::optional<Peer> from = std::nullopt) {
    const Peer source = from.value_or(carrier_);
    feed(fmt::format("INVITE sip:442079460958@127.0.0.1 SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP {0};branch=z9hG4bK-in-1\r\n"
                     "Max-Forwards: 70\r\n"
                     "From: <sip:+14155550123@192.0.2.50>;tag=c1\r\n"
                     "To: <sip:442079460958@127.0.0.1>\r\n"
                     "Call-ID: call-1@192.0.2.50\r\n"
                     "CSeq: 1 INVITE\r\n"
                     "Contact: <sip:+14155550123@{0}>\r\n"
                     "Content-Length: 0\r\n\r\n",
                     source.host_port()),
         source);
    Message forwarded;
    for (const FakeSender::Sent& s : sender_.sent)
      if (s.to.same_address(phone_) && s.bytes.rfind("INVITE", 0) == 0) {
        storage_.push_back(s.bytes);
        ParseError error;
        EXPECT_TRUE(parse_message(storage_.back(), forwarded, error)) << error.reason;
      }
    return forwarded;
  }

  // The carrier hangs up the answered call_in(): its BYE, along the route set, with `cseq`.
  void carrier_hangs_up(int cseq) {
    feed(fmt::format("BYE sip:101@192.0.2.7:5062 SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 192.0.2.50:5060;branch=z9hG4bK-bye-{0}\r\n"
                     "Route: <sip:127.0.0.1:5060;lr>\r\n"
                     "Max-Forwards: 70\r\n"
                     "From: <sip:+14155550123@192.0.2.50>;tag=c1\r\n"
                     "To: <sip:442079460958@127.0.0.1>;tag=phone-tag\r\n"
                     "Call-ID: call-1@192.0.2.50\r\n"
                     "CSeq: {0} BYE\r\n"
                     "Content-Length: 0\r\n\r\n",
                     cseq),
         carrier_);
  }

  // The carrier cancels call_in(): its CANCEL, in the INVITE's transaction.
  void carrier_cancels() {
    feed("CANCEL sip:442079460958@127.0.0.1 SIP/2.0\r\n"
         "Via: SIP/2.0/UDP 192.0.2.50:5060;branch=z9hG4bK-in-1\r\n"
         "Max-Forwards: 70\r\n"
         "From: <sip:+14155550123@192.0.2.50>;tag=c1\r\n"
         "To: <sip:442079460958@127.0.0.1>\r\n"
         "Call-ID: call-1@192.0.2.50\r\n"
         "CSeq: 1 CANCEL\r\n"
         "Content-Length: 0\r\n\r\n",
         carrier_);
  }

  // The phone answers `status` to the INVITE it was sent.
  void phone_answers(const Message& invite, int status, std::string_view reason) {
    feed(build_response(invite, status, reason, "phone-tag"), phone_);
  }

  FakeClock clock_{1'795'000'000'000'000};
  FakeSender sender_;
  TimerQueue timers_;
  MemoryDirectory directory_;
  std::array<uint8_t, 32> nonce_key_{};
  NonceService nonces_{nonce_key_, clock_};
  Authenticator auth_{directory_, nonces_, "privox"};
  Location location_{nullptr};
  PausedSink sink_;
  Peer carrier_, phone_;
  // Debian's asterisk-moh-opsound-wav, as sip.music_on_hold_file names it by default.
  static constexpr const char* kMusic = "/usr/share/asterisk/moh/macroform-the_simplicity.wav";
  Proxy proxy_{ProxyConfig{.host = "127.0.0.1", .port = 5060, .ring_timeout_us = 60'000'000, .music_on_hold = kMusic},
               directory_, auth_, location_, sink_, sender_, timers_, clock_};
  TransactionLayer layer_{sender_, timers_, clock_, proxy_};
  Registrar registrar_{layer_, auth_, location_, clock_};
  std::deque<std::string> storage_;
};

}  // namespace privox::sip
