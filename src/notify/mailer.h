#pragma once
// Email out of privox: identity-check codes, rights-request notices, voicemail notices and
// marketing. A Mailer hands one message to the operator's relay (setting mail.smtp_url) and says
// whether the relay accepted it; SmtpMailer speaks SMTP through libcurl. Callers build the
// message; the mailer adds Date, Message-ID and the From of setting mail.from.
//
// Thread-safety: a Mailer may be used from one thread at a time.

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "store/store.h"

namespace privox::notify {

struct Email {
  std::string to;       // one address
  std::string subject;  // one line
  std::string text;     // plain-text body, UTF-8
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers, e.g. List-Unsubscribe
};

// A file sent with an email (multipart/mixed, base64). The mailer copies it into the message it
// hands the relay and wipes that copy once sent; the caller wipes its own `data` when it is secret.
struct Attachment {
  std::string filename;      // the name offered to the reader: letters, digits, '.', '-' and '_' only
  std::string content_type;  // type/subtype, e.g. audio/ogg
  std::string data;          // the bytes
};

class Mailer {
 public:
  virtual ~Mailer() = default;
  // `unavailable` when the relay cannot be reached or refuses the message, naming why;
  // `invalid_argument` naming the field for a message that cannot be written (message_format.h).
  // No attachments: a plain text/plain message.
  virtual Status send(const Email& email, std::span<const Attachment> attachments) = 0;
  Status send(const Email& email) { return send(email, {}); }
};

// Process-wide counts of what the SMTP mailers handed the relay, for the metrics: every sender
// (sign-up links, rights requests, voicemail notices, campaigns). Relaxed atomics, any thread.
struct MailCounters {
  std::atomic<uint64_t> sent{0};         // the relay accepted the message
  std::atomic<uint64_t> refused{0};      // the relay answered and refused it
  std::atomic<uint64_t> unreachable{0};  // no answer: connection refused, timed out, TLS failed
};
MailCounters& mail_counters();

struct SmtpConfig {
  std::string url;   // smtp://host:port
  std::string from;  // envelope and header sender
};

// The relay URL rule, applied both when mail.smtp_url is set and when the mailer is made from it.
Status check_smtp_url(std::string_view url);
// A mailer for the relay configured in the store's settings (mail.smtp_url, mail.from).
Result<std::unique_ptr<Mailer>> mailer_from_settings(store::Store& store);
std::unique_ptr<Mailer> smtp_mailer(SmtpConfig config);

}  // namespace privox::notify
