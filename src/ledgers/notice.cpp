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
    case privacy::Category::web_analytics: return "web and analytics data, kept only as aggregates";
    case privacy::Category::consent_rights: return "your consent decisions and rights requests";
    case privacy::Category::operator_interactions: return "your interactions with our staff";
  }
  return "?";
}

std::string retention_words(privacy::RetentionRule rule, const SettingText& setting) {
  switch (rule) {
    case privacy::RetentionRule::contract_plus_6_years:
      return "for the contract and six years after it ends, for billing records";
    case privacy::RetentionRule::until_closure:
      return fmt::format("until your account closes; erased {} later",
                         setting("retention.closed_account_grace_days", "days"));
    case privacy::RetentionRule::billing_dispute_period:
      return fmt::format("as recorded for {} (the billing dispute period), then anonymised",
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
    case privacy::RetentionRule::login_attempt_window:
      return fmt::format("while it counts failed logins: deleted {} after the last one, or after a lock-out of {}",
                         setting("portal.login_window_minutes", "minutes"), setting("portal.lockout_minutes", "minutes"));
    case privacy::RetentionRule::hourly_rate_window: return "for the hour it counts, then deleted";
    case privacy::RetentionRule::until_link_followed:
      return "until you follow the link we emailed, and 24 hours at most";
    case privacy::RetentionRule::token_replay_guard: return "90 days after the sign-up that used it, then deleted";
    case privacy::RetentionRule::ban_period:
      return fmt::format("for the ban ({} at first, up to {}) and one day after it ends",
                         setting("sip.ban_minutes", "minutes"), setting("sip.ban_max_minutes", "minutes"));
  }
  return "?";
}

nlohmann::json purposes_json(privacy::PurposeSet set) {
  nlohmann::json out = nlohmann::json::array();
  for (privacy::Purpose p : kPurposeOrder)
    if (privacy::allows(set, p)) out.push_back(to_string(p));
  return out;
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

nlohmann::json rights_json(const SettingText& setting) {
  const std::string contact = fmt::format("write to {} or use the portal at {}", setting("controller.email", ""),
                                          setting("portal.public_url", ""));
  return nlohmann::json::array({
      {{"right", "access"},
       {"what", fmt::format("a machine-readable copy of everything we hold about you, within one calendar month "
                            "(extendable by two with a reason we record); the first copy is free, a further copy "
                            "costs {}",
                            fee_money(setting))},
       {"how", contact}},
      {{"right", "rectification"},
       {"what", "correct what is wrong; we tell the recipients we disclosed it to"},
       {"how", contact}},
      {{"right", "erasure"},
       {"what", "delete your data; each item is erased, anonymised, or kept under a named legal exception"},
       {"how", contact}},
      {{"right", "withdraw consent"},
       {"what", "as easily as you gave it; optional data is deleted at once. A box you left unticked is "
                "recorded as consent not given, never as consent given and withdrawn"},
       {"how", "use the portal, the unsubscribe link in any marketing email, or reply STOP to a marketing SMS"}},
      {{"right", "complain"}, {"what", "to your data protection authority"}, {"how", "contact the authority directly"}},
  });
}

nlohmann::json categories_json(const SettingText& setting) {
  nlohmann::json out = nlohmann::json::array();
  for (privacy::Category c : kCategoryOrder) {
    nlohmann::json fields = nlohmann::json::array();
    for (const privacy::FieldSpec& f : privacy::personal_fields()) {
      if (f.category != c) continue;
      fields.push_back({{"field", f.name},
                        {"description", f.description},
                        {"mandatory", f.mandatory},
                        {"purposes", purposes_json(f.purposes)},
                        {"legal_basis", to_string(f.basis)},
                        {"retention", retention_words(f.retention, setting)}});
    }
    if (fields.empty()) continue;
    out.push_back({{"category", to_string(c)}, {"about", category_words(c)}, {"fields", fields}});
  }
  return out;
}

// The notice without the controller block: what the version is the hash of.
nlohmann::json notice_body(const SettingText& setting) {
  return {{"categories", categories_json(setting)}, {"recipients", recipients_json()}, {"rights", rights_json(setting)}};
}

std::string placeholder(std::string_view key, std::string_view) { return fmt::format("[setting {}]", key); }

Result<SettingText> settings_reader(store::Store& store, nlohmann::json& controller) {
  const store::Settings settings(store);
  std::map<std::string, std::string, std::less<>> values;
  PRIVOX_ASSIGN(std::vector<store::SettingValue> all, settings.all());
  for (const store::SettingValue& s : all) values[std::string(s.spec->key)] = s.value;
  controller = {{"name", values["controller.name"]},
                {"address", values["controller.address"]},
                {"email", values["controller.email"]},
                {"phone", values["controller.phone"]}};
  return SettingText([values](std::string_view key, std::string_view unit) {
    const auto it = values.find(key);
    const std::string value = it == values.end() ? std::string("?") : it->second;
    return unit.empty() ? value : fmt::format("{} {}", value, unit);
  });
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
  notice["version"] = notice_version();
  return notice;
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
  out += fmt::format("Controller: {}\n  address: {}\n  email: {}\n  phone: {}\n\n", c.value("name", ""),
                     c.value("address", ""), c.value("email", ""), c.value("phone", ""));
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
