#include "ledgers/notice.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <functional>
#include <map>

#include "common/bytes.h"
#include "common/money.h"
#include "privacy/datamap.h"
#include "ledgers/disclosures.h"
#include "store/settings.h"

namespace privox::ledgers {
namespace {

constexpr privacy::Category kCategoryOrder[] = {privacy::Category::identity_contact, privacy::Category::payment,       privacy::Category::traffic,
                                       privacy::Category::content,          privacy::Category::mobile_social, privacy::Category::web_analytics,
                                       privacy::Category::consent_rights,   privacy::Category::operator_interactions};
constexpr privacy::Purpose kPurposeOrder[] = {privacy::Purpose::service, privacy::Purpose::billing, privacy::Purpose::support,
                                     privacy::Purpose::fraud,   privacy::Purpose::legal,   privacy::Purpose::marketing};

// A setting's value in words, e.g. "180 days". The versioned notice is built without a store: it
// names the setting instead, so the version follows the data map and template, not the settings.
using SettingText = std::function<std::string(std::string_view key, std::string_view unit)>;

std::string_view category_words(privacy::Category c) {
  switch (c) {
    case privacy::Category::identity_contact: return "identity and contact details";
    case privacy::Category::payment: return "payment details (never the full card number)";
    case privacy::Category::traffic: return "traffic data: who called whom, when, for how long, and with which device";
    case privacy::Category::content: return "content: voicemails, call logs and messages in transit";
    case privacy::Category::mobile_social: return "optional mobile and social data, only with your consent";
    case privacy::Category::web_analytics: return "web data: your logins and visits, counted to stop abuse";
    case privacy::Category::consent_rights: return "your consent decisions and rights requests";
    case privacy::Category::operator_interactions: return "your interactions with our staff";
  }
  return "?";
}

// How long a field's data is kept, from its own rule and the settings that govern that data (and
// only those): the notice once gave short-lived records the call-log limits.
std::string retention_words(privacy::RetentionRule rule, const SettingText& setting) {
  switch (rule) {
    case privacy::RetentionRule::contract_plus_6_years:
      return "for as long as your contract runs, then six years after it ends, because tax law requires billing "
             "records";
    case privacy::RetentionRule::until_closure:
      return fmt::format("until your account closes; deleted {} later",
                         setting("retention.closed_account_grace_days", "days"));
    case privacy::RetentionRule::billing_dispute_period:
      return fmt::format("as recorded for {} (the time to dispute a bill), then made anonymous",
                         setting("retention.dispute_period_days", "days"));
    case privacy::RetentionRule::operator_limit:
      return fmt::format("call logs: at most {} and {}; voicemail: at most {} and {}",
                         setting("retention.call_log_max_entries", "entries"),
                         setting("retention.call_log_max_age_days", "days"),
                         setting("retention.voicemail_max_messages", "messages"),
                         setting("retention.voicemail_max_age_days", "days"));
    case privacy::RetentionRule::while_consented: return "until you withdraw your consent; deleted at once when you do";
    case privacy::RetentionRule::as_law_requires: return "for as long as the law requires";
    case privacy::RetentionRule::while_company_active: return "while your company is our customer";
    case privacy::RetentionRule::until_binding_expires: return "until your device's registration lapses or is removed";
    case privacy::RetentionRule::while_line_is_theirs:
      return "while the line exists and is yours: until you replace or delete it, or your data is erased";
    case privacy::RetentionRule::login_attempt_window:
      return fmt::format("while it counts failed logins: deleted {} after the last one, or after a lock-out of {}",
                         setting("portal.login_window_minutes", "minutes"), setting("portal.lockout_minutes", "minutes"));
    case privacy::RetentionRule::until_invitation_ends:
      // portal/confirmations.h's kInviteTtlUs, which is no setting; ledgers/ sits below portal/.
      return "until the invitation is accepted or withdrawn, and 7 days after it was last sent at most";
    case privacy::RetentionRule::hourly_rate_window: return "for the hour it counts, then deleted";
    case privacy::RetentionRule::until_link_followed:
      return "until you follow the link we emailed, and 24 hours at most";
    case privacy::RetentionRule::token_replay_guard: return "90 days after the sign-up that used it, then deleted";
    case privacy::RetentionRule::ban_period:
      return fmt::format("for the block ({} at first, up to {}) and one day after it ends",
                         setting("sip.ban_minutes", "minutes"), setting("sip.ban_max_minutes", "minutes"));
  }
  return "?";
}

// What a rights request does with the field, in words. A field's erasure exception is written for
// auditors (it may name columns), so the notice only says that one applies.
std::string erasure_in_words(const privacy::FieldSpec& f) {
  std::string out(privacy::erasure_words(f.erasure));
  if (f.erasure == privacy::ErasureTreatment::erase && !f.erasure_exception.empty())
    out += ", unless the law makes us keep it a while longer (such as for an unpaid bill); we tell you when";
  return out;
}

nlohmann::json purposes_json(privacy::PurposeSet set) {
  nlohmann::json out = nlohmann::json::array();
  for (privacy::Purpose p : kPurposeOrder)
    if (privacy::allows(set, p)) out.push_back(to_string(p));
  return out;
}

nlohmann::json purpose_words_json(privacy::PurposeSet set) {
  nlohmann::json out = nlohmann::json::array();
  for (privacy::Purpose p : kPurposeOrder)
    if (privacy::allows(set, p)) out.push_back(privacy::purpose_words(p));
  return out;
}

void add_unique(nlohmann::json& list, std::string_view item) {
  if (std::find(list.begin(), list.end(), item) == list.end()) list.push_back(item);
}

nlohmann::json recipients_json() {
  nlohmann::json out = nlohmann::json::array();
  for (DisclosureKind k : kDisclosureKinds) out.push_back({{"kind", to_string(k)}, {"who", describe(k)}});
  return out;
}

// The operator's fee for a further copy, as money ("£10.00"): the setting holds minor units.
std::string fee_money(const SettingText& setting) {
  int64_t minor = 0;
  std::string text = setting("rights.fee_minor_units", "");
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), minor);
  if (ec != std::errc() || end != text.data() + text.size()) return text;  // Settings keep it an integer
  return format_money(minor, setting("rights.fee_currency", ""));
}

// One right: what it gives, and how to exercise it, in the portal first; by email too once the
// operator has named a real address (an unset one is never offered as if it worked).
nlohmann::json right(std::string_view id, std::string_view title, std::string what, std::string how,
                     std::string_view page, const std::string& email) {
  if (!email.empty()) how += fmt::format(" Or write to {}.", email);
  return {{"right", id}, {"title", title}, {"what", std::move(what)}, {"how", std::move(how)}, {"where", page}};
}

nlohmann::json rights_json(const SettingText& setting) {
  const std::string email = setting("controller.email", "");
  return nlohmann::json::array({
      right("access", "Get a copy of your data",
            fmt::format("A machine-readable copy of everything we hold about you, within one calendar month "
                        "(extendable by two with a reason we record). The first copy is free; a further copy "
                        "costs {}.",
                        fee_money(setting)),
            "In the portal, open the Privacy centre and choose \u201cDownload my data\u201d; we email you a code to "
            "confirm it is you.",
            "/privacy.html", email),
      right("rectification", "Have wrong data corrected",
            "Correct what is wrong; we tell everyone we disclosed it to.",
            "In the portal, open Your profile and save your corrections.", "/profile.html", email),
      right("erasure", "Have your data deleted",
            "Delete your data: each item is deleted, made anonymous, or kept under a legal exception we name.",
            "In the portal, open the Privacy centre and choose \u201cDelete my account\u201d.", "/privacy.html", email),
      right("withdraw consent", "Withdraw your consent",
            "As easily as you gave it; optional data is deleted at once. A box you left unticked is recorded as "
            "consent not given, never as consent given and withdrawn.",
            "In the portal's Privacy centre, under Your consents; or use the unsubscribe link in any marketing "
            "email, or reply STOP to a marketing text.",
            "/privacy.html", email),
      right("complain", "Complain to a regulator", "To your data protection authority.",
            "Contact the authority directly (in the UK, the Information Commissioner's Office).", "", ""),
  });
}

// Everyone outside our staff who may see a category, beyond the register's general kinds.
std::string_view outside_recipient(privacy::Category c) {
  switch (c) {
    case privacy::Category::traffic: return "The telephone carriers that connect your calls to the public network";
    case privacy::Category::payment: return "The payment provider that holds your card and takes payment";
    default: return "";
  }
}

nlohmann::json who_sees(privacy::Category c) {
  nlohmann::json out = nlohmann::json::array();
  out.push_back("Our staff, only for one of the purposes above, and every look is recorded");
  if (const std::string_view outside = outside_recipient(c); !outside.empty()) out.push_back(outside);
  out.push_back("Public authorities, only under legal process; see \u201cWho we share data with\u201d");
  return out;
}

// The first layer for one category: what we collect, why, on what basis, how long and who sees
// it, in words only. Periods group the items they apply to, so each reads once.
nlohmann::json category_summary(privacy::Category c, const SettingText& setting) {
  nlohmann::json what = nlohmann::json::array(), why = nlohmann::json::array(), bases = nlohmann::json::array();
  std::vector<std::pair<std::string, nlohmann::json>> periods;
  privacy::PurposeSet purposes = 0;
  for (const privacy::FieldSpec& f : privacy::personal_fields()) {
    if (f.category != c) continue;
    what.push_back(f.label);
    purposes |= f.purposes;
    add_unique(bases, privacy::basis_words(f.basis));
    const std::string period = retention_words(f.retention, setting);
    auto it = std::find_if(periods.begin(), periods.end(), [&](const auto& p) { return p.first == period; });
    if (it == periods.end()) it = periods.insert(periods.end(), {period, nlohmann::json::array()});
    it->second.push_back(f.label);
  }
  if (what.empty()) return nullptr;
  for (privacy::Purpose p : kPurposeOrder)
    if (privacy::allows(purposes, p)) why.push_back(privacy::purpose_words(p));
  nlohmann::json how_long = nlohmann::json::array();
  for (auto& [period, items] : periods) how_long.push_back({{"period", period}, {"items", std::move(items)}});
  return {{"category", to_string(c)}, {"title", privacy::category_title(c)}, {"what", what}, {"why", why},
          {"basis", bases}, {"how_long", how_long}, {"who_sees", who_sees(c)}};
}

// The first layer for one purpose: the items it uses and on what basis. Marketing reaches a
// person only while the consent ledger says yes (notify/campaigns.h), whatever basis the address
// itself is held on, so its basis is consent.
// `uses` names every item; `uses_kinds` the categories they fall in, short enough to read first.
nlohmann::json purpose_summary(privacy::Purpose p) {
  nlohmann::json uses = nlohmann::json::array(), kinds = nlohmann::json::array(), bases = nlohmann::json::array();
  for (privacy::Category c : kCategoryOrder)
    for (const privacy::FieldSpec& f : privacy::personal_fields()) {
      if (f.category != c || !privacy::allows(f.purposes, p)) continue;
      uses.push_back(f.label);
      add_unique(kinds, privacy::category_title(c));
      if (p != privacy::Purpose::marketing) add_unique(bases, privacy::basis_words(f.basis));
    }
  if (p == privacy::Purpose::marketing) bases.push_back(privacy::basis_words(privacy::LegalBasis::consent));
  return {{"purpose", to_string(p)}, {"title", privacy::purpose_title(p)}, {"what_for", privacy::purpose_words(p)},
          {"uses", uses}, {"uses_kinds", kinds}, {"basis", bases}, {"consent_only", p == privacy::Purpose::marketing}};
}

nlohmann::json summary_json(const SettingText& setting) {
  nlohmann::json categories = nlohmann::json::array(), purposes = nlohmann::json::array();
  for (privacy::Category c : kCategoryOrder)
    if (nlohmann::json summary = category_summary(c, setting); !summary.is_null()) categories.push_back(summary);
  for (privacy::Purpose p : kPurposeOrder) purposes.push_back(purpose_summary(p));
  return {{"categories", categories}, {"purposes", purposes}};
}

// The second layer's row for one field: first the keys the notice has always had (identifiers for
// machines, the auditors' description, and the period already in words), then the same facts in
// words, for people.
nlohmann::json field_json(const privacy::FieldSpec& f, const SettingText& setting) {
  return {{"field", f.name},
          {"description", f.description},
          {"mandatory", f.mandatory},
          {"purposes", purposes_json(f.purposes)},
          {"legal_basis", to_string(f.basis)},
          {"retention", retention_words(f.retention, setting)},
          {"label", f.label},
          {"about_you", f.plain_description},
          {"required", f.mandatory ? "Needed to use the service" : "Optional, or only when it applies"},
          {"why", purpose_words_json(f.purposes)},
          {"basis", privacy::basis_words(f.basis)},
          {"on_erasure", erasure_in_words(f)},
          {"protection", privacy::protection_words(f.protection)}};
}

nlohmann::json categories_json(const SettingText& setting) {
  nlohmann::json out = nlohmann::json::array();
  for (privacy::Category c : kCategoryOrder) {
    nlohmann::json fields = nlohmann::json::array();
    for (const privacy::FieldSpec& f : privacy::personal_fields())
      if (f.category == c) fields.push_back(field_json(f, setting));
    if (fields.empty()) continue;
    out.push_back({{"category", to_string(c)}, {"title", privacy::category_title(c)}, {"about", category_words(c)},
                   {"fields", fields}});
  }
  return out;
}

// The notice without the controller block: what the version is the hash of.
nlohmann::json notice_body(const SettingText& setting) {
  return {{"summary", summary_json(setting)},
          {"categories", categories_json(setting)},
          {"recipients", recipients_json()},
          {"rights", rights_json(setting)}};
}

std::string placeholder(std::string_view key, std::string_view) { return fmt::format("[setting {}]", key); }

constexpr std::string_view kControllerKeys[] = {"name", "address", "email", "phone"};

// A controller detail still at its default (empty, or the placeholder address privacy@localhost)
// names nobody: it reads as empty, so no notice offers it as if it were real.
bool is_unset_controller_detail(const store::SettingValue& s) {
  return s.spec->key.starts_with("controller.") && (s.value.empty() || s.value == s.spec->default_value);
}

Result<SettingText> settings_reader(store::Store& store, nlohmann::json& controller) {
  const store::Settings settings(store);
  std::map<std::string, std::string, std::less<>> values;
  PRIVOX_ASSIGN(std::vector<store::SettingValue> all, settings.all());
  for (const store::SettingValue& s : all)
    values[std::string(s.spec->key)] = is_unset_controller_detail(s) ? "" : s.value;
  controller = nlohmann::json::object();
  for (std::string_view key : kControllerKeys) controller[key] = values[fmt::format("controller.{}", key)];
  return SettingText([values](std::string_view key, std::string_view unit) {
    const auto it = values.find(key);
    const std::string value = it == values.end() ? std::string("?") : it->second;
    return unit.empty() ? value : fmt::format("{} {}", value, unit);
  });
}

// The controller's details the operator has not set yet, and a warning in words while the notice
// cannot say who is responsible or how to reach them.
void add_controller_warning(nlohmann::json& notice) {
  nlohmann::json missing = nlohmann::json::array();
  for (std::string_view key : kControllerKeys)
    if (notice["controller"][key].get<std::string>().empty()) missing.push_back(key);
  notice["controller_missing"] = missing;
  const auto unset = [&notice](const char* key) { return notice["controller"][key].get<std::string>().empty(); };
  if (unset("name") || unset("email"))
    notice["controller_warning"] =
        "This service's operator has not yet set who is responsible for your data and how to contact them. "
        "Until they do, this notice is incomplete; use the portal to exercise your rights.";
}

std::string sha256_hex(const std::string& text) {
  std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(text.data()), text.size());
  return to_hex(digest.data(), digest.size());
}

}  // namespace

std::string notice_version() {
  static const std::string version = "n-" + sha256_hex(notice_body(placeholder).dump()).substr(0, 12);
  return version;
}

Result<nlohmann::json> privacy_notice(store::Store& store) {
  nlohmann::json controller;
  PRIVOX_ASSIGN(SettingText setting, settings_reader(store, controller));
  nlohmann::json notice = notice_body(setting);
  notice["controller"] = controller;
  add_controller_warning(notice);
  notice["version"] = notice_version();
  return notice;
}

namespace {

std::string joined(const nlohmann::json& list, std::string_view separator) {
  std::string out;
  for (const auto& item : list) out += (out.empty() ? "" : std::string(separator)) + item.get<std::string>();
  return out;
}

// The register's descriptions of recipients are phrases ("suppliers that ..."); a line of the
// notice starts with a capital letter.
std::string capitalised(std::string text) {
  if (!text.empty() && text[0] >= 'a' && text[0] <= 'z') text[0] = static_cast<char>(text[0] - 'a' + 'A');
  return text;
}

std::string controller_text(const nlohmann::json& notice) {
  static constexpr std::pair<const char*, const char*> kNames[] = {
      {"name", "Name"}, {"address", "Postal address"}, {"email", "Email"}, {"phone", "Telephone"}};
  std::string out = "Who is responsible for your data\n";
  for (const auto& [key, title] : kNames) {
    const std::string value = notice["controller"].value(key, "");
    out += fmt::format("  {}: {}\n", title, value.empty() ? "not yet set" : value);
  }
  if (notice.contains("controller_warning"))
    out += fmt::format("\n  WARNING: {}\n", notice["controller_warning"].get<std::string>());
  return out;
}

// A purpose that uses more items than this is summarised by the kinds of data it uses.
constexpr size_t kItemsShownByName = 4;

std::string summary_text(const nlohmann::json& summary) {
  std::string out = "\nWhat we collect, why, and for how long\n";
  for (const auto& c : summary["categories"]) {
    out += fmt::format("\n{}\n  What: {}\n  Why: {}\n  On what basis: {}\n  How long:\n",
                       c["title"].get<std::string>(), joined(c["what"], "; "), joined(c["why"], "; "),
                       joined(c["basis"], "; "));
    for (const auto& p : c["how_long"])
      out += fmt::format("    {}: kept {}\n", joined(p["items"], "; "), p["period"].get<std::string>());
    out += fmt::format("  Who sees it: {}\n", joined(c["who_sees"], "; "));
  }
  out += "\nWhat we use your data for\n";
  for (const auto& p : summary["purposes"])
    out += fmt::format("\n{}: {}\n  Basis: {}\n  Uses: {}\n", p["title"].get<std::string>(),
                       p["what_for"].get<std::string>(), joined(p["basis"], "; "),
                       joined(p["uses"].size() <= kItemsShownByName ? p["uses"] : p["uses_kinds"], "; "));
  return out;
}

std::string details_text(const nlohmann::json& categories) {
  std::string out = "\nDetails: every item we hold\n";
  for (const auto& c : categories) {
    out += fmt::format("\n{}\n", c["title"].get<std::string>());
    for (const auto& f : c["fields"])
      out += fmt::format("  {}\n    {}\n    {}. Why: {}. Basis: {}.\n    Kept {}.\n    If you ask us to erase "
                         "it: {}.\n    Protection: {}.\n",
                         f["label"].get<std::string>(), f["about_you"].get<std::string>(),
                         f["required"].get<std::string>(), joined(f["why"], "; "), f["basis"].get<std::string>(),
                         f["retention"].get<std::string>(), f["on_erasure"].get<std::string>(),
                         f["protection"].get<std::string>());
  }
  return out;
}

}  // namespace

std::string privacy_notice_text(const nlohmann::json& notice, bool details) {
  std::string out = fmt::format("Privacy notice (version {})\n\n", notice["version"].get<std::string>());
  out += controller_text(notice) + summary_text(notice["summary"]);
  out += "\nWho we share data with\n";
  for (const auto& r : notice["recipients"]) out += fmt::format("  {}\n", capitalised(r["who"].get<std::string>()));
  out += "\nYour rights\n";
  for (const auto& r : notice["rights"])
    out += fmt::format("  {}: {}\n    How: {}\n", r["title"].get<std::string>(), r["what"].get<std::string>(),
                       r["how"].get<std::string>());
  if (details) return out + details_text(notice["categories"]);
  return out + "\nFor every item we hold, with its purposes, basis, period and what erasure does: "
               "privox notice --details\n";
}

Result<nlohmann::json> record_of_processing(store::Store& store) {
  nlohmann::json controller;
  PRIVOX_ASSIGN(SettingText setting, settings_reader(store, controller));

  nlohmann::json purposes = nlohmann::json::array();
  for (privacy::Purpose p : kPurposeOrder) {
    nlohmann::json fields = nlohmann::json::array(), bases = nlohmann::json::array();
    for (const privacy::FieldSpec& f : privacy::personal_fields()) {
      if (!privacy::allows(f.purposes, p)) continue;
      fields.push_back(f.name);
      if (std::find(bases.begin(), bases.end(), to_string(f.basis)) == bases.end()) bases.push_back(to_string(f.basis));
    }
    purposes.push_back({{"purpose", to_string(p)}, {"fields", fields}, {"legal_bases", bases}});
  }
  nlohmann::json data = nlohmann::json::array(), retention = nlohmann::json::array();
  for (privacy::Category c : kCategoryOrder) {
    nlohmann::json fields = nlohmann::json::array();
    for (const privacy::FieldSpec& f : privacy::personal_fields()) {
      if (f.category != c) continue;
      fields.push_back(f.name);
      retention.push_back({{"field", f.name}, {"rule", to_string(f.retention)},
                           {"in_words", retention_words(f.retention, setting)}});
    }
    if (!fields.empty()) data.push_back({{"category", to_string(c)}, {"fields", fields}});
  }

  nlohmann::json recipients = nlohmann::json::array(), transfers = nlohmann::json::array();
  PRIVOX_TRY(store::with_transaction(store, store::TxMode::read, [&](store::Session& s) -> Status {
    for (DisclosureKind k : kDisclosureKinds) {
      PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT COUNT(*) FROM disclosures WHERE kind = ?",
                                              {std::string(to_string(k))}));
      recipients.push_back({{"kind", to_string(k)}, {"who", describe(k)}, {"register_entries", rows[0].i64(0)}});
    }
    PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT recipient, safeguard, disclosed_at_us FROM disclosures "
                                            "WHERE kind = 'region_transfer' ORDER BY disclosed_at_us, id"));
    for (const store::Row& r : rows)
      transfers.push_back({{"to", r.text(0)}, {"safeguard", r.text(1)}, {"at", format_utc(r.i64(2))}});
    return {};
  }));

  return nlohmann::json{
      {"controller", controller},
      {"purposes", purposes},
      {"categories_of_subjects",
       {"members: the staff of client companies who use the phone service",
        "portal visitors, for strictly necessary and (with consent) performance cookies",
        "the other parties of members' calls and messages, as traffic data"}},
      {"categories_of_data", data},
      {"recipients", recipients},
      {"transfers", {{"regions", "each company's data belongs to its region's store (EEA or US); a transfer between "
                                 "regions needs a recorded safeguard and is registered"},
                     {"registered", transfers}}},
      {"retention", retention},
      {"security_measures",
       {"personal fields encrypted per subject with XChaCha20-Poly1305; erasing the key erases every copy",
        "keyed blind indexes instead of clear values for look-ups",
        "device passwords kept only as sealed digest HA1s; staff passwords hashed with Argon2id",
        "hash-chained, verifiable audit log of every access to personal data, naming its purpose",
        "card numbers refused in every input; the payment provider holds the card",
        "tenants isolated; retention jobs delete or anonymise data when no purpose remains"}},
      {"notice_version", notice_version()},
  };
}

std::string record_of_processing_text(const nlohmann::json& ropa) {
  const auto& c = ropa["controller"];
  std::string out = "Record of processing activities (GDPR Art. 30)\n\n";
  const auto detail = [&c](const char* key) {
    const std::string value = c.value(key, "");
    return value.empty() ? std::string("not yet set") : value;
  };
  out += fmt::format("Controller: {}\n  address: {}\n  email: {}\n  phone: {}\n\n", detail("name"), detail("address"),
                     detail("email"), detail("phone"));
  const auto names = [](const nlohmann::json& list) {
    std::string s;
    for (const auto& item : list) s += (s.empty() ? "" : ", ") + item.get<std::string>();
    return s;
  };
  out += "Purposes:\n";
  for (const auto& p : ropa["purposes"])
    out += fmt::format("  {} (basis: {}): {}\n", p["purpose"].get<std::string>(), names(p["legal_bases"]),
                       names(p["fields"]));
  out += "\nCategories of data subjects:\n";
  for (const auto& s : ropa["categories_of_subjects"]) out += fmt::format("  {}\n", s.get<std::string>());
  out += "\nCategories of personal data:\n";
  for (const auto& d : ropa["categories_of_data"])
    out += fmt::format("  {}: {}\n", d["category"].get<std::string>(), names(d["fields"]));
  out += "\nRecipients:\n";
  for (const auto& r : ropa["recipients"])
    out += fmt::format("  {}: {} ({} register entries)\n", r["kind"].get<std::string>(), r["who"].get<std::string>(),
                       r["register_entries"].get<int64_t>());
  out += fmt::format("\nTransfers: {}\n", ropa["transfers"]["regions"].get<std::string>());
  for (const auto& t : ropa["transfers"]["registered"])
    out += fmt::format("  {} to {} under {}\n", t["at"].get<std::string>(), t["to"].get<std::string>(),
                       t["safeguard"].get<std::string>());
  out += "\nRetention:\n";
  for (const auto& r : ropa["retention"])
    out += fmt::format("  {}: {}\n", r["field"].get<std::string>(), r["in_words"].get<std::string>());
  out += "\nSecurity measures:\n";
  for (const auto& m : ropa["security_measures"]) out += fmt::format("  {}\n", m.get<std::string>());
  out += fmt::format("\nPrivacy notice version: {}\n", ropa["notice_version"].get<std::string>());
  return out;
}

}  // namespace privox::ledgers
