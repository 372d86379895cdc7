#include "notify/voicemail_notices.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sodium.h>

#include <algorithm>
#include <optional>

#include "accounts/extensions.h"
#include "common/log.h"
#include "consent/member_view.h"
#include "voicemail/options.h"

namespace privox::notify {
namespace {

constexpr std::string_view kNoticeActor = "serve:voicemail-notices";

void wipe_string(std::string& clear) {
  if (!clear.empty()) sodium_memzero(clear.data(), clear.size());
  clear.clear();
}

// "2026-12-05 02:36:06 UTC"
std::string notice_time(int64_t us) {
  const std::string iso = format_utc(us);  // 2026-12-05T02:36:06.000000Z
  return iso.substr(0, 10) + " " + iso.substr(11, 8) + " UTC";
}

std::string notice_length(int64_t ms) {
  const int64_t s = (ms + 500) / 1000;
  return s < 60 ? fmt::format("{} s", s) : fmt::format("{} min {:02d} s", s / 60, s % 60);
}

// Who called, as the member's voicemail page says it: the rule for a withheld caller was applied
// when the message was opened. A control character from the wire does not reach the text.
std::string notice_caller(const voicemail::MessageInfo& m) {
  if (m.caller_withheld) return "withheld (the caller hid their number)";
  if (!m.caller || *m.caller == "erased" || *m.caller == "unreadable") return "unknown";
  std::string out = *m.caller;
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return out;
}

}  // namespace

std::string voicemail_attachment_name(std::string_view id) { return fmt::format("voicemail-{}.opus", id); }

Email voicemail_notice_email(const std::string& to, const voicemail::MessageInfo& m, std::string_view line_number,
                             std::string_view portal_url, bool attached) {
  const std::string page = fmt::format("{}/voicemail.html", portal_url);
  const std::string filename = voicemail_attachment_name(m.id);
  std::string text = fmt::format(
      "Someone left you a voicemail on line {}.\n\n"
      "  When:   {}\n"
      "  Length: {}\n"
      "  From:   {}\n\n"
      "Listen to it, or delete it, on your voicemail page:\n{}\n\n",
      line_number, notice_time(m.received_at_us), notice_length(m.duration_ms), notice_caller(m), page);
  text += attached ? fmt::format("The recording is attached ({}, Ogg Opus audio). This copy is in your mailbox "
                                 "now, outside privox: deleting the message on your voicemail page does not "
                                 "delete it there.\n",
                                 filename)
                   : "The recording is not attached: it stays sealed in privox until you listen to it there.\n";
  text += fmt::format("\n-- \nYou get this email because you turned on voicemail notices for line {}. "
                      "To change that, see Options on your voicemail page.\n",
                      line_number);
  return Email{to, fmt::format("New voicemail on line {}", line_number), std::move(text), {}};
}

VoicemailNotifier::VoicemailNotifier(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                                     std::unique_ptr<Mailer>&& mailer, VoicemailNoticeOptions options)
    : store_(store),
      keys_(keys),
      clock_(clock),
      mailer_(std::move(mailer)),
      options_(std::move(options)),
      worker_({.name = "privox-vm-notice"}) {}

VoicemailNotifier::~VoicemailNotifier() { stop(); }

void VoicemailNotifier::start() {
  const auto pass = [this] {
    if (Result<NoticePass> done = run_once(); !done.ok())
      log::error("notify", "voicemail_notices.failed", {{"error", log::error_code(done.error())}});
  };
  worker_.start(run_tasks, pass, 0, options_.poll_every_us);
}

void VoicemailNotifier::stop() { worker_.stop(); }

Result<NoticePass> VoicemailNotifier::run_once() {
  PRIVOX_ASSIGN(const std::unique_ptr<store::JobLock> lock, store_.try_lock_job("voicemail-notices"));
  if (!lock) return NoticePass{};  // another node is sending
  std::vector<voicemail::PendingNotice> due;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(due, voicemail::due_notices(s, clock_.now_us(), options_.batch));
    return {};
  }));
  NoticePass pass;
  for (const voicemail::PendingNotice& notice : due) {
    PRIVOX_ASSIGN(const Outcome outcome, attempt(notice));
    switch (outcome) {
      case Outcome::sent: ++pass.sent; break;
      case Outcome::retrying: ++pass.retrying; break;
      case Outcome::given_up: ++pass.given_up; break;
      case Outcome::dropped: ++pass.dropped; break;
      case Outcome::taken: break;
    }
  }
  return pass;
}

Result<VoicemailNotifier::Outcome> VoicemailNotifier::attempt(const voicemail::PendingNotice& notice) {
  const int64_t now = clock_.now_us();
  const int64_t attempt = notice.attempts + 1;
  // Due again after this attempt's wait, should it fail (or the process die before it ends).
  const auto& delays = options_.retry_delays_us;
  const int64_t retry_at =
      now + (delays.empty() ? 0 : delays[std::min(static_cast<size_t>(notice.attempts), delays.size() - 1)]);
  bool claimed = false;
  voicemail::EmailNotice choice = voicemail::EmailNotice::off;
  std::optional<accounts::Extension> line;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(claimed, voicemail::begin_notice_attempt(s, notice.message_id, now, retry_at));
    if (!claimed) return {};
    PRIVOX_ASSIGN(choice, voicemail::email_notice_of(s, notice.box_id));
    PRIVOX_ASSIGN(line, accounts::extension_by_id(s, notice.box_id));
    return {};
  }));
  if (!claimed) return Outcome::taken;
  if (choice == voicemail::EmailNotice::off) return drop(notice, "notice_off");
  if (!line || !line->member_id) return drop(notice, "line_unassigned");

  const std::string actor(kNoticeActor);
  Result<nlohmann::json> member =
      consent::show_member(store_, keys_, clock_, *line->member_id, privacy::Purpose::service, actor);
  if (!member.ok()) {
    if (member.error().code == ErrorCode::not_found) return drop(notice, "member_gone");
    return failed(notice, attempt, member.error(), false);
  }
  const nlohmann::json fields = member->value("fields", nlohmann::json::object());
  if (member->value("status", "") == "erased" || !fields.contains("email") || !fields["email"].is_string())
    return drop(notice, "no_email_address");
  const std::string to = fields["email"].get<std::string>();

  const bool with_audio = choice == voicemail::EmailNotice::audio;
  Result<voicemail::MessageAudio> message = voicemail::open_for_email(
      store_, keys_, clock_, notice.box_id, notice.message_id, with_audio, attempt, actor);
  if (!message.ok()) {
    if (message.error().code == ErrorCode::not_found || message.error().code == ErrorCode::erased)
      return drop(notice, "message_gone");
    return failed(notice, attempt, message.error(), false);
  }
  const Email email = voicemail_notice_email(to, message->info, line->number, options_.portal_url, with_audio);
  std::vector<Attachment> files;
  if (with_audio)
    files.push_back({voicemail_attachment_name(notice.message_id), "audio/ogg", std::move(message->audio)});
  const Status sent = mailer_->send(email, files);
  for (Attachment& file : files) wipe_string(file.data);
  wipe_string(message->audio);  // moved from; wiped all the same
  if (!sent.ok()) return failed(notice, attempt, sent.error(), true);

  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::write, [&](store::Session& s) -> Status {
    return voicemail::finish_notice(s, notice.message_id);
  }));
  log::info("notify", "voicemail_notice.sent",
            {{"message", log::Id(notice.message_id)}, {"box", log::Id(notice.box_id)}, {"with_audio", with_audio},
             {"attempt", attempt}});
  return Outcome::sent;
}

Result<VoicemailNotifier::Outcome> VoicemailNotifier::failed(const voicemail::PendingNotice& notice, int64_t attempt,
                                                             const Error& error, bool from_relay) {
  // The relay's answer may quote the recipient's address, and a store's error its input: only
  // the error's kind is logged.
  const log::Code why = from_relay ? log::Code("mail_relay_refused") : log::Code("store_failed");
  const auto last = static_cast<int64_t>(options_.retry_delays_us.size()) + 1;
  if (attempt < last) {
    log::warn("notify", "voicemail_notice.retrying",
              {{"message", log::Id(notice.message_id)}, {"box", log::Id(notice.box_id)}, {"attempt", attempt},
               {"attempts", last}, {"reason", why}, {"error", log::error_code(error)}});
    return Outcome::retrying;
  }
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::write, [&](store::Session& s) -> Status {
    return voicemail::finish_notice(s, notice.message_id);
  }));
  log::error("notify", "voicemail_notice.given_up",
             {{"message", log::Id(notice.message_id)}, {"box", log::Id(notice.box_id)}, {"attempts", attempt},
              {"reason", why}, {"error", log::error_code(error)}});
  return Outcome::given_up;
}

Result<VoicemailNotifier::Outcome> VoicemailNotifier::drop(const voicemail::PendingNotice& notice,
                                                           log::Code why) {
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::write, [&](store::Session& s) -> Status {
    return voicemail::finish_notice(s, notice.message_id);
  }));
  log::info("notify", "voicemail_notice.dropped",
            {{"message", log::Id(notice.message_id)}, {"box", log::Id(notice.box_id)}, {"reason", why}});
  return Outcome::dropped;
}

}  // namespace privox::notify
