#include "notify/mailer.h"

#include <curl/curl.h>
#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <mutex>

#include "common/clock.h"
#include "common/ids.h"
#include "notify/message_format.h"
#include "store/settings.h"

namespace privox::notify {
namespace {

constexpr long kConnectTimeoutS = 10;
constexpr long kTransferTimeoutS = 60;

// curl_global_init is not thread-safe; the first mailer of the process runs it once.
void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// What curl reads the message from.
struct Upload {
  const std::string& data;
  size_t offset = 0;
};

size_t read_message(char* buffer, size_t size, size_t count, void* user) {
  auto* upload = static_cast<Upload*>(user);
  const size_t n = std::min(size * count, upload->data.size() - upload->offset);
  std::copy_n(upload->data.data() + upload->offset, n, buffer);
  upload->offset += n;
  return n;
}

// Keeps the relay's last answer line, so a refusal can say what the relay said.
int record_answer(CURL*, curl_infotype type, char* data, size_t size, void* user) {
  if (type != CURLINFO_HEADER_IN) return 0;
  std::string line(data, size);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  if (!line.empty()) *static_cast<std::string*>(user) = line;
  return 0;
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

class SmtpMailer final : public Mailer {
 public:
  explicit SmtpMailer(SmtpConfig config) : config_(std::move(config)) { init_curl_once(); }

  using Mailer::send;
  Status send(const Email& email, std::span<const Attachment> attachments) override {
    PRIVOX_TRY(check_address("from", config_.from));
    PRIVOX_TRY(check_address("to", email.to));
    PRIVOX_ASSIGN(std::string message, format_message(config_.from, email, SystemClock().now_us(), attachments));
    Status sent = transfer(email.to, message);
    // It may hold an attachment that is secret (a voicemail recording): wiped, sent or not. (The
    // pieces curl copied into its own upload buffer, freed with its handle, are out of reach.)
    sodium_memzero(message.data(), message.size());
    return sent;
  }

 private:
  Status transfer(const std::string& to, const std::string& message) const {
    std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
    if (!curl) return make_error(ErrorCode::internal, "could not start an SMTP client (curl_easy_init)");
    std::unique_ptr<curl_slist, SlistDeleter> rcpt(curl_slist_append(nullptr, to.c_str()));
    Upload upload{message};
    std::string answer;
    char curl_error[CURL_ERROR_SIZE] = {};
    CURL* c = curl.get();
    curl_easy_setopt(c, CURLOPT_URL, config_.url.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, config_.from.c_str());
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt.get());
    curl_easy_setopt(c, CURLOPT_READFUNCTION, read_message);
    curl_easy_setopt(c, CURLOPT_READDATA, &upload);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, kConnectTimeoutS);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, kTransferTimeoutS);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_error);
    curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, record_answer);
    curl_easy_setopt(c, CURLOPT_DEBUGDATA, &answer);
    curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);  // only so that record_answer sees the relay's lines
    const CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK) {
      mail_counters().sent.fetch_add(1, std::memory_order_relaxed);
      return {};
    }
    (answer.empty() ? mail_counters().unreachable : mail_counters().refused).fetch_add(1, std::memory_order_relaxed);
    const std::string why = curl_error[0] ? curl_error : curl_easy_strerror(rc);
    return make_error(ErrorCode::unavailable,
                      answer.empty() ? fmt::format("the mail relay {} could not be used: {}", config_.url, why)
                                     : fmt::format("the mail relay {} refused the message: {} (it answered \"{}\")",
                                                   config_.url, why, answer));
  }

  const SmtpConfig config_;
};

}  // namespace

MailCounters& mail_counters() {
  static MailCounters counters;
  return counters;
}

std::unique_ptr<Mailer> smtp_mailer(SmtpConfig config) { return std::make_unique<SmtpMailer>(std::move(config)); }

Status check_smtp_url(std::string_view url) {
  if (!url.starts_with("smtp://") && !url.starts_with("smtps://"))
    return invalid("mail.smtp_url", fmt::format("'{}' is not an smtp:// or smtps:// URL", url));
  return {};
}

Result<std::unique_ptr<Mailer>> mailer_from_settings(store::Store& store) {
  const store::Settings settings(store);
  SmtpConfig config;
  PRIVOX_ASSIGN(config.url, settings.text("mail.smtp_url"));
  PRIVOX_ASSIGN(config.from, settings.text("mail.from"));
  PRIVOX_TRY(check_smtp_url(config.url));
  return smtp_mailer(std::move(config));
}

}  // namespace privox::notify
