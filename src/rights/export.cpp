// The access export (fulfil.h lists its files).
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sodium.h>
#include <zip.h>

#include <cstdio>
#include <deque>
#include <filesystem>
#include <map>
#include <set>

#include "accounts/accounts.h"
#include "accounts/extensions.h"
#include "consent/consent.h"
#include "consent/member_view.h"
#include "privacy/audit.h"
#include "privacy/audit_record.h"
#include "privacy/datamap.h"
#include "privacy/export_part.h"
#include "ledgers/disclosures.h"
#include "consent/optional_data.h"
#include "rights/fulfil.h"
#include "sip/store_bindings.h"
#include "traffic/cdr.h"
#include "voicemail/greetings.h"
#include "voicemail/options.h"
#include "voicemail/store.h"

namespace privox::rights {
namespace {

using privacy::Purpose;
using store::Rows;
using store::Session;

struct ExportFile {
  std::string name;
  std::string content;
};

// The member's own fields that the export must show. show_member gives only what one purpose may
// use, so the purposes are asked in turn until every exported field is covered; each read is audited.
Result<nlohmann::json> member_fields(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                                     const std::string& member_id, const std::string& actor) {
  nlohmann::json shown = nlohmann::json::object(), member;
  std::set<std::string> wanted;
  for (const privacy::FieldSpec* f : accounts::member_fields())
    if (f->in_access_export) wanted.emplace(f->name);
  for (Purpose p : {Purpose::legal, Purpose::billing, Purpose::support, Purpose::service, Purpose::fraud}) {
    PRIVOX_ASSIGN(nlohmann::json view, consent::show_member(store, keys, clock, member_id, p, actor));
    if (member.is_null()) member = view;
    bool missing = false;
    const nlohmann::json fields = view.value("fields", nlohmann::json::object());
    const nlohmann::json withheld = view.value("withheld_for_purpose", nlohmann::json::array());
    for (const auto& [name, value] : fields.items())
      if (wanted.contains(name)) shown[name] = value;
    for (const auto& entry : withheld) {
      const std::string name = entry.get<std::string>();
      if (wanted.contains(name) && !shown.contains(name)) missing = true;
    }
    if (!missing) break;
  }
  member.erase("purpose");
  member.erase("withheld_for_purpose");
  member["fields"] = shown;
  return member;
}

struct Line {
  std::string id, number, sip_user, did, label;
};

Result<std::vector<Line>> member_lines(Session& s, const std::string& member_id) {
  PRIVOX_ASSIGN(std::vector<accounts::Extension> lines, accounts::extensions_of_member(s, member_id));
  std::vector<Line> out;
  out.reserve(lines.size());
  for (const accounts::Extension& x : lines) out.push_back({x.id, x.number, x.sip_user, x.did.value_or(""), x.label});
  return out;
}

Result<nlohmann::json> registrations(Session& s, const privacy::Keyring& keys, const Line& line) {
  PRIVOX_ASSIGN(std::vector<sip::StoredDevice> devices, sip::stored_devices(s, keys, line.id, 0, true));
  nlohmann::json out = nlohmann::json::array();
  for (const sip::StoredDevice& d : devices) {
    nlohmann::json b = {{"line_id", line.id}, {"contact", d.contact}, {"expires_at", format_utc(d.expires_at_us)}};
    if (!d.received.empty()) b["received"] = d.received;
    if (!d.user_agent.empty()) b["user_agent"] = d.user_agent;
    out.push_back(std::move(b));
  }
  return out;
}

Result<nlohmann::json> audit_entries(Session& s, const std::string& member_id, const std::vector<Line>& lines) {
  std::vector<std::string> subjects{member_id};
  for (const Line& line : lines) subjects.push_back(line.id);
  PRIVOX_ASSIGN(std::vector<privacy::AuditEntry> entries, privacy::entries_about(s, subjects));
  nlohmann::json out = nlohmann::json::array();
  for (privacy::AuditEntry& e : entries)
    out.push_back({{"seq", e.seq},
                   {"id", e.id},
                   {"at", format_utc(e.at_us)},
                   {"action", e.action},
                   {"subject_id", e.subject_id},
                   {"purpose", e.purpose},
                   {"detail", std::move(e.detail)}});
  return out;
}

std::string consent_json_time(int64_t us) { return format_utc(us); }

nlohmann::json consent_json(const consent::ConsentRecord& c) {
  return {{"id", c.id},
          {"purpose", consent::to_string(c.purpose)},
          {"given", c.given},
          {"method", consent::to_string(c.method)},
          {"channel", c.channel},
          {"notice_version", c.notice_version},
          {"at", consent_json_time(c.at_us)}};
}

Result<nlohmann::json> consents(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                                const std::string& member_id) {
  consent::ConsentLedger ledger(store, keys, clock);
  PRIVOX_ASSIGN(auto current, ledger.current(member_id));
  PRIVOX_ASSIGN(auto history, ledger.history(member_id));
  nlohmann::json out = {{"current", nlohmann::json::array()}, {"history", nlohmann::json::array()}};
  for (const auto& [purpose, record] : current) out["current"].push_back(consent_json(record));
  for (const auto& record : history) out["history"].push_back(consent_json(record));
  return out;
}

Result<nlohmann::json> optional_data(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                                     const std::string& member_id, const std::string& actor) {
  PRIVOX_ASSIGN(auto items, consent::OptionalData(store, keys, clock).list(member_id, actor));
  nlohmann::json out = nlohmann::json::object();
  for (const auto& item : items)
    out[std::string(consent::to_string(item.kind))] = {{"value", item.value}, {"updated_at", format_utc(item.updated_at_us)}};
  return out;
}

Result<nlohmann::json> requests_json(Session& s, const privacy::Keyring& keys, const std::vector<Request>& requests,
                                     const std::string& member_id, int64_t now_us) {
  PRIVOX_ASSIGN(Rows rows, s.query("SELECT id, corrections_enc FROM rights_requests WHERE member_id = ? AND "
                                   "corrections_enc IS NOT NULL",
                                   {member_id}));
  std::map<std::string, nlohmann::json> corrections;
  if (!rows.empty()) {
    PRIVOX_ASSIGN(privacy::SecretKey key, privacy::subject_keys::load(s, keys, member_id));
    for (const store::Row& r : rows) {
      PRIVOX_ASSIGN(std::string text, privacy::open_field(key, member_id, "request_corrections", r.blob(1)));
      corrections[r.text(0)] = nlohmann::json::parse(text, nullptr, false);
    }
  }
  nlohmann::json out = nlohmann::json::array();
  for (const Request& r : requests) {
    nlohmann::json j = r.to_json(now_us);
    if (auto it = corrections.find(r.id); it != corrections.end()) j["corrections"] = it->second;
    out.push_back(std::move(j));
  }
  return out;
}

// The lines' voicemail: an index (voicemail.json) and each recording as stored, Ogg Opus, opened
// for the member as the line's holder (a withheld caller stays withheld).
Status add_voicemail(Session& s, const privacy::Keyring& keys, const std::vector<std::string>& line_ids,
                     std::vector<ExportFile>& files) {
  PRIVOX_ASSIGN(std::vector<voicemail::MessageAudio> messages,
                voicemail::messages_of_boxes(s, keys, line_ids, Purpose::service, traffic::Viewer::line_holder));
  nlohmann::json index = nlohmann::json::array();
  for (voicemail::MessageAudio& m : messages) {
    nlohmann::json entry = voicemail::to_json(m.info);
    if (!m.audio.empty()) {
      entry["recording"] = fmt::format("voicemail/{}.opus", m.info.id);
      files.push_back({entry["recording"].get<std::string>(), std::move(m.audio)});
    }
    index.push_back(std::move(entry));
  }
  // Each line's own greeting, as stored (Ogg Opus), with an index of its own (only when there is
  // one: voicemail.json stays the messages' index).
  PRIVOX_ASSIGN(std::vector<voicemail::GreetingAudio> greetings, voicemail::greetings_of_boxes(s, keys, line_ids));
  nlohmann::json greeting_index = nlohmann::json::array();
  for (voicemail::GreetingAudio& g : greetings) {
    nlohmann::json entry = {{"extension_id", g.box_id},
                            {"duration_ms", g.duration_ms},
                            {"updated_at", format_utc(g.updated_at_us)}};
    if (!g.audio.empty()) {
      entry["recording"] = fmt::format("voicemail/greeting-{}.opus", g.box_id);
      files.push_back({entry["recording"].get<std::string>(), std::move(g.audio)});
    }
    greeting_index.push_back(std::move(entry));
  }
  files.push_back({"voicemail.json", index.dump(2)});
  if (!greeting_index.empty()) files.push_back({"voicemail/greetings.json", greeting_index.dump(2)});
  // What the member chose for each box (a PIN set or not, never the PIN or its hash; the email
  // notice), beside the greetings, when they chose anything.
  PRIVOX_ASSIGN(const std::vector<voicemail::BoxOptions> options, voicemail::options_of_boxes(s, line_ids));
  nlohmann::json options_index = nlohmann::json::array();
  for (const voicemail::BoxOptions& o : options) {
    nlohmann::json entry = voicemail::to_json(o);
    entry["extension_id"] = o.box_id;
    entry.erase("box_id");
    options_index.push_back(std::move(entry));
  }
  if (!options_index.empty()) files.push_back({"voicemail/options.json", options_index.dump(2)});
  return {};
}

std::string sha256_hex(const std::string& content) {
  uint8_t digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(content.data()), content.size());
  return to_hex(digest, sizeof digest);
}

Status write_zip(const std::string& path, const std::vector<ExportFile>& files) {
  int error = 0;
  zip_t* zip = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
  if (!zip) return invalid("out", fmt::format("cannot create {} (libzip error {})", path, error));
  for (const ExportFile& f : files) {
    zip_source_t* source = zip_source_buffer(zip, f.content.data(), f.content.size(), 0);
    if (!source || zip_file_add(zip, f.name.c_str(), source, ZIP_FL_ENC_UTF_8 | ZIP_FL_OVERWRITE) < 0) {
      if (source) zip_source_free(source);
      const std::string why = zip_strerror(zip);
      zip_discard(zip);
      return invalid("out", fmt::format("cannot add {} to {}: {}", f.name, path, why));
    }
  }
  if (zip_close(zip) != 0) {
    const std::string why = zip_strerror(zip);
    zip_discard(zip);
    return invalid("out", fmt::format("cannot write {}: {}", path, why));
  }
  return {};
}

}  // namespace

Result<std::string> member_email(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                                 const std::string& member_id, const std::string& actor) {
  PRIVOX_ASSIGN(nlohmann::json view, consent::show_member(store, keys, clock, member_id, Purpose::legal, actor));
  if (view.value("status", "") == "erased")
    return Error{ErrorCode::erased, "member", fmt::format("member {} was erased; there is no address to write to", member_id)};
  const auto fields = view.value("fields", nlohmann::json::object());
  if (!fields.contains("email"))
    return Error{ErrorCode::not_found, "member", fmt::format("member {} has no email address on file", member_id)};
  return fields["email"].get<std::string>();
}

Result<ExportSummary> write_access_export(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                                          const Request& request, const std::string& out_path,
                                          const std::string& actor) {
  if (out_path.empty()) return invalid("out", "name the ZIP file to write");
  const std::string& member_id = request.member_id;
  const int64_t now = clock.now_us();
  accounts::Accounts accounts(store, keys, clock);
  PRIVOX_ASSIGN(nlohmann::json member, member_fields(store, keys, clock, member_id, actor));
  if (member.value("status", "") == "erased")
    return Error{ErrorCode::erased, "id", fmt::format("member {} was erased; nothing is left to export", member_id)};
  PRIVOX_ASSIGN(accounts::Company company, accounts.company(member.value("company_id", "")));
  PRIVOX_ASSIGN(nlohmann::json consent, consents(store, keys, clock, member_id));
  PRIVOX_ASSIGN(nlohmann::json optional, optional_data(store, keys, clock, member_id, actor));
  PRIVOX_ASSIGN(std::vector<Request> requests, Requests(store, keys, clock).list({true, member_id}));
  PRIVOX_ASSIGN(std::vector<ledgers::Disclosure> disclosed, ledgers::DisclosureRegister(store, keys, clock).about(member_id));

  std::vector<ExportFile> files;
  int64_t traffic_count = 0;
  PRIVOX_ASSIGN(auto tx, store.begin(store::TxMode::read));
  {
    PRIVOX_ASSIGN(std::vector<Line> lines, member_lines(*tx, member_id));
    nlohmann::json lines_json = nlohmann::json::array(), devices = nlohmann::json::array();
    for (const Line& line : lines) {
      nlohmann::json l = {{"id", line.id}, {"extension_number", line.number}, {"sip_user", line.sip_user}};
      if (!line.did.empty()) l["did"] = line.did;
      if (!line.label.empty()) l["line_label"] = line.label;
      lines_json.push_back(std::move(l));
      PRIVOX_ASSIGN(nlohmann::json regs, registrations(*tx, keys, line));
      for (auto& b : regs) devices.push_back(std::move(b));
    }
    member["company"] = {{"id", company.id}, {"company_name", company.name}};
    const nlohmann::json subject = {{"member", member},
                                    {"phone_lines", lines_json},
                                    {"registered_devices", devices},
                                    {"optional_data", optional},
                                    {"consents", consent}};
    files.push_back({"subject.json", subject.dump(2)});
    std::vector<std::string> line_ids;
    line_ids.reserve(lines.size());
    for (const Line& line : lines) line_ids.push_back(line.id);
    PRIVOX_ASSIGN(std::vector<traffic::CdrRow> rows,
                  traffic::records_of_lines(*tx, keys, line_ids, privacy::Purpose::service,
                                            traffic::Viewer::line_holder));
    traffic_count = static_cast<int64_t>(rows.size());
    files.push_back({"traffic.csv", traffic::to_csv(rows)});
    PRIVOX_TRY(add_voicemail(*tx, keys, line_ids, files));
    PRIVOX_ASSIGN(nlohmann::json audit, audit_entries(*tx, member_id, lines));
    files.push_back({"audit.json", audit.dump(2)});
    nlohmann::json disclosures = nlohmann::json::array();
    for (const ledgers::Disclosure& d : disclosed) disclosures.push_back(ledgers::to_json(d));
    files.push_back({"disclosures.json", disclosures.dump(2)});
    PRIVOX_ASSIGN(nlohmann::json request_list, requests_json(*tx, keys, requests, member_id, now));
    files.push_back({"requests.json", request_list.dump(2)});
    // What folders above this one hold for the member (privacy/export_part.h): an office
    // manager's company invoices (billing/).
    const privacy::ExportSubject who{member_id, company.id};
    for (const privacy::ExportParticipantSpec& part : privacy::export_participants()) {
      PRIVOX_ASSIGN(std::vector<privacy::ExportFilePart> added, part.add(who, {*tx, keys, now}));
      for (privacy::ExportFilePart& f : added) files.push_back({std::move(f.name), std::move(f.content)});
    }
  }
  nlohmann::json manifest = {{"format_version", kExportFormatVersion},
                             {"generated_at", format_utc(now)},
                             {"request_id", request.id},
                             {"subject_id", member_id},
                             {"files", nlohmann::json::array()}};
  for (const ExportFile& f : files)
    manifest["files"].push_back({{"name", f.name}, {"bytes", f.content.size()}, {"sha256", sha256_hex(f.content)}});
  files.push_back({"manifest.json", manifest.dump(2)});

  const std::string tmp = out_path + ".part";
  PRIVOX_TRY(write_zip(tmp, files));
  std::error_code ec;
  std::filesystem::rename(tmp, out_path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return invalid("out", fmt::format("cannot write {}: {}", out_path, ec.message()));
  }
  // The copy holds the member's data: only its owner may read it.
  std::filesystem::permissions(out_path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::replace, ec);
  ExportSummary summary{request.id, {}, traffic_count, 0};
  for (const ExportFile& f : files) summary.files.push_back(f.name);
  summary.bytes = static_cast<int64_t>(std::filesystem::file_size(out_path, ec));
  return summary;
}

}  // namespace privox::rights
