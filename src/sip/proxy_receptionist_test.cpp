// The receptionist's leg seen from outside (sip/proxy_receptionist.cpp): privox trusts a leg only
// when its Request-URI carries the session and one-use token privox itself made. Anyone else who
// writes the parameter, whatever the session number they guess, gets 403 and reaches nobody.

#include "sip/test_proxy.h"

namespace privox::sip {
namespace {

// A desk that is never asked: no call here reaches a receptionist's number.
struct UnaskedDesk final : ReceptionistDesk {
  void prepare(std::string, std::function<void(std::shared_ptr<const ReceptionPlan>)>) override { ++asked; }
  void claim_recording(std::string, std::string, std::function<void(std::optional<std::string>)>) override { ++asked; }
  void save_greeting(std::string, std::string, int64_t, std::string, std::function<void(bool)>) override { ++asked; }
  int asked = 0;
};

class ReceptionistLegTest : public ProxyTest {
 protected:
  void SetUp() override {
    ProxyTest::SetUp();
    proxy_.set_receptionist(&desk_);
  }
  // An INVITE from `from` that claims to be a receptionist's leg to line-1.
  void forged_leg(std::string_view param, const Peer& from) {
    feed(fmt::format("INVITE sip:line@127.0.0.1:5060;privox-leg={1} SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP {0};branch=z9hG4bK-forged-{2}\r\n"
                     "Max-Forwards: 70\r\n"
                     "From: <sip:+14155550123@192.0.2.50>;tag=f1\r\n"
                     "To: <sip:line-1@127.0.0.1>\r\n"
                     "Call-ID: forged-{2}@192.0.2.50\r\n"
                     "CSeq: 1 INVITE\r\n"
                     "Content-Length: 0\r\n\r\n",
                     from.host_port(), param, ++forged_),
         from);
  }
  UnaskedDesk desk_;
  int forged_ = 0;
};

TEST_F(ReceptionistLegTest, AForgedLegIsRefusedAndReachesNoPhone) {
  for (const char* param : {"1.00112233445566778899aabbccddeeff", "0.x", "1", "18446744073709551616.ab", ".ab"}) {
    const size_t before = sender_.sent.size();
    forged_leg(param, carrier_);  // even from the trusted trunk's own address
    ASSERT_GT(sender_.sent.size(), before) << param;
    EXPECT_EQ(sender_.sent.back().bytes.rfind("SIP/2.0 403", 0), 0u) << param << "\n" << sender_.sent.back().bytes;
  }
  EXPECT_EQ(sender_.count(phone_, "INVITE"), 0u) << "no forged leg rang line-1's phone";
  EXPECT_TRUE(sink_.opened_records.empty());
  EXPECT_TRUE(sink_.closed_records.empty()) << "a forged leg leaves no record: it is not a call";
  EXPECT_EQ(desk_.asked, 0);
}

TEST_F(ReceptionistLegTest, ACallWithoutTheParameterIsRoutedAsBefore) {
  const Message forwarded = call_in();
  EXPECT_EQ(forwarded.method(), Method::invite) << "the carrier's call to the DID still rings the phone";
}

}  // namespace
}  // namespace privox::sip
