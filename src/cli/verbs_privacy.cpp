// The privacy ledgers on the command line: `consent`, `disclosure`, `hold`, `company
// transfer-region`, `business-sale export`, `settings`, `ropa` and `notice`. Every verb opens the
// data directory, acts through privacy/ (which writes the audit entries) and reports errors through
// fail(), naming the flag at fault.

#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <nlohmann/json.hpp>

#include "accounts/accounts.h"
#include "accounts/validation.h"
#include "cli/verbs.h"
#include "consent/consent.h"
#include "ledgers/disclosures.h"
#include "ledgers/legal_holds.h"
#include "ledgers/notice.h"
#include "privacy/settings_change.h"
#include "store/settings.h"
#include "traffic/cdr.h"

namespace privox::cli {
namespace {

using consent::ConsentPurpose;

// Opens the environment and checks that `member` names a member of this store: the ledgers take
// any subject id, but an operator typing one wants a typo caught.
Result<std::unique_ptr<Environment>> open_with_member(const DataDir& where, const std::string& member) {
  PRIVOX_ASSIGN(const std::string id, accounts::check_id("member", member));
  PRIVOX_ASSIGN(auto env, open_environment(where));
  bool found = false;
  PRIVOX_TRY(store::with_transaction(*env->store, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(std::optional<accounts::MemberRow> row, accounts::find_member(s, id));
    found = row.has_value();
    return {};
  }));
  if (!found) return Error{ErrorCode::not_found, "member", "no member has id '" + id + "'"};
  return env;
}

std::string purpose_names() {
  std::string out;
  for (ConsentPurpose p : consent::kConsentPurposes) out += (out.empty() ? "" : ", ") + std::string(to_string(p));
  return out;
}

// --- consent ---------------------------------------------------------------------------------

struct ConsentOptions {
  std::string member, purpose, channel = "cli";
  bool json = false;
};

int run_consent_record(const DataDir& where, const ConsentOptions& o, bool given) {
  const auto purpose = consent::parse_consent_purpose(o.purpose);
  if (!purpose) return fail(invalid("purpose", "'" + o.purpose + "' is not a consent purpose; use one of " + purpose_names()));
  auto env = open_with_member(where, o.member);
  if (!env.ok()) return fail(env.error());
  const consent::ConsentLedger ledger(*(*env)->store, (*env)->keys, (*env)->clock);
  // The operator records it on the person's instruction (method "operator").
  auto record = ledger.record({o.member, *purpose, given, consent::ConsentMethod::staff, o.channel,
                               ledgers::notice_version()},
                              cli_actor());
  if (!record.ok()) return fail(record.error());
  std::printf("consent %s %s for member %s (ledger entry %s, notice %s)\n", o.purpose.c_str(),
              given ? "given" : "withdrawn", o.member.c_str(), record->id.c_str(), record->notice_version.c_str());
  return 0;
}

nlohmann::json consent_json(const consent::ConsentRecord& r, std::string_view decision) {
  return {{"id", r.id},         {"purpose", to_string(r.purpose)}, {"decision", decision},
          {"method", to_string(r.method)}, {"channel", r.channel}, {"notice_version", r.notice_version},
          {"at", format_utc(r.at_us)}};
}

int run_consent_show(const DataDir& where, const ConsentOptions& o) {
  auto env = open_with_member(where, o.member);
  if (!env.ok()) return fail(env.error());
  const consent::ConsentLedger ledger(*(*env)->store, (*env)->keys, (*env)->clock);
  auto current = ledger.current(o.member);
  if (!current.ok()) return fail(current.error());
  auto history = ledger.history(o.member);
  if (!history.ok()) return fail(history.error());
  // Each decision's word depends on whether its purpose was given before it (consent.h).
  std::vector<std::string_view> words;
  std::map<ConsentPurpose, std::string_view> current_word;
  std::set<ConsentPurpose> given_before;
  for (const auto& r : *history) {
    words.push_back(consent::decision_word(r.given, given_before.count(r.purpose) > 0));
    current_word[r.purpose] = words.back();
    if (r.given) given_before.insert(r.purpose);
  }
  if (o.json) {
    nlohmann::json out = {{"member", o.member}, {"current", nlohmann::json::object()}, {"history", nlohmann::json::array()}};
    for (const auto& [purpose, r] : *current)
      out["current"][std::string(to_string(purpose))] = consent_json(r, current_word[purpose]);
    for (size_t i = 0; i < history->size(); ++i) out["history"].push_back(consent_json((*history)[i], words[i]));
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  std::printf("Current consent of member %s:\n", o.member.c_str());
  for (ConsentPurpose p : consent::kConsentPurposes) {
    const auto it = current->find(p);
    std::printf("  %-20s %s\n", std::string(to_string(p)).c_str(),
                it == current->end() ? "never asked" : std::string(current_word[p]).c_str());
  }
  std::printf("\nHistory (%zu decisions, oldest first):\n", history->size());
  for (size_t i = 0; i < history->size(); ++i) {
    const consent::ConsentRecord& r = (*history)[i];
    std::printf("  %s  %-20s %-9s by %s via %s, notice %s\n", format_utc(r.at_us).c_str(),
                std::string(to_string(r.purpose)).c_str(), std::string(words[i]).c_str(),
                std::string(to_string(r.method)).c_str(), r.channel.c_str(), r.notice_version.c_str());
  }
  return 0;
}

void add_consent_verbs(CLI::App& app, DataDir& where, Verbs& verbs) {
  auto* consent = app.add_subcommand("consent", "The consent ledger (append-only)")->require_subcommand(1);
  auto o = std::make_shared<ConsentOptions>();
  for (const bool given : {true, false}) {
    auto* verb = consent->add_subcommand(given ? "give" : "withdraw",
                                         given ? "Record that a member gave consent, on their instruction"
                                               : "Record that a member withdrew consent; optional data it covered is deleted");
    add_data_dir(verb, where);
    verb->add_option("--member", o->member, "member id")->required();
    verb->add_option("--purpose", o->purpose, "what for: " + purpose_names())->required();
    verb->add_option("--channel", o->channel, "where the person told you: cli, email, phone, letter")->capture_default_str();
    verbs.add(verb, [&where, o, given] { return run_consent_record(where, *o, given); });
  }
  auto* show = consent->add_subcommand("show", "A member's current consents and every decision they made");
  add_data_dir(show, where);
  show->add_option("--member", o->member, "member id")->required();
  show->add_flag("--json", o->json, "machine-readable output");
  verbs.add(show, [&where, o] { return run_consent_show(where, *o); });
}

// --- disclosure ------------------------------------------------------------------------------

struct DisclosureOptions {
  std::string recipient, kind, basis = "contract", reference, safeguard, since;
  std::vector<std::string> categories, members;
  std::string member;  // list: about one member
  bool json = false;
};

Result<ledgers::NewDisclosure> parse_disclosure(const DisclosureOptions& o) {
  ledgers::NewDisclosure entry;
  entry.recipient = o.recipient;
  const auto kind = ledgers::parse_disclosure_kind(o.kind);
  if (!kind) return invalid("kind", "'" + o.kind + "' is not a kind; use carrier, supplier, authority, buyer or region_transfer");
  entry.kind = *kind;
  for (const std::string& c : o.categories) {
    const auto category = ledgers::parse_category(c);
    if (!category) return invalid("categories", "'" + c + "' is not a data category; `privox datamap` lists them");
    entry.categories.push_back(*category);
  }
  const auto basis = ledgers::parse_legal_basis(o.basis);
  if (!basis)
    return invalid("basis", "'" + o.basis + "' is not a legal basis; use contract, legal_obligation, legitimate_interest or consent");
  entry.basis = *basis;
  entry.reference = o.reference;
  entry.safeguard = o.safeguard;
  for (const std::string& m : o.members) {
    PRIVOX_ASSIGN(std::string id, accounts::check_id("member", m));
    entry.subject_ids.push_back(std::move(id));
  }
  return entry;
}

int run_disclosure_add(const DataDir& where, const DisclosureOptions& o) {
  auto entry = parse_disclosure(o);
  if (!entry.ok()) return fail(entry.error());
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  const ledgers::DisclosureRegister reg(*(*env)->store, (*env)->keys, (*env)->clock);
  auto id = reg.record(*entry, cli_actor());
  if (!id.ok()) return fail(id.error());
  std::printf("%s\n", id->c_str());
  return 0;
}

void print_disclosure(const ledgers::Disclosure& d) {
  std::string categories;
  for (const auto c : d.categories) categories += (categories.empty() ? "" : ",") + std::string(to_string(c));
  std::printf("%s  %s  %-15s %s  [%s; basis %s]%s%s  %zu subjects\n", format_utc(d.disclosed_at_us).c_str(), d.id.c_str(),
              std::string(to_string(d.kind)).c_str(), d.recipient.c_str(), categories.c_str(),
              std::string(to_string(d.basis)).c_str(), d.reference.empty() ? "" : ("  ref " + d.reference).c_str(),
              d.safeguard.empty() ? "" : ("  safeguard " + d.safeguard).c_str(), d.subject_ids.size());
}

int run_disclosure_list(const DataDir& where, const DisclosureOptions& o) {
  ledgers::DisclosureFilter filter;
  if (!o.kind.empty()) {
    filter.kind = ledgers::parse_disclosure_kind(o.kind);
    if (!filter.kind) return fail(invalid("kind", "'" + o.kind + "' is not a kind"));
  }
  if (!o.since.empty()) {
    filter.since_us = parse_time(o.since);
    if (!filter.since_us) return fail(invalid("since", "'" + o.since + "' is not a time (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ)"));
  }
  auto env = o.member.empty() ? open_environment(where) : open_with_member(where, o.member);
  if (!env.ok()) return fail(env.error());
  const ledgers::DisclosureRegister reg(*(*env)->store, (*env)->keys, (*env)->clock);
  if (!o.member.empty()) filter.subject_id = o.member;
  auto list = reg.list(filter);
  if (!list.ok()) return fail(list.error());
  if (o.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& d : *list) out.push_back(ledgers::to_json(d));
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  if (list->empty()) std::printf("no disclosures registered\n");
  for (const auto& d : *list) print_disclosure(d);
  return 0;
}

void add_disclosure_verbs(CLI::App& app, DataDir& where, Verbs& verbs) {
  auto* disclosure = app.add_subcommand("disclosure", "The disclosure register (P9)")->require_subcommand(1);
  auto o = std::make_shared<DisclosureOptions>();
  auto* add = disclosure->add_subcommand("add", "Register a disclosure to a third party; prints its id");
  add_data_dir(add, where);
  add->add_option("--recipient", o->recipient, "who received the data")->required();
  add->add_option("--kind", o->kind, "carrier, supplier, authority, buyer or region_transfer")->required();
  add->add_option("--categories", o->categories, "data categories, comma-separated, e.g. traffic,identity_contact")
      ->required()
      ->delimiter(',');
  add->add_option("--basis", o->basis, "legal basis: contract, legal_obligation, legitimate_interest, consent")
      ->capture_default_str();
  add->add_option("--reference", o->reference, "the legal process's reference (required for an authority)");
  add->add_option("--safeguard", o->safeguard, "the transfer safeguard (required for region_transfer)");
  add->add_option("--member", o->members, "a member the disclosure concerned (repeat for several)");
  verbs.add(add, [&where, o] { return run_disclosure_add(where, *o); });

  auto* list = disclosure->add_subcommand("list", "List the register, or the entries about one member");
  add_data_dir(list, where);
  list->add_option("--member", o->member, "only entries about this member (with carriers that routed their calls)");
  list->add_option("--kind", o->kind, "only this kind of recipient");
  list->add_option("--since", o->since, "only disclosures at or after this time (UTC)");
  list->add_flag("--json", o->json, "machine-readable output");
  verbs.add(list, [&where, o] { return run_disclosure_list(where, *o); });
}

// --- hold ------------------------------------------------------------------------------------

struct HoldOptions {
  std::string member, reason, reference, id;
  bool all = false, json = false;
};

void add_hold_verbs(CLI::App& app, DataDir& where, Verbs& verbs) {
  auto* hold = app.add_subcommand("hold", "Legal holds: suspend erasure and retention for a member (P14)")
                   ->require_subcommand(1);
  auto o = std::make_shared<HoldOptions>();
  auto* place = hold->add_subcommand("place", "Place a legal hold on a member; prints its id");
  add_data_dir(place, where);
  place->add_option("--member", o->member, "member id")->required();
  place->add_option("--reason", o->reason, "the legal matter (a case, an order); name the matter, not the person")
      ->required();
  place->add_option("--reference", o->reference, "the matter's reference");
  verbs.add(place, [&where, o] {
    auto env = open_with_member(where, o->member);
    if (!env.ok()) return fail(env.error());
    auto id = ledgers::LegalHolds(*(*env)->store, (*env)->keys, (*env)->clock)
                  .place(o->member, o->reason, o->reference, cli_actor());
    if (!id.ok()) return fail(id.error());
    std::printf("%s\n", id->c_str());
    return 0;
  });

  auto* release = hold->add_subcommand("release", "Release a legal hold");
  add_data_dir(release, where);
  release->add_option("--id", o->id, "hold id")->required();
  verbs.add(release, [&where, o] {
    auto id = accounts::check_id("id", o->id);
    if (!id.ok()) return fail(id.error());
    auto env = open_environment(where);
    if (!env.ok()) return fail(env.error());
    const Status s = ledgers::LegalHolds(*(*env)->store, (*env)->keys, (*env)->clock).release(*id, cli_actor());
    if (!s.ok()) return fail(s.error());
    std::printf("released legal hold %s\n", id->c_str());
    return 0;
  });

  auto* list = hold->add_subcommand("list", "List the legal holds in force");
  add_data_dir(list, where);
  list->add_flag("--all", o->all, "released holds too");
  list->add_flag("--json", o->json, "machine-readable output");
  verbs.add(list, [&where, o] {
    auto env = open_environment(where);
    if (!env.ok()) return fail(env.error());
    auto holds = ledgers::LegalHolds(*(*env)->store, (*env)->keys, (*env)->clock).list(o->all);
    if (!holds.ok()) return fail(holds.error());
    nlohmann::json out = nlohmann::json::array();
    for (const auto& h : *holds) {
      nlohmann::json j = {{"id", h.id},       {"member", h.subject_id},         {"reason", h.reason},
                          {"reference", h.reference}, {"placed_at", format_utc(h.placed_at_us)}, {"placed_by", h.placed_by}};
      if (h.released_at_us) j["released_at"] = format_utc(*h.released_at_us);
      if (!h.released_by.empty()) j["released_by"] = h.released_by;
      if (!o->json)
        std::printf("%s  member %s  placed %s  %s%s%s\n", h.id.c_str(), h.subject_id.c_str(),
                    format_utc(h.placed_at_us).c_str(), h.reason.c_str(),
                    h.reference.empty() ? "" : (" (" + h.reference + ")").c_str(),
                    h.released_at_us ? (", released " + format_utc(*h.released_at_us)).c_str() : "");
      out.push_back(std::move(j));
    }
    if (o->json) std::cout << out.dump(2) << "\n";
    else if (holds->empty()) std::printf("no legal holds in force\n");
    return 0;
  });
}

// --- company transfer-region, business-sale export ---------------------------------------------

struct TransferOptions {
  std::string id, to, safeguard, buyer, out;
};

void add_transfer_verbs(CLI::App& app, DataDir& where, Verbs& verbs) {
  auto o = std::make_shared<TransferOptions>();
  // `company` itself is main.cpp's; the transfer joins it.
  CLI::App* company = app.get_subcommand("company");
  auto* transfer = company->add_subcommand("transfer-region", "Move a company to the other region's store (P10)");
  add_data_dir(transfer, where);
  transfer->add_option("--id", o->id, "company id")->required();
  transfer->add_option("--to", o->to, "eea or us")->required();
  transfer->add_option("--safeguard", o->safeguard,
                       "the safeguard that allows it, e.g. \"standard contractual clauses, signed 2026-05-01\"");
  verbs.add(transfer, [&where, o] {
    auto id = accounts::check_id("id", o->id);
    if (!id.ok()) return fail(id.error());
    auto env = open_environment(where);
    if (!env.ok()) return fail(env.error());
    auto moved = ledgers::DisclosureRegister(*(*env)->store, (*env)->keys, (*env)->clock)
                     .transfer_company_region(*id, o->to, o->safeguard, cli_actor());
    if (!moved.ok()) {
      Error e = moved.error();
      if (e.field == "company") e.field = "id";
      return fail(e);
    }
    std::printf("company %s moved from %s to %s; %lld members; registered as disclosure %s\n", id->c_str(),
                moved->from_region.c_str(), moved->to_region.c_str(), static_cast<long long>(moved->members),
                moved->disclosure_id.c_str());
    return 0;
  });

  auto* sale = app.add_subcommand("business-sale", "Sale of the business (P16)")->require_subcommand(1);
  auto* sale_export = sale->add_subcommand("export", "Write the customer base for a buyer and register the disclosure");
  add_data_dir(sale_export, where);
  sale_export->add_option("--buyer", o->buyer, "who is buying the business")->required();
  sale_export->add_option("--out", o->out, "the JSON file to write (mode 0600)")->required();
  verbs.add(sale_export, [&where, o] {
    auto env = open_environment(where);
    if (!env.ok()) return fail(env.error());
    auto done = ledgers::DisclosureRegister(*(*env)->store, (*env)->keys, (*env)->clock)
                    .business_sale_export(o->buyer, o->out, cli_actor());
    if (!done.ok()) return fail(done.error());
    std::printf("wrote %lld companies and %lld members to %s; registered as disclosure %s\n",
                static_cast<long long>(done->companies), static_cast<long long>(done->members), o->out.c_str(),
                done->disclosure_id.c_str());
    return 0;
  });
}

// --- settings, ropa, notice ------------------------------------------------------------------

struct DocumentOptions {
  std::string key, value;
  bool json = false;
  bool details = false;  // `notice --details`: the full table after the summary
};

void add_document_verbs(CLI::App& app, DataDir& where, Verbs& verbs) {
  auto o = std::make_shared<DocumentOptions>();
  auto* settings = app.add_subcommand("settings", "The operator's settings (periods, limits, fee, contact)")
                       ->require_subcommand(1);
  auto* list = settings->add_subcommand("list", "Every setting with its value in force and meaning");
  add_data_dir(list, where);
  list->add_flag("--json", o->json, "machine-readable output");
  verbs.add(list, [&where, o] {
    auto env = open_environment(where);
    if (!env.ok()) return fail(env.error());
    auto all = store::Settings(*(*env)->store).all();
    if (!all.ok()) return fail(all.error());
    if (o->json) {
      nlohmann::json out = nlohmann::json::array();
      for (const store::SettingValue& s : *all)
        out.push_back({{"key", s.spec->key}, {"value", s.value}, {"default", s.spec->default_value},
                       {"changed", s.changed}, {"meaning", s.spec->meaning}});
      std::cout << out.dump(2) << "\n";
      return 0;
    }
    for (const store::SettingValue& s : *all)
      std::printf("%-32s %-30s %s%s\n", std::string(s.spec->key).c_str(), s.value.c_str(),
                  s.changed ? "(changed) " : "", std::string(s.spec->meaning).c_str());
    return 0;
  });
  auto* set = settings->add_subcommand("set", "Change a setting (audited)");
  add_data_dir(set, where);
  set->add_option("key", o->key, "the setting, as `settings list` names it")->required();
  set->add_option("value", o->value, "its new value")->required();
  verbs.add(set, [&where, o] {
    auto env = open_environment(where);
    if (!env.ok()) return fail(env.error());
    const Status s = privacy::change_setting(*(*env)->store, (*env)->keys, (*env)->clock, o->key, o->value, cli_actor());
    if (!s.ok()) {
      // The field of a settings error is the setting's key, a positional argument, not a flag.
      Error e = s.error();
      if (!e.field.empty()) e.message = e.field + ": " + e.message, e.field.clear();
      return fail(e);
    }
    std::printf("%s = %s\n", o->key.c_str(), o->value.c_str());
    return 0;
  });

  auto* ropa = app.add_subcommand("ropa", "The record of processing activities (GDPR Art. 30)");
  add_data_dir(ropa, where);
  ropa->add_flag("--json", o->json, "machine-readable output");
  verbs.add(ropa, [&where, o] {
    auto env = open_environment(where);
    if (!env.ok()) return fail(env.error());
    auto record = ledgers::record_of_processing(*(*env)->store);
    if (!record.ok()) return fail(record.error());
    std::cout << (o->json ? record->dump(2) + "\n" : ledgers::record_of_processing_text(*record));
    return 0;
  });

  auto* notice = app.add_subcommand("notice",
                                    "The privacy notice, generated from the data map and settings: "
                                    "a summary per category and purpose, your rights");
  add_data_dir(notice, where);
  notice->add_flag("--json", o->json, "machine-readable output: both layers, identifiers beside the words");
  notice->add_flag("--details", o->details,
                   "also the full table: every item with its purposes, basis, period, "
                   "erasure and protection");
  verbs.add(notice, [&where, o] {
    auto env = open_environment(where);
    if (!env.ok()) return fail(env.error());
    auto text = ledgers::privacy_notice(*(*env)->store);
    if (!text.ok()) return fail(text.error());
    std::cout << (o->json ? text->dump(2) + "\n" : ledgers::privacy_notice_text(*text, o->details));
    return 0;
  });
}

}  // namespace

void add_privacy_verbs(CLI::App& app, DataDir& where, Verbs& verbs) {
  add_consent_verbs(app, where, verbs);
  add_disclosure_verbs(app, where, verbs);
  add_hold_verbs(app, where, verbs);
  add_transfer_verbs(app, where, verbs);
  add_document_verbs(app, where, verbs);
}

}  // namespace privox::cli
