#include "notify/sms.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "accounts/accounts.h"
#include "common/log.h"
#include "consent/consent.h"
#include "ledgers/notice.h"
#include "sip/service.h"

namespace privox::notify {
namespace {

constexpr std::string_view kActor = "sms:stop";
constexpr size_t kMaxQueuedStops = 10'000;

class SipSmsGateway final : public SmsGateway {
 public:
  explicit SipSmsGateway(sip::SipService& sip) : sip_(sip) {}
  void send(Sms sms, std::function<void(int status)> done) override {
    sip_.send_message(sip::OutboundMessage{.from = std::move(sms.from),
                                           .to = std::move(sms.to),
                                           .body = std::move(sms.body),
                                           .record_company_id = std::move(sms.record_company_id),
                                           .record_subject_id = std::move(sms.record_subject_id)},
                      std::move(done));
  }

 private:
  sip::SipService& sip_;
};

// "+447700900123" from what a carrier puts in From: with or without '+', digits only.
std::optional<std::string> e164_from(std::string_view number) {
  if (!number.empty() && number.front() == '+') number.remove_prefix(1);
  if (number.size() < 6 || number.size() > 15) return std::nullopt;
  for (const char c : number)
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  return fmt::format("+{}", number);
}

}  // namespace

std::unique_ptr<SmsGateway> sip_sms_gateway(sip::SipService& sip) { return std::make_unique<SipSmsGateway>(sip); }

bool is_stop_request(std::string_view body) {
  const size_t begin = body.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return false;
  const size_t end = body.find_last_not_of(" \t\r\n");
  std::string word(body.substr(begin, end - begin + 1));
  for (char& c : word) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  static constexpr std::array<std::string_view, 6> kWords = {"STOP", "STOP ALL", "UNSUBSCRIBE", "END", "QUIT", "CANCEL"};
  return std::find(kWords.begin(), kWords.end(), word) != kWords.end();
}

StopHandler::StopHandler(store::Store& store, const privacy::Keyring& keys, const Clock& clock, SmsGateway& gateway,
                         std::string sender_number)
    : store_(store),
      keys_(keys),
      clock_(clock),
      gateway_(gateway),
      sender_number_(std::move(sender_number)),
      // Bounded: a trunk replaying STOPs must not grow memory without end (R4).
      worker_({.name = "privox-sms-stop", .max_queue = kMaxQueuedStops}) {}

StopHandler::~StopHandler() { stop(); }

void StopHandler::start() {
  worker_.start([this](uint64_t, std::vector<std::pair<std::string, std::string>>& batch) {
    for (const auto& [from, body] : batch)
      if (Result<int> done = handle(from, body); !done.ok())
        log::error("notify", "sms.stop_not_recorded", {{"error", log::error_code(done.error())}});
  });
}

void StopHandler::stop() { worker_.stop(); }

void StopHandler::on_sms(std::string from_number, std::string body) {
  // Only STOPs cost a store look-up; anything else is dropped here, on the SIP thread, for free.
  if (!is_stop_request(body)) return;
  // A dropped STOP was still answered 200; the member can send it again.
  if (worker_.post({std::move(from_number), std::move(body)}) == 0)
    log::warn("notify", "sms.stop_dropped", {{"queued", worker_.queued()}});
}

Result<int> StopHandler::handle(const std::string& from_number, const std::string& body) {
  if (!is_stop_request(body)) return 0;
  const std::optional<std::string> number = e164_from(from_number);
  if (!number) return 0;
  const consent::ConsentLedger ledger(store_, keys_, clock_);
  int withdrawn = 0;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::write, [&](store::Session& s) -> Status {
    withdrawn = 0;
    PRIVOX_ASSIGN(std::vector<std::string> members, accounts::active_members_by_phone(s, keys_, *number));
    for (const std::string& member : members) {
      PRIVOX_TRY(ledger.record(s,
                               {member, consent::ConsentPurpose::marketing_sms, false,
                                consent::ConsentMethod::sms_reply, "sms", ledgers::notice_version()},
                               std::string(kActor)));
      ++withdrawn;
    }
    return {};
  }));
  if (withdrawn == 0) return 0;
  gateway_.send(Sms{sender_number_, *number, std::string(kStopConfirmation), "", ""}, [](int status) {
    if (status >= 300) log::warn("notify", "sms.stop_confirmation_refused", {{"status", status}});
  });
  return withdrawn;
}

}  // namespace privox::notify
