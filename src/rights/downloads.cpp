// The portal's side of an access request: the copy produced by privox itself, sealed under the
// member's own key, downloadable by them alone for a limited time; and the status emails.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "privacy/audit_record.h"
#include "privacy/datamap.h"
#include "rights/fulfil.h"
#include "rights/requests.h"
#include "store/settings.h"

namespace privox::rights {
namespace {

constexpr int64_t kDayUs = 86'400'000'000;
constexpr std::string_view kSealedField = "access_export";

std::filesystem::path sealed_path(const std::string& dir, const std::string& id) {
  return std::filesystem::path(dir) / (id + ".sealed");
}

Result<std::string> slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return invalid("downloads", fmt::format("cannot read {}", path.string()));
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Written to a temporary name and renamed, so a reader never meets half a file.
Status write_whole(const std::filesystem::path& path, const Bytes& data) {
  const std::filesystem::path tmp = path.string() + ".part";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
    if (!out.flush()) return invalid("downloads", fmt::format("cannot write {}", tmp.string()));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return invalid("downloads", fmt::format("cannot rename into {}: {}", path.string(), ec.message()));
  return {};
}

std::string day_of(int64_t us) { return format_date(utc_date(us)); }

}  // namespace

int64_t download_until_us(const Request& r) {
  if (r.outcome_json.empty()) return 0;
  const nlohmann::json outcome = r.outcome();
  if (!outcome.is_object() || !outcome.contains("download")) return 0;
  return outcome["download"].value("until_us", int64_t{0});
}

Result<int64_t> Requests::remove_expired_downloads(const std::string& dir) {
  std::error_code ec;
  int64_t removed = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::filesystem::path& path = entry.path();
    if (path.extension() != ".sealed") continue;
    auto r = get(path.stem().string());
    // A file whose request is gone is no one's copy any more.
    const bool expired = r.ok() ? clock_.now_us() >= download_until_us(*r)
                                : r.error().code == ErrorCode::not_found || r.error().code == ErrorCode::invalid_argument;
    if (expired && std::filesystem::remove(path, ec)) ++removed;
  }
  return removed;
}

Result<Request> Requests::produce_download(const std::string& id, const std::string& dir, const std::string& actor) {
  PRIVOX_ASSIGN(Request r, get(id));
  if (r.kind != RequestKind::access || r.state != RequestState::in_progress)
    return Error{ErrorCode::conflict, "id", fmt::format("request {} is not an access request in progress", id)};
  PRIVOX_ASSIGN(const int64_t days, store::Settings(store_).integer("rights.download_days"));
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return invalid("downloads", fmt::format("cannot create {}: {}", dir, ec.message()));
  PRIVOX_TRY(remove_expired_downloads(dir));
  // The plain ZIP exists only for the moment it takes to seal it.
  const std::filesystem::path plain = std::filesystem::path(dir) / (id + ".zip.tmp");
  auto exported = export_access(id, plain.string(), actor);
  if (!exported.ok()) return exported.error();
  auto zip = slurp(plain);
  std::filesystem::remove(plain, ec);
  if (!zip.ok()) return zip.error();
  privacy::SecretKey key;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(key, privacy::subject_keys::load(s, keys_, r.member_id));
    return {};
  }));
  PRIVOX_TRY(write_whole(sealed_path(dir, id), privacy::seal_field(key, r.member_id, kSealedField, *zip)));
  PRIVOX_TRY(note_download(id, clock_.now_us() + days * kDayUs, actor));
  return complete(id, actor);
}

Result<std::optional<std::string>> Requests::read_download(const std::string& id, const std::string& member_id,
                                                           const std::string& dir, const std::string& actor) {
  auto found = get(id);
  // Someone else's request answers exactly as an unknown one does.
  if (!found.ok() || found->member_id != member_id)
    return Error{ErrorCode::not_found, "id", fmt::format("no rights request has id {}", id)};
  const int64_t until = download_until_us(*found);
  if (!until) return Error{ErrorCode::conflict, "id", fmt::format("request {} has no copy to download", id)};
  const std::filesystem::path path = sealed_path(dir, id);
  if (clock_.now_us() >= until) {
    std::error_code ec;
    std::filesystem::remove(path, ec);
    return std::optional<std::string>();
  }
  PRIVOX_ASSIGN(std::string sealed, slurp(path));
  privacy::SecretKey key;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(key, privacy::subject_keys::load(s, keys_, member_id));
    PRIVOX_TRY(audit_.append(s, {actor, "request.download", member_id, "legal",
                                 {{"request_id", id}, {"bytes", static_cast<int64_t>(sealed.size())}}}));
    return {};
  }));
  auto zip = privacy::open_field(key, member_id, kSealedField, Bytes(sealed.begin(), sealed.end()));
  if (!zip.ok()) return Error{ErrorCode::corrupt, "id", fmt::format("the copy of request {} does not open", id)};
  return std::optional<std::string>(std::move(zip).value());
}

Status Requests::mail_status(const Request& r, StatusMail which, notify::Mailer& mailer, const std::string& actor) {
  PRIVOX_ASSIGN(std::string email, member_email(store_, keys_, clock_, r.member_id, actor));
  const std::string kind(to_string(r.kind));
  notify::Email mail{email, "", "", {}};
  switch (which) {
    case StatusMail::verified:
      mail.subject = "Your privacy request: identity confirmed";
      mail.text = fmt::format("Thank you: your identity is confirmed for your {} request (reference {}).\n\n"
                              "We will answer by {}.\n",
                              kind, r.id, day_of(r.due_at_us));
      break;
    case StatusMail::fee_due:
      mail.subject = "Your privacy request: administration fee due";
      mail.text = fmt::format("A further copy of your data carries an administration fee of {} (reference {}).\n\n"
                              "Pay it in the privacy centre of the portal; the deadline waits until then.\n",
                              format_money(r.fee_minor_units, r.fee_currency), r.id);
      break;
    case StatusMail::paid:
      mail.subject = "Your privacy request: receipt";
      mail.text = fmt::format("Receipt for the administration fee of your {} request {}.\n\n"
                              "Amount: {}\nPayment reference: {}\nDate: {}\n",
                              kind, r.id, format_money(r.fee_minor_units, r.fee_currency), r.payment_reference,
                              day_of(clock_.now_us()));
      break;
    case StatusMail::ready:
      mail.subject = "Your privacy request: your data is ready to download";
      mail.text = fmt::format("The copy of your data (request {}) is ready.\n\n"
                              "Log in and open the privacy centre to download it, until {}. After that the file "
                              "is removed.\n",
                              r.id, day_of(download_until_us(r)));
      break;
    case StatusMail::completed:
      mail.subject = "Your privacy request is completed";
      mail.text = fmt::format("Your {} request (reference {}) has been carried out.\n", kind, r.id);
      break;
  }
  return mailer.send(mail);
}

}  // namespace privox::rights
