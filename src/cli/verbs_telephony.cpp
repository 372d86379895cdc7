// Provisioning for the telephony service: extensions (a company's phone lines) and trunks (the
// carriers' links). Same conventions as every verb: new ids alone on stdout, errors on stderr
// naming the flag, exit codes 2/3/4/1.

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <memory>

#include "accounts/accounts.h"
#include "accounts/business_hours.h"
#include "accounts/extensions.h"
#include "accounts/trunks.h"
#include "callflow/music.h"
#include "ledgers/disclosures.h"
#include "sip/bans.h"
#include "cli/verbs.h"

namespace privox::cli {
namespace {

// What the flags of these verbs parse into. Shared between the option bindings and the closures
// that run the verb, which outlive this file's registration function.
struct TelephonyOptions {
  std::string company_id, id, number, password, member_id, did, label, digest;
  bool unassign = false;
  std::string name, address;
  bool trusted = false;
  bool generate_password = false;
  std::string ban_id;
  bool all = false;
};

std::string or_dash(const std::optional<std::string>& value) { return value.value_or("-"); }

// Runs `body` with the environment's extension and trunk registries.
template <class Body>
int with_registries(const DataDir& where, Body&& body) {
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  accounts::Extensions extensions(*(*env)->store, (*env)->keys, (*env)->clock);
  accounts::Trunks trunks(*(*env)->store, (*env)->keys, (*env)->clock);
  return body(extensions, trunks);
}

// --digest: md5, sha256, or default (follow the company's; for a company, the node's).
constexpr std::string_view kDigestHelp =
    "digest challenges for the phones: md5 (what every common softphone answers), sha256 (SHA-256 only, for "
    "devices that speak RFC 8760), or default (follow the company's; for a company, serve's --digest-challenges)";

Result<std::optional<accounts::DigestChoice>> digest_flag(const std::string& text) {
  if (text == "default") return std::optional<accounts::DigestChoice>();
  const auto choice = accounts::parse_digest_choice(text);
  if (!choice) return invalid("digest", "must be md5, sha256 or default");
  return std::optional<accounts::DigestChoice>(choice);
}

nlohmann::json digest_json(std::optional<accounts::DigestChoice> choice) {
  return choice ? nlohmann::json(accounts::to_string(*choice)) : nlohmann::json("default");
}

int print_id(const Result<std::string>& id) {
  if (!id.ok()) return fail(id.error());
  std::printf("%s\n", id->c_str());
  return 0;
}

// --password (or its environment variable), or --generate-password, which prints the password
// made up on a line of its own after what the verb prints. Returns the --generate-password flag.
CLI::Option* add_password(CLI::App* verb, std::string& password, bool& generate) {
  auto* given = verb->add_option("--password", password,
                                 "the device password, 12-128 printable ASCII characters, not containing the number; "
                                 "only its digest HA1s are stored. Prefer the environment variable: a flag shows in "
                                 "the process list")
                    ->envname("PRIVOX_EXTENSION_PASSWORD");
  auto* made = verb->add_flag("--generate-password", generate,
                              "make up a strong password (24 characters) and print it once, on its own line");
  made->excludes(given);
  return given;
}

// The password to use, or the error naming --password when there is none.
Result<std::string> password_to_use(const CLI::Option* given, bool generate, const std::string& password,
                                    std::string_view number) {
  if (generate) return accounts::generate_device_password(number);
  if (given->count() == 0 && password.empty())
    return invalid("password", "give --password (or PRIVOX_EXTENSION_PASSWORD) or --generate-password");
  return password;
}


// A business-hours refusal on the flag that carried it: a day's (hours.tue) on --set, the
// holidays' on --add, so that the message still names the field.
int fail_hours(Error e, std::string_view flag) {
  if (e.field.starts_with("hours.") || e.field == "holidays") {
    e.message = fmt::format("{}: {}", e.field, e.message);
    e.field = std::string(flag);
  }
  return fail(e);
}

// "mon=09:00-12:30,13:30-17:30" into the week; the day's errors name hours.mon.
Status apply_day_flag(accounts::WeekHours& week, std::string_view flag) {
  const size_t eq = flag.find('=');
  const auto day = accounts::weekday_of(flag.substr(0, eq));
  if (eq == std::string_view::npos || !day)
    return invalid("set", fmt::format("'{}' is not DAY=HH:MM-HH:MM[,HH:MM-HH:MM] with DAY one of mon..sun", flag));
  PRIVOX_ASSIGN(week[*day], accounts::parse_day_hours(flag.substr(eq + 1),
                                                      fmt::format("hours.{}", accounts::weekday_key(*day))));
  return {};
}

void print_hours(const accounts::CompanyHours& hours) {
  if (!hours.week) std::printf("hours: not set\n");
  for (size_t day = 0; hours.week && day < hours.week->size(); ++day) {
    std::string shown;
    for (const accounts::OpenInterval& i : (*hours.week)[day]) shown += (shown.empty() ? "" : ",") + accounts::format_interval(i);
    std::printf("%s %s\n", std::string(accounts::weekday_key(day)).c_str(), shown.empty() ? "closed" : shown.c_str());
  }
  for (const accounts::Holiday& h : hours.holidays) std::printf("holiday %s %s\n", h.date.c_str(), h.label.c_str());
}

struct HoursFlags {
  std::string company_id, add, label, remove;
  std::vector<std::string> set, closed;
  bool clear = false;
};

struct MusicFlags {
  std::string company_id, file;
  bool clear = false, show = false;
};

// Reads at most one byte past the limit: a larger file is refused without holding all of it.
Result<std::vector<uint8_t>> read_music_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return invalid("file", "cannot read " + path);
  std::vector<uint8_t> wav(callflow::kMaxMusicBytes + 1);
  in.read(reinterpret_cast<char*>(wav.data()), static_cast<std::streamsize>(wav.size()));
  wav.resize(static_cast<size_t>(in.gcount()));
  if (wav.size() > callflow::kMaxMusicBytes) return invalid("file", "the file is larger than 16 MB");
  return wav;
}

// What the company plays to held callers now; the refusal of an upload names --file.
int run_company_music(const DataDir& where, const MusicFlags& f) {
  if (f.clear + f.show + !f.file.empty() != 1) return fail(invalid("file", "give one of --file WAV, --clear or --show"));
  auto env = open_environment(where);
  if (!env.ok()) return fail(env.error());
  callflow::CompanyMusic music(*(*env)->store, (*env)->keys, (*env)->clock);
  if (f.clear) {
    if (Status s = music.clear(f.company_id, cli_actor()); !s.ok()) return fail(s.error());
  } else if (!f.file.empty()) {
    auto wav = read_music_file(f.file);
    if (!wav.ok()) return fail(wav.error());
    auto set = music.set(f.company_id, *wav, cli_actor());
    if (!set.ok()) {
      Error e = set.error();
      if (e.field == "audio") e.field = "file";
      return fail(e);
    }
  }
  auto found = music.find(f.company_id);
  if (!found.ok()) return fail(found.error());
  if (!*found) std::printf("music: the node's default\n");
  else std::printf("music: %lld ms\n", static_cast<long long>((*found)->duration_ms));
  return 0;
}

// `privox company music` (callflow/music.h).
void add_music_verb(CLI::App& app, DataDir& where, Verbs& verbs) {
  auto flags = std::make_shared<MusicFlags>();
  auto* verb = app.get_subcommand("company")->add_subcommand(
      "music", "Upload (a WAV of 5 s to 10 min), show or clear the music a company's held callers hear (audited)");
  add_data_dir(verb, where);
  verb->add_option("--id", flags->company_id, "the company's id")->required();
  verb->add_option("--file", flags->file, "the WAV file to upload; replaces the company's music");
  verb->add_flag("--clear", flags->clear, "remove the company's music: held callers hear the node's default");
  verb->add_flag("--show", flags->show, "print the company's music's duration, or that it has none");
  verbs.add(verb, [&where, flags] { return run_company_music(where, *flags); });
}

// `privox company hours` and `privox company holiday` (accounts/business_hours.h).
void add_hours_verbs(CLI::App& app, DataDir& where, Verbs& verbs) {
  CLI::App* company = app.get_subcommand("company");
  auto flags = std::make_shared<HoursFlags>();
  auto* hours = company->add_subcommand(
      "hours", "Show or set a company's business hours per weekday, in its time zone (the receptionist and the "
               "fraud rules' off-hours rule)");
  add_data_dir(hours, where);
  hours->add_option("--id", flags->company_id, "the company's id")->required();
  hours->add_option("--set", flags->set, "DAY=HH:MM-HH:MM[,HH:MM-HH:MM] (DAY mon..sun, up to 4 intervals); repeatable");
  hours->add_option("--closed", flags->closed, "a weekday (mon..sun) the company is closed all day; repeatable");
  hours->add_flag("--clear", flags->clear, "forget the week: the company has no hours set");
  verbs.add(hours, [&where, flags] {
    auto env = open_environment(where);
    if (!env.ok()) return fail(env.error());
    accounts::BusinessHours store(*(*env)->store, (*env)->keys, (*env)->clock);
    const bool change = flags->clear || !flags->set.empty() || !flags->closed.empty();
    auto result = !change ? store.get(flags->company_id)
                          : store.update(flags->company_id, [&](accounts::CompanyHours& h) -> Status {
                              if (flags->clear) h.week.reset();
                              if (flags->set.empty() && flags->closed.empty()) return {};
                              if (!h.week) h.week.emplace();
                              for (const std::string& s : flags->set) PRIVOX_TRY(apply_day_flag(*h.week, s));
                              for (const std::string& c : flags->closed) {
                                const auto day = accounts::weekday_of(c);
                                if (!day) return invalid("closed", fmt::format("'{}' is not a weekday mon..sun", c));
                                (*h.week)[*day].clear();
                              }
                              return {};
                            }, cli_actor());
    if (!result.ok()) return fail_hours(result.error(), "set");
    print_hours(*result);
    return 0;
  });

  auto* holiday = company->add_subcommand("holiday", "Add or remove a date a company is closed all day");
  add_data_dir(holiday, where);
  holiday->add_option("--id", flags->company_id, "the company's id")->required();
  auto* add_opt = holiday->add_option("--add", flags->add, "the date, YYYY-MM-DD in the company's time zone");
  holiday->add_option("--label", flags->label, "a short name such as \"Christmas Day\" (with --add)");
  auto* remove_opt = holiday->add_option("--remove", flags->remove, "the date to remove, YYYY-MM-DD");
  add_opt->excludes(remove_opt);
  verbs.add(holiday, [&where, flags, add_opt, remove_opt] {
    if (add_opt->count() == 0 && remove_opt->count() == 0) return fail(invalid("add", "give --add DATE or --remove DATE"));
    auto env = open_environment(where);
    if (!env.ok()) return fail(env.error());
    accounts::BusinessHours store(*(*env)->store, (*env)->keys, (*env)->clock);
    auto result = store.update(flags->company_id, [&](accounts::CompanyHours& h) -> Status {
      if (add_opt->count() > 0) {
        h.holidays.push_back({flags->add, flags->label});
        return {};
      }
      const auto gone = std::remove_if(h.holidays.begin(), h.holidays.end(),
                                       [&](const accounts::Holiday& d) { return d.date == flags->remove; });
      if (gone == h.holidays.end())
        return Error{ErrorCode::not_found, "remove", fmt::format("the company has no holiday on '{}'", flags->remove)};
      h.holidays.erase(gone, h.holidays.end());
      return {};
    }, cli_actor());
    if (!result.ok()) return fail_hours(result.error(), "add");
    print_hours(*result);
    return 0;
  });
}
}  // namespace

void add_telephony_verbs(CLI::App& app, DataDir& where, Verbs& verbs) {
  auto opts = std::make_shared<TelephonyOptions>();

  auto* extension = app.add_subcommand("extension", "Extensions: a company's phone lines")->require_subcommand(1);

  auto* ext_add = extension->add_subcommand("add", "Add an extension; prints its id");
  add_data_dir(ext_add, where);
  ext_add->add_option("--company", opts->company_id, "the company's id")->required();
  ext_add->add_option("--number", opts->number, "the extension number, 2-8 digits, unique in the company")
      ->required();
  auto* add_given = add_password(ext_add, opts->password, opts->generate_password);
  auto* member_opt = ext_add->add_option("--member", opts->member_id, "id of the member who uses the line");
  auto* did_opt =
      ext_add->add_option("--did", opts->did, "the line's public number (E.164, or national in the company's country)");
  ext_add->add_option("--label", opts->label, "the company's name for the line, such as \"Reception desk\"");
  ext_add->add_option("--digest", opts->digest, std::string(kDigestHelp))->default_str("default");
  verbs.add(ext_add, [&where, opts, member_opt, did_opt, add_given] {
    auto password = password_to_use(add_given, opts->generate_password, opts->password, opts->number);
    if (!password.ok()) return fail(password.error());
    auto digest = digest_flag(opts->digest.empty() ? "default" : opts->digest);
    if (!digest.ok()) return fail(digest.error());
    return with_registries(where, [&](accounts::Extensions& extensions, accounts::Trunks&) {
      accounts::NewExtension input{opts->company_id, opts->number, *password, std::nullopt, std::nullopt};
      if (member_opt->count() > 0) input.member_id = opts->member_id;
      if (did_opt->count() > 0) input.did = opts->did;
      const int rc = print_id(extensions.add_extension(input, cli_actor(), {opts->label, *digest}));
      if (rc == 0 && opts->generate_password) std::printf("%s\n", password->c_str());
      return rc;
    });
  });

  auto* ext_list = extension->add_subcommand(
      "list", "List a company's extensions, one a line: id, number, SIP user, DID, member id (- when none)");
  add_data_dir(ext_list, where);
  ext_list->add_option("--company", opts->company_id, "the company's id")->required();
  verbs.add(ext_list, [&where, opts] {
    return with_registries(where, [&](accounts::Extensions& extensions, accounts::Trunks&) {
      auto list = extensions.list(opts->company_id);
      if (!list.ok()) return fail(list.error());
      for (const accounts::Extension& e : *list)
        std::printf("%s\t%s\t%s\t%s\t%s\n", e.id.c_str(), e.number.c_str(), e.sip_user.c_str(), or_dash(e.did).c_str(),
                    or_dash(e.member_id).c_str());
      return 0;
    });
  });

  auto* ext_show = extension->add_subcommand("show", "Show an extension and what its phones are configured with");
  add_data_dir(ext_show, where);
  ext_show->add_option("--id", opts->id, "extension id")->required();
  verbs.add(ext_show, [&where, opts] {
    return with_registries(where, [&](accounts::Extensions& extensions, accounts::Trunks&) {
      auto e = extensions.find(opts->id);
      if (!e.ok()) return fail(e.error());
      const nlohmann::json shown = {
          {"id", e->id},
          {"company_id", e->company_id},
          {"number", e->number},
          {"sip_user", e->sip_user},
          {"realm", accounts::kDigestRealm},
          {"did", e->did ? nlohmann::json(*e->did) : nlohmann::json(nullptr)},
          {"member_id", e->member_id ? nlohmann::json(*e->member_id) : nlohmann::json(nullptr)},
          {"label", e->label},
          {"digest", digest_json(e->digest)},
          {"created_at", format_utc(e->created_at_us)},
      };
      std::printf("%s\n", shown.dump(2).c_str());
      return 0;
    });
  });

  auto* ext_update = extension->add_subcommand(
      "update", "Rename an extension, assign it to a member or unassign it, or change its digest challenges");
  add_data_dir(ext_update, where);
  ext_update->add_option("--id", opts->id, "extension id")->required();
  auto* label_opt = ext_update->add_option("--label", opts->label, "the line's new label (\"\" removes it)");
  auto* to_member = ext_update->add_option("--member", opts->member_id, "assign the line to this active member");
  auto* unassign = ext_update->add_flag("--unassign", opts->unassign, "assign the line to no one");
  unassign->excludes(to_member);
  auto* digest_opt = ext_update->add_option("--digest", opts->digest, std::string(kDigestHelp));
  verbs.add(ext_update, [&where, opts, label_opt, to_member, digest_opt] {
    accounts::ExtensionChange change;
    if (label_opt->count() > 0) change.label = opts->label;
    if (to_member->count() > 0) change.member_id = std::optional<std::string>(opts->member_id);
    if (opts->unassign) change.member_id = std::optional<std::string>();
    if (digest_opt->count() > 0) {
      auto digest = digest_flag(opts->digest);
      if (!digest.ok()) return fail(digest.error());
      change.digest = *digest;
    }
    return with_registries(where, [&](accounts::Extensions& extensions, accounts::Trunks&) {
      if (Status s = extensions.update(opts->id, change, cli_actor()); !s.ok()) return fail(s.error());
      std::printf("extension %s updated\n", opts->id.c_str());
      return 0;
    });
  });

  // `privox company digest`: beside `company add` (main.cpp), the company's default for its lines.
  {
    CLI::App* company = app.get_subcommand("company");  // main.cpp adds it before these verbs
    auto* company_digest = company->add_subcommand(
        "digest", "Show or set the digest challenges a company's phones get (lines with their own keep theirs)");
    add_data_dir(company_digest, where);
    company_digest->add_option("--id", opts->company_id, "the company's id")->required();
    auto* set_opt = company_digest->add_option("--set", opts->digest, std::string(kDigestHelp));
    verbs.add(company_digest, [&where, opts, set_opt] {
      return with_registries(where, [&](accounts::Extensions& extensions, accounts::Trunks&) {
        if (set_opt->count() > 0) {
          auto digest = digest_flag(opts->digest);
          if (!digest.ok()) return fail(digest.error());
          if (Status s = extensions.set_company_digest(opts->company_id, *digest, cli_actor()); !s.ok())
            return fail(s.error());
        }
        auto current = extensions.company_digest(opts->company_id);
        if (!current.ok()) return fail(current.error());
        std::printf("%s\n", digest_json(*current).get<std::string>().c_str());
        return 0;
      });
    });
  }

  // `privox company encryption`: whether the company's phones must use TLS and SRTP (issue 16).
  {
    CLI::App* company = app.get_subcommand("company");
    auto choice = std::make_shared<std::pair<std::string, std::string>>();  // company id, setting
    auto* company_encryption = company->add_subcommand(
        "encryption", "Show or set whether a company's phones must register and call over TLS with SRTP");
    add_data_dir(company_encryption, where);
    company_encryption->add_option("--id", choice->first, "the company's id")->required();
    auto* set_opt = company_encryption->add_option("--set", choice->second, "required or optional");
    verbs.add(company_encryption, [&where, choice, set_opt] {
      return with_registries(where, [&](accounts::Extensions& extensions, accounts::Trunks&) {
        if (set_opt->count() > 0) {
          if (choice->second != "required" && choice->second != "optional")
            return fail(invalid("set", "must be required or optional"));
          if (Status s = extensions.set_company_encryption(choice->first, choice->second == "required", cli_actor());
              !s.ok())
            return fail(s.error());
        }
        auto current = extensions.company_requires_encryption(choice->first);
        if (!current.ok()) return fail(current.error());
        std::printf("%s\n", *current ? "required" : "optional");
        return 0;
      });
    });
  }

  // `privox company time-zone`: the zone its business hours are kept in (accounts/time_zone.h).
  {
    CLI::App* company = app.get_subcommand("company");
    auto zone = std::make_shared<std::pair<std::string, std::string>>();  // company id, zone to set
    auto* company_zone = company->add_subcommand(
        "time-zone", "Show or set the time zone of a company's business hours (the fraud rules' off-hours rule)");
    add_data_dir(company_zone, where);
    company_zone->add_option("--id", zone->first, "the company's id")->required();
    auto* set_opt = company_zone->add_option("--set", zone->second, "an IANA time zone such as Europe/London, or UTC");
    verbs.add(company_zone, [&where, zone, set_opt] {
      auto env = open_environment(where);
      if (!env.ok()) return fail(env.error());
      accounts::Accounts accounts(*(*env)->store, (*env)->keys, (*env)->clock);
      if (set_opt->count() > 0)
        if (Status s = accounts.set_time_zone(zone->first, zone->second, cli_actor()); !s.ok()) return fail(s.error());
      auto current = accounts.company(zone->first);
      if (!current.ok()) return fail(current.error());
      std::printf("%s\n", current->time_zone.c_str());
      return 0;
    });
  }

  auto* ext_remove = extension->add_subcommand(
      "remove", "Remove an extension: its phones' registrations go and its number and direct number become free");
  add_data_dir(ext_remove, where);
  ext_remove->add_option("--id", opts->id, "extension id")->required();
  verbs.add(ext_remove, [&where, opts] {
    return with_registries(where, [&](accounts::Extensions& extensions, accounts::Trunks&) {
      if (Status s = extensions.remove(opts->id, cli_actor()); !s.ok()) return fail(s.error());
      std::printf("extension %s removed; every node drops it within a second\n", opts->id.c_str());
      return 0;
    });
  });

  auto* ext_reset = extension->add_subcommand("reset-password", "Give an extension a new device password");
  add_data_dir(ext_reset, where);
  ext_reset->add_option("--id", opts->id, "extension id")->required();
  auto* reset_given = add_password(ext_reset, opts->password, opts->generate_password);
  verbs.add(ext_reset, [&where, opts, reset_given] {
    return with_registries(where, [&](accounts::Extensions& extensions, accounts::Trunks&) {
      std::string number;
      if (opts->generate_password) {
        auto line = extensions.find(opts->id);
        if (!line.ok()) return fail(line.error());
        number = line->number;
      }
      auto password = password_to_use(reset_given, opts->generate_password, opts->password, number);
      if (!password.ok()) return fail(password.error());
      if (Status s = extensions.reset_password(opts->id, *password, cli_actor()); !s.ok()) return fail(s.error());
      std::printf("password of extension %s reset; its phones need the new one\n", opts->id.c_str());
      if (opts->generate_password) std::printf("%s\n", password->c_str());
      return 0;
    });
  });

  auto* trunk = app.add_subcommand("trunk", "Trunks: the carriers' links to the public network")->require_subcommand(1);

  auto* trunk_add = trunk->add_subcommand("add", "Add a carrier trunk; prints its id");
  add_data_dir(trunk_add, where);
  trunk_add->add_option("--name", opts->name, "a unique name for the trunk")->required();
  trunk_add->add_option("--address", opts->address,
                        "the carrier's SIP address HOST:PORT ([IPv6]:PORT): privox sends to PORT, and takes "
                        "requests from HOST on any port as the trunk's")
      ->required();
  trunk_add->add_flag("--trusted", opts->trusted,
                      "take its calls and messages without digest authentication; it is recognised by its IP "
                      "address alone, any source port, so HOST must be an IP address (a REGISTER is always "
                      "challenged)");
  verbs.add(trunk_add, [&where, opts] {
    auto env = open_environment(where);
    if (!env.ok()) return fail(env.error());
    const ledgers::DisclosureRegister disclosures(*(*env)->store, (*env)->keys, (*env)->clock);
    return print_id(disclosures.add_carrier_trunk(opts->name, opts->address, opts->trusted, cli_actor()));
  });

  auto* trunk_list =
      trunk->add_subcommand("list", "List the trunks, one a line: id, name, address, trusted or untrusted");
  add_data_dir(trunk_list, where);
  verbs.add(trunk_list, [&where] {
    return with_registries(where, [&](accounts::Extensions&, accounts::Trunks& trunks) {
      auto list = trunks.list_trunks();
      if (!list.ok()) return fail(list.error());
      for (const accounts::Trunk& t : *list)
        std::printf("%s\t%s\t%s\t%s\n", t.id.c_str(), t.name.c_str(), accounts::format_trunk_address(t.address).c_str(),
                    t.trusted ? "trusted" : "untrusted");
      return 0;
    });
  });

  // SIP bans (sip/bans.h): sources that failed digest authentication too often.
  auto* ban = app.add_subcommand("ban", "SIP bans: sources that failed authentication too often")->require_subcommand(1);

  auto* ban_list = ban->add_subcommand(
      "list", "List the SIP bans in force, one a line: id, banned at, until, strikes, reason, state (active, lifted "
              "or over); the store knows no address, only its keyed hash (the id)");
  add_data_dir(ban_list, where);
  ban_list->add_flag("--all", opts->all, "also the bans that are over or lifted, while their rows are kept (a day)");
  ban_list->add_option("--address", opts->address, "only the ban of this address (IPv6: its /64), if it has one");
  verbs.add(ban_list, [&where, opts] {
    auto env = open_environment(where);
    if (!env.ok()) return fail(env.error());
    sip::Bans bans(*(*env)->store, (*env)->keys, (*env)->clock);
    std::string only;
    if (!opts->address.empty()) {
      auto id = bans.id_of(opts->address);
      if (!id.ok()) return fail(id.error());
      only = *id;
    }
    auto list = bans.list(opts->all || !only.empty());
    if (!list.ok()) return fail(list.error());
    const int64_t now = (*env)->clock.now_us();
    for (const sip::StoredBan& b : *list) {
      if (!only.empty() && b.id != only) continue;
      const char* state = b.lifted_at_us ? "lifted" : b.active(now) ? "active" : "over";
      std::printf("%s\t%s\t%s\t%lld\t%s\t%s\n", b.id.c_str(), format_utc(b.banned_at_us).c_str(),
                  format_utc(b.lifted_at_us.value_or(b.banned_until_us)).c_str(), static_cast<long long>(b.strikes),
                  b.reason.c_str(), state);
    }
    return 0;
  });

  // Log lines name a source by this id, never by its address (sip/source_guard.h).
  auto* ban_id = ban->add_subcommand(
      "id", "Print the id a source has in bans and in privox's log lines (source_id=), banned or not");
  add_data_dir(ban_id, where);
  ban_id->add_option("--address", opts->address, "an IPv4 or IPv6 address (IPv6: its /64 is the source)")->required();
  verbs.add(ban_id, [&where, opts] {
    auto env = open_environment(where);
    if (!env.ok()) return fail(env.error());
    auto id = sip::Bans(*(*env)->store, (*env)->keys, (*env)->clock).id_of(opts->address);
    if (!id.ok()) return fail(id.error());
    std::printf("%s\n", id->c_str());
    return 0;
  });

  auto* ban_lift = ban->add_subcommand("lift", "Lift a SIP ban now, on every node (a ban within a day after counts as a repeat)");
  add_data_dir(ban_lift, where);
  auto* lift_id = ban_lift->add_option("--id", opts->ban_id, "the ban's id, as ban list shows it");
  auto* lift_address = ban_lift->add_option("--address", opts->address, "the banned address (IPv6: any of its /64)");
  lift_id->excludes(lift_address);
  verbs.add(ban_lift, [&where, opts, lift_id, lift_address] {
    if (lift_id->count() == 0 && lift_address->count() == 0) return fail(invalid("id", "give --id or --address"));
    auto env = open_environment(where);
    if (!env.ok()) return fail(env.error());
    sip::Bans bans(*(*env)->store, (*env)->keys, (*env)->clock);
    std::string id = opts->ban_id;
    if (lift_address->count() > 0) {
      auto found = bans.id_of(opts->address);
      if (!found.ok()) return fail(found.error());
      id = *found;
    }
    if (Status s = bans.lift(id, cli_actor()); !s.ok()) return fail(s.error());
    std::printf("ban %s lifted\n", id.c_str());
    return 0;
  });
  add_hours_verbs(app, where, verbs);
  add_music_verb(app, where, verbs);
}

}  // namespace privox::cli
