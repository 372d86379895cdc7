#include "callflow/receptionist.h"

#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>

#include "accounts/accounts.h"
#include "accounts/company_closure.h"
#include "accounts/directory_log.h"
#include "accounts/extensions.h"
#include "accounts/validation.h"
#include "callflow/target_checks.h"
#include "common/ids.h"
#include "common/log.h"
#include "media/opus.h"
#include "media/prompt.h"
#include "privacy/audit.h"
#include "privacy/audit_record.h"
#include "privacy/datamap.h"

namespace privox::callflow {
namespace {

// What a menu's greeting may be: as a line's voicemail greeting (voicemail/greetings.h), a WAV of
// at most 16 MB that plays for 1 to 60 seconds.
constexpr media::PromptLimits kMenuGreetingLimits{kMaxMenuGreetingBytes, 60'000, 1'000};
// The field name the greeting is sealed under, bound into the ciphertext with the menu's id.
constexpr std::string_view kMenuGreetingSealedAs = "menu_greeting";

constexpr std::string_view kMenuSelect =
    "SELECT id, company_id, name, timeout_seconds, timeout_kind, timeout_ref, "
    "CASE WHEN greeting_enc IS NULL THEN 0 ELSE 1 END, greeting_ms FROM receptionist_menus";
constexpr std::string_view kReceptionistSelect =
    "SELECT id, company_id, number, name, did, open_menu_id, closed_menu_id FROM receptionists";

void wipe_menu_audio(std::string& clear) {
  if (!clear.empty()) sodium_memzero(clear.data(), clear.size());
  clear.clear();
}

// The blind-index domain of the codes that record a greeting by phone (menu_recording_codes).
constexpr std::string_view kRecordingCodeIndex = "menu_recording_code";
constexpr std::string_view kRecordingClaimActor = "sip:phone-recording";

// A code is only a million guesses wide, so a plain hash in the store would give it away to
// whoever holds a copy. The keyring's blind index is keyed BLAKE2b under a master-derived key that
// never enters the store; binding the menu's id makes each menu's hash its own (as a rights
// request's code is bound to the request).
Bytes recording_code_hash(const privacy::Keyring& keys, const std::string& menu_id, std::string_view code) {
  return keys.blind_index(kRecordingCodeIndex, fmt::format("{}:{}", menu_id, code));
}

bool is_recording_code(std::string_view code) {
  return code.size() == kPhoneRecordingCodeDigits &&
         std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string random_recording_code() {
  std::string code(kPhoneRecordingCodeDigits, '0');
  for (char& digit : code) digit = static_cast<char>('0' + randombytes_uniform(10));  // uniform, no modulo bias
  return code;
}

// The proxy passes its own "now" to the claim; the audit entry is stamped with that time.
class ClaimClock final : public Clock {
 public:
  explicit ClaimClock(int64_t now_us) : now_us_(now_us) {}
  int64_t now_us() const override { return now_us_; }

 private:
  int64_t now_us_;
};

Error no_menu(const std::string& id) {
  return Error{ErrorCode::not_found, "menu", fmt::format("no menu has id {}", id)};
}
Error no_receptionist(const std::string& id) {
  return Error{ErrorCode::not_found, "receptionist", fmt::format("no receptionist has id {}", id)};
}

// ---- reading ----

std::optional<MenuAction> menu_action_from(const store::Row& r, size_t kind_column) {
  if (r.is_null(kind_column)) return std::nullopt;
  const std::optional<MenuActionKind> kind = parse_menu_action_kind(r.text(kind_column));
  if (!kind) return std::nullopt;
  return MenuAction{*kind, r.text_or(kind_column + 1, "")};
}

// The menus `where` selects, each with its keys.
Result<std::vector<Menu>> read_menus(store::Session& s, std::string_view where, const store::Params& params) {
  PRIVOX_ASSIGN(store::Rows rows, s.query(fmt::format("{}{} ORDER BY company_id, name, id", kMenuSelect, where), params));
  std::vector<Menu> out;
  out.reserve(rows.size());
  for (const store::Row& r : rows) {
    Menu m;
    m.id = r.text(0);
    m.company_id = r.text(1);
    m.name = r.text(2);
    m.timeout_seconds = static_cast<int>(r.i64(3));
    m.timeout = menu_action_from(r, 4);
    m.has_greeting = r.i64(6) != 0;
    m.greeting_ms = m.has_greeting ? r.i64(7) : 0;
    PRIVOX_ASSIGN(store::Rows keys,
                  s.query("SELECT menu_key, kind, ref FROM receptionist_menu_keys WHERE menu_id = ? ORDER BY menu_key",
                          {m.id}));
    for (const store::Row& k : keys) {
      const std::string key = k.text(0);
      if (key.size() != 1) continue;
      if (std::optional<MenuAction> action = menu_action_from(k, 1)) m.keys.emplace(key[0], std::move(*action));
    }
    out.push_back(std::move(m));
  }
  return out;
}

Result<std::vector<Receptionist>> read_receptionists(store::Session& s, std::string_view where,
                                                     const store::Params& params) {
  PRIVOX_ASSIGN(store::Rows rows,
                s.query(fmt::format("{}{} ORDER BY company_id, number", kReceptionistSelect, where), params));
  std::vector<Receptionist> out;
  out.reserve(rows.size());
  for (const store::Row& r : rows) {
    Receptionist x;
    x.id = r.text(0);
    x.company_id = r.text(1);
    x.number = r.text(2);
    x.name = r.text(3);
    if (!r.is_null(4)) x.did = r.text(4);
    x.open_menu_id = r.text(5);
    if (!r.is_null(6)) x.closed_menu_id = r.text(6);
    out.push_back(std::move(x));
  }
  return out;
}

// ---- checking ----

bool is_receptionist_number(std::string_view number) {
  return number.size() >= 2 && number.size() <= 8 &&
         std::all_of(number.begin(), number.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Status check_menu_fields(const Menu& m) {
  PRIVOX_TRY(check_config_name(m.name, kMaxMenuName));
  if (m.timeout_seconds < kMinMenuTimeoutSeconds || m.timeout_seconds > kMaxMenuTimeoutSeconds)
    return invalid("timeout_seconds",
                   fmt::format("must be {} to {} seconds", kMinMenuTimeoutSeconds, kMaxMenuTimeoutSeconds));
  for (const auto& [key, action] : m.keys)
    if (!is_menu_key(key))
      return invalid(fmt::format("keys.{}", key), "is not a key of a phone's keypad: 0-9, * or #");
  return {};
}

// Whether the company has a menu with this id.
Result<bool> menu_of_company(store::Session& s, const std::string& company_id, const std::string& menu_id) {
  PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT company_id FROM receptionist_menus WHERE id = ?", {menu_id}));
  return !rows.empty() && rows[0].text(0) == company_id;
}

// The action as it will be stored: its target checked as forwarding's are (callflow/target_checks.h),
// a sub-menu one of the company's (or the menu itself), and no ref where none belongs.
Result<MenuAction> check_menu_action(store::Session& s, const Menu& menu, std::string_view country,
                                     const MenuAction& action, const std::string& field) {
  switch (action.kind) {
    case MenuActionKind::line:
    case MenuActionKind::group:
    case MenuActionKind::voicemail:
    case MenuActionKind::external: {
      const TargetKind kind = action.kind == MenuActionKind::line    ? TargetKind::line
                              : action.kind == MenuActionKind::group ? TargetKind::group
                              : action.kind == MenuActionKind::voicemail ? TargetKind::voicemail
                                                                         : TargetKind::external;
      PRIVOX_ASSIGN(const Target target, check_target(s, menu.company_id, country, Target{kind, action.ref}, field));
      return MenuAction{action.kind, target.ref};
    }
    case MenuActionKind::menu: {
      if (action.ref.empty()) return invalid(field, "names no menu");
      if (action.ref == menu.id) return action;  // leads back to itself: the same as repeat
      PRIVOX_ASSIGN(const bool found, menu_of_company(s, menu.company_id, action.ref));
      if (!found)
        return Error{ErrorCode::not_found, field,
                     fmt::format("company {} has no menu with id {}", menu.company_id, action.ref)};
      return action;
    }
    case MenuActionKind::dial_by_extension:
    case MenuActionKind::repeat:
      if (!action.ref.empty()) return invalid(field, fmt::format("{} takes no target", to_string(action.kind)));
      return action;
  }
  return invalid(field, "is not an action");
}

// Every key's action and the timeout's in their stored form.
Status check_menu_in_store(store::Session& s, std::string_view country, Menu& m) {
  for (auto& [key, action] : m.keys) {
    PRIVOX_ASSIGN(action, check_menu_action(s, m, country, action, fmt::format("keys.{}", key)));
  }
  if (m.timeout) {
    PRIVOX_ASSIGN(*m.timeout, check_menu_action(s, m, country, *m.timeout, "timeout"));
  }
  return {};
}

store::Value action_kind_value(const std::optional<MenuAction>& a) {
  return a ? store::Value(std::string(to_string(a->kind))) : store::null_value();
}
store::Value action_ref_value(const std::optional<MenuAction>& a) {
  return a ? store::Value(a->ref) : store::null_value();
}

Status write_menu_keys(store::Session& s, const Menu& m) {
  PRIVOX_TRY(s.exec("DELETE FROM receptionist_menu_keys WHERE menu_id = ?", {m.id}));
  if (m.keys.empty()) return {};
  std::vector<store::Params> rows;
  rows.reserve(m.keys.size());
  for (const auto& [key, action] : m.keys)
    rows.push_back({m.id, std::string(1, key), std::string(to_string(action.kind)), action.ref});
  return s.insert_rows("receptionist_menu_keys", {"menu_id", "menu_key", "kind", "ref"}, rows);
}

// The audit detail of a menu change: ids and kinds, never the name or an external number.
nlohmann::json menu_detail(const Menu& m) {
  nlohmann::json keys = nlohmann::json::object();
  for (const auto& [key, action] : m.keys) keys[std::string(1, key)] = to_string(action.kind);
  return {{"menu_id", m.id},
          {"company_id", m.company_id},
          {"keys", std::move(keys)},
          {"timeout", m.timeout ? nlohmann::json(to_string(m.timeout->kind)) : nlohmann::json(nullptr)}};
}

Status check_receptionist_fields(const Receptionist& r) {
  if (!is_receptionist_number(r.number))
    return invalid("number", fmt::format("'{}' is not a receptionist's number: 2 to 8 digits", r.number));
  PRIVOX_TRY(check_config_name(r.name, kMaxReceptionistName));
  if (r.open_menu_id.empty()) return invalid("open_menu", "a receptionist needs a menu to play while open");
  if (r.closed_menu_id && r.closed_menu_id->empty()) return invalid("closed_menu", "names no menu");
  return {};
}

// The DID in E.164, read in the company's country, that no line, other receptionist or conference
// room has. Never quotes the number back.
Result<std::optional<std::string>> check_receptionist_did(store::Session& s, const Receptionist& r,
                                                          std::string_view country) {
  if (!r.did) return std::optional<std::string>{};
  auto e164 = accounts::normalise_phone(*r.did, country);
  if (!e164.ok())
    return invalid("did", fmt::format("is not a valid phone number in {} (or in international form, +CC...)", country));
  PRIVOX_TRY(check_did_free(s, *e164, {NumberHolder::receptionist, r.id}));
  return std::optional<std::string>{std::move(e164).value()};
}

// What needs the store; returns the receptionist in its stored form (the DID in E.164).
Result<Receptionist> check_receptionist_in_store(store::Session& s, const Receptionist& r, std::string_view country) {
  Receptionist out = r;
  PRIVOX_TRY(check_plan_number_free(s, r.company_id, r.number, {NumberHolder::receptionist, r.id}));
  PRIVOX_ASSIGN(out.did, check_receptionist_did(s, r, country));
  PRIVOX_ASSIGN(const bool open, menu_of_company(s, r.company_id, r.open_menu_id));
  if (!open)
    return Error{ErrorCode::not_found, "open_menu",
                 fmt::format("company {} has no menu with id {}", r.company_id, r.open_menu_id)};
  if (r.closed_menu_id) {
    PRIVOX_ASSIGN(const bool closed, menu_of_company(s, r.company_id, *r.closed_menu_id));
    if (!closed)
      return Error{ErrorCode::not_found, "closed_menu",
                   fmt::format("company {} has no menu with id {}", r.company_id, *r.closed_menu_id)};
  }
  return out;
}

nlohmann::json receptionist_detail(const Receptionist& r) {
  return {{"receptionist_id", r.id},
          {"company_id", r.company_id},
          {"has_did", r.did.has_value()},
          {"open_menu_id", r.open_menu_id},
          {"closed_menu_id", r.closed_menu_id ? nlohmann::json(*r.closed_menu_id) : nlohmann::json(nullptr)}};
}

// What, other than the menu itself, sends callers to it; empty when nothing does.
Result<std::string> menu_users(store::Session& s, const std::string& id) {
  PRIVOX_ASSIGN(store::Rows receptionists,
                s.query("SELECT id FROM receptionists WHERE open_menu_id = ? OR closed_menu_id = ? ORDER BY id", {id, id}));
  if (!receptionists.empty())
    return fmt::format("receptionist {} plays this menu: change it first", receptionists[0].text(0));
  PRIVOX_ASSIGN(store::Rows keys, s.query("SELECT menu_id FROM receptionist_menu_keys WHERE kind = 'menu' AND ref = ? "
                                          "AND menu_id <> ? ORDER BY menu_id",
                                          {id, id}));
  if (!keys.empty()) return fmt::format("a key of menu {} leads to this menu: change it first", keys[0].text(0));
  PRIVOX_ASSIGN(store::Rows timeouts, s.query("SELECT id FROM receptionist_menus WHERE timeout_kind = 'menu' AND "
                                              "timeout_ref = ? AND id <> ? ORDER BY id",
                                              {id, id}));
  if (!timeouts.empty())
    return fmt::format("the timeout of menu {} leads to this menu: change it first", timeouts[0].text(0));
  return std::string();
}

// ---- greetings ----

struct EncodedGreeting {
  std::string ogg;
  int64_t duration_ms = 0;
};

// The WAV as 8 kHz Ogg Opus, with its duration; the clear samples are wiped.
Result<EncodedGreeting> encode_menu_greeting(std::span<const uint8_t> wav) {
  PRIVOX_ASSIGN(media::Prompt prompt, media::load_wav(wav, kMenuGreetingLimits));
  EncodedGreeting out{{}, prompt.duration_ms()};
  const Status written = [&]() -> Status {
    PRIVOX_ASSIGN(std::unique_ptr<media::OpusWriter> writer, media::OpusWriter::create(8000));
    PRIVOX_TRY(writer->write(prompt.samples));
    PRIVOX_ASSIGN(out.ogg, writer->finish());
    return {};
  }();
  if (!prompt.samples.empty()) sodium_memzero(prompt.samples.data(), prompt.samples.size() * sizeof(int16_t));
  if (!written.ok()) return written.error();
  return out;
}

// Logs a failed purge (the old greeting's pages left in the store's files) without failing the change.
void purge_menu_audio(store::Store& store, const std::string& menu_id, log::Name event) {
  if (const Status purged = store.purge_deleted(); !purged.ok())
    log::warn("callflow", event, {{"menu", log::Id(menu_id)}, {"error", log::error_code(purged.error())}});
}

}  // namespace

std::string_view to_string(MenuActionKind kind) {
  switch (kind) {
    case MenuActionKind::line:
      return "line";
    case MenuActionKind::group:
      return "group";
    case MenuActionKind::voicemail:
      return "voicemail";
    case MenuActionKind::external:
      return "external";
    case MenuActionKind::menu:
      return "menu";
    case MenuActionKind::dial_by_extension:
      return "dial_by_extension";
    case MenuActionKind::repeat:
      return "repeat";
  }
  return "repeat";
}

std::optional<MenuActionKind> parse_menu_action_kind(std::string_view text) {
  for (const MenuActionKind kind :
       {MenuActionKind::line, MenuActionKind::group, MenuActionKind::voicemail, MenuActionKind::external,
        MenuActionKind::menu, MenuActionKind::dial_by_extension, MenuActionKind::repeat})
    if (text == to_string(kind)) return kind;
  return std::nullopt;
}

bool is_menu_key(char key) { return (key >= '0' && key <= '9') || key == '*' || key == '#'; }

Result<std::vector<Receptionist>> all_receptionists(store::Session& s) { return read_receptionists(s, "", {}); }

Result<std::optional<Receptionist>> receptionist_by_id(store::Session& s, const std::string& id) {
  PRIVOX_ASSIGN(std::vector<Receptionist> found, read_receptionists(s, " WHERE id = ?", {id}));
  if (found.empty()) return std::optional<Receptionist>{};
  return std::optional<Receptionist>{std::move(found[0])};
}

Result<std::vector<Menu>> all_menus(store::Session& s) { return read_menus(s, "", {}); }

Result<std::optional<Menu>> menu_by_id(store::Session& s, const std::string& id) {
  PRIVOX_ASSIGN(std::vector<Menu> found, read_menus(s, " WHERE id = ?", {id}));
  if (found.empty()) return std::optional<Menu>{};
  return std::optional<Menu>{std::move(found[0])};
}

// Not audited: this is the service playing the company's own greeting to its callers, which the
// data map's purpose "service" covers; nobody reads it. What a person does with it is audited.
Result<std::optional<std::string>> greeting_for_caller(store::Session& s, const privacy::Keyring& keys,
                                                       const std::string& menu_id) {
  PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT greeting_enc FROM receptionist_menus WHERE id = ?", {menu_id}));
  if (rows.empty() || rows[0].is_null(0)) return std::optional<std::string>{};
  PRIVOX_ASSIGN(const privacy::subject_keys::OpenKeys open, privacy::subject_keys::load_cached(s, keys, {menu_id}));
  const auto key = open.find(menu_id);
  if (key == open.end())
    return Error{ErrorCode::erased, "menu", fmt::format("the key of menu {} is gone", menu_id)};
  auto audio = privacy::open_field(*key->second, menu_id, kMenuGreetingSealedAs, rows[0].blob(0));
  if (!audio.ok())
    return Error{ErrorCode::corrupt, "menu", fmt::format("the greeting of menu {} does not open", menu_id)};
  return std::optional<std::string>{std::move(audio).value()};
}

Result<std::optional<std::string>> claim_phone_recording_code(store::Session& s, const privacy::Keyring& keys,
                                                              const std::string& company_id, std::string_view code,
                                                              int64_t now_us) {
  if (!is_recording_code(code)) return std::optional<std::string>{};
  PRIVOX_TRY(s.exec("DELETE FROM menu_recording_codes WHERE company_id = ? AND expires_at_us <= ?", {company_id, now_us}));
  PRIVOX_ASSIGN(const store::Rows rows,
                s.query("SELECT menu_id, code_hash FROM menu_recording_codes WHERE company_id = ? ORDER BY menu_id",
                        {company_id}));
  // Every live code of the company is compared, matching or not, each in constant time: how long
  // a guess takes says nothing of how close it came.
  std::optional<std::string> claimed;
  for (const store::Row& r : rows) {
    const Bytes wanted = recording_code_hash(keys, r.text(0), code);
    const Bytes& stored = r.blob(1);
    const bool same = stored.size() == wanted.size() && sodium_memcmp(stored.data(), wanted.data(), wanted.size()) == 0;
    if (same && !claimed) claimed = r.text(0);
  }
  if (!claimed) return claimed;
  PRIVOX_TRY(s.exec("DELETE FROM menu_recording_codes WHERE menu_id = ?", {*claimed}));
  const ClaimClock at(now_us);
  PRIVOX_TRY(privacy::AuditChain(keys, at).append(s, {std::string(kRecordingClaimActor), "receptionist.phone_recording_claim",
                                                      "", "", {{"menu_id", *claimed}, {"company_id", company_id}}}));
  return claimed;
}

Result<int64_t> remove_company_receptionists(store::Session& s, const std::string& company_id, int64_t now_us) {
  PRIVOX_ASSIGN(const std::vector<Receptionist> receptionists, read_receptionists(s, " WHERE company_id = ?", {company_id}));
  PRIVOX_ASSIGN(const store::Rows menus,
                s.query("SELECT id FROM receptionist_menus WHERE company_id = ? ORDER BY id", {company_id}));
  for (const Receptionist& r : receptionists) {
    PRIVOX_TRY(s.exec("DELETE FROM receptionists WHERE id = ?", {r.id}));
    PRIVOX_TRY(accounts::record_directory_change(s, accounts::DirectoryItem::receptionist, r.id, "removed", now_us));
  }
  for (const store::Row& m : menus) {
    const std::string& id = m.text(0);
    PRIVOX_TRY(s.exec("DELETE FROM receptionist_menu_keys WHERE menu_id = ?", {id}));
    PRIVOX_TRY(s.exec("DELETE FROM receptionist_menus WHERE id = ?", {id}));
    PRIVOX_TRY(privacy::subject_keys::destroy(s, id));
    PRIVOX_TRY(accounts::record_directory_change(s, accounts::DirectoryItem::receptionist, id, "menu_removed", now_us));
  }
  return static_cast<int64_t>(receptionists.size() + menus.size());
}

Receptionists::Receptionists(store::Store& store, const privacy::Keyring& keys, const Clock& clock)
    : store_(store), keys_(keys), clock_(clock) {}

// ---- menus ----

Result<std::string> Receptionists::create_menu(const Menu& menu, const std::string& actor) {
  PRIVOX_TRY(accounts::check_id("company", menu.company_id));
  PRIVOX_TRY(check_menu_fields(menu));
  const int64_t now = clock_.now_us();
  Menu m = menu;
  m.id = new_id(now);
  m.has_greeting = false;
  m.greeting_ms = 0;
  const auto body = [&](store::Session& s) -> Status {
    Menu wanted = m;
    PRIVOX_ASSIGN(const accounts::Company company, accounts::lock_company(s, wanted.company_id));
    PRIVOX_TRY(accounts::require_company_open(s, wanted.company_id));
    PRIVOX_TRY(check_menu_in_store(s, company.country, wanted));
    PRIVOX_TRY(s.exec("INSERT INTO receptionist_menus (id, company_id, name, timeout_seconds, timeout_kind, timeout_ref, "
                      "greeting_ms, created_at_us, updated_at_us) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)",
                      {wanted.id, wanted.company_id, wanted.name, int64_t{wanted.timeout_seconds},
                       action_kind_value(wanted.timeout), action_ref_value(wanted.timeout), now, now}));
    PRIVOX_TRY(write_menu_keys(s, wanted));
    // The menu is a subject: its key will seal the greeting, and goes with the menu.
    PRIVOX_TRY(privacy::subject_keys::create(s, keys_, wanted.id, now));
    PRIVOX_TRY(
        privacy::AuditChain(keys_, clock_).append(s, {actor, "receptionist.menu_create", "", "", menu_detail(wanted)}));
    return accounts::record_directory_change(s, accounts::DirectoryItem::receptionist, wanted.id, "menu_added", now);
  };
  PRIVOX_TRY(accounts::write_checked(store_, body, "menu"));
  return m.id;
}

Status Receptionists::update_menu(const Menu& menu, const std::string& actor) {
  PRIVOX_TRY(accounts::check_id("menu", menu.id));
  PRIVOX_TRY(check_menu_fields(menu));
  return store::with_transaction(store_, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(const std::optional<Menu> found, menu_by_id(s, menu.id));
    if (!found) return no_menu(menu.id);
    Menu m = menu;
    m.company_id = found->company_id;  // a menu never moves to another company
    PRIVOX_ASSIGN(const accounts::Company company, accounts::lock_company(s, m.company_id));
    PRIVOX_TRY(check_menu_in_store(s, company.country, m));
    const int64_t now = clock_.now_us();
    PRIVOX_TRY(s.exec("UPDATE receptionist_menus SET name = ?, timeout_seconds = ?, timeout_kind = ?, timeout_ref = ?, "
                      "updated_at_us = ? WHERE id = ?",
                      {m.name, int64_t{m.timeout_seconds}, action_kind_value(m.timeout), action_ref_value(m.timeout),
                       now, m.id}));
    PRIVOX_TRY(write_menu_keys(s, m));
    PRIVOX_TRY(privacy::AuditChain(keys_, clock_).append(s, {actor, "receptionist.menu_update", "", "", menu_detail(m)}));
    return accounts::record_directory_change(s, accounts::DirectoryItem::receptionist, m.id, "menu_updated", now);
  });
}

Status Receptionists::remove_menu(const std::string& id, const std::string& actor) {
  PRIVOX_TRY(accounts::check_id("menu", id));
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(const std::optional<Menu> found, menu_by_id(s, id));
    if (!found) return no_menu(id);
    PRIVOX_TRY(accounts::lock_company(s, found->company_id));
    PRIVOX_ASSIGN(const std::string used_by, menu_users(s, id));
    if (!used_by.empty()) return Error{ErrorCode::conflict, "menu", used_by};
    PRIVOX_TRY(s.exec("DELETE FROM receptionist_menu_keys WHERE menu_id = ?", {id}));
    PRIVOX_TRY(s.exec("DELETE FROM receptionist_menus WHERE id = ?", {id}));
    // Crypto-shredding: any copy of the greeting (a backup) is unreadable once the key is gone.
    PRIVOX_TRY(privacy::subject_keys::destroy(s, id));
    const int64_t now = clock_.now_us();
    PRIVOX_TRY(privacy::AuditChain(keys_, clock_)
                   .append(s, {actor, "receptionist.menu_remove", "", "",
                               {{"menu_id", id}, {"company_id", found->company_id}, {"had_greeting", found->has_greeting}}}));
    return accounts::record_directory_change(s, accounts::DirectoryItem::receptionist, id, "menu_removed", now);
  }));
  purge_menu_audio(store_, id, "receptionist.menu_removed_unpurged");
  return {};
}

Result<Menu> Receptionists::find_menu(const std::string& id) {
  PRIVOX_TRY(accounts::check_id("menu", id));
  std::optional<Menu> found;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(found, menu_by_id(s, id));
    return {};
  }));
  if (!found) return no_menu(id);
  return std::move(*found);
}

Result<std::vector<Menu>> Receptionists::list_menus(const std::string& company_id) {
  PRIVOX_TRY(accounts::check_id("company", company_id));
  std::vector<Menu> out;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_TRY(company_country(s, company_id, "company"));
    PRIVOX_ASSIGN(out, read_menus(s, " WHERE company_id = ?", {company_id}));
    return {};
  }));
  return out;
}

// ---- greetings ----

Result<int64_t> Receptionists::set_greeting(const std::string& menu_id, std::span<const uint8_t> wav,
                                            const std::string& actor) {
  PRIVOX_TRY(accounts::check_id("menu", menu_id));
  PRIVOX_ASSIGN(EncodedGreeting encoded, encode_menu_greeting(wav));
  const int64_t duration_ms = encoded.duration_ms;
  PRIVOX_TRY(set_recorded_greeting(menu_id, encoded.ogg, duration_ms, actor));
  return duration_ms;
}

Status Receptionists::set_recorded_greeting(const std::string& menu_id, std::string& ogg, int64_t duration_ms,
                                            const std::string& actor) {
  std::string clear;
  clear.swap(ogg);  // the caller's buffer is left empty; the clear audio is wiped here
  if (duration_ms < kMenuGreetingLimits.min_ms || duration_ms > kMenuGreetingLimits.max_ms) {
    wipe_menu_audio(clear);
    return invalid("audio", fmt::format("a greeting plays for {} to {} seconds", kMenuGreetingLimits.min_ms / 1000,
                                        kMenuGreetingLimits.max_ms / 1000));
  }
  const Status stored = [&]() -> Status {
    PRIVOX_TRY(accounts::check_id("menu", menu_id));
    return store::with_transaction(store_, store::TxMode::write, [&](store::Session& s) -> Status {
      PRIVOX_ASSIGN(const std::optional<Menu> found, menu_by_id(s, menu_id));
      if (!found) return no_menu(menu_id);
      PRIVOX_TRY(accounts::lock_company(s, found->company_id));
      PRIVOX_ASSIGN(const privacy::subject_keys::OpenKeys open,
                    privacy::subject_keys::load_cached(s, keys_, {menu_id}));
      const auto key = open.find(menu_id);
      if (key == open.end())
        return Error{ErrorCode::erased, "menu",
                     fmt::format("the key of menu {} is gone: no greeting can be sealed", menu_id)};
      // Sealed here, inside the transaction that read the key: a key destroyed meanwhile is never used.
      const Bytes sealed = privacy::seal_field(*key->second, menu_id, kMenuGreetingSealedAs, clear);
      const int64_t now = clock_.now_us();
      PRIVOX_TRY(s.exec("UPDATE receptionist_menus SET greeting_enc = ?, greeting_ms = ?, updated_at_us = ? WHERE id = ?",
                        {sealed, duration_ms, now, menu_id}));
      PRIVOX_TRY(privacy::AuditChain(keys_, clock_)
                     .append(s, {actor, "receptionist.greeting_set", "", "",
                                 {{"menu_id", menu_id}, {"company_id", found->company_id}, {"duration_ms", duration_ms}}}));
      return accounts::record_directory_change(s, accounts::DirectoryItem::receptionist, menu_id, "greeting", now);
    });
  }();
  wipe_menu_audio(clear);
  if (!stored.ok()) return stored.error();
  purge_menu_audio(store_, menu_id, "receptionist.greeting_replaced_unpurged");
  return {};
}

Status Receptionists::delete_greeting(const std::string& menu_id, const std::string& actor) {
  PRIVOX_TRY(accounts::check_id("menu", menu_id));
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(const std::optional<Menu> found, menu_by_id(s, menu_id));
    if (!found) return no_menu(menu_id);
    if (!found->has_greeting)
      return Error{ErrorCode::not_found, "menu", fmt::format("menu {} has no greeting", menu_id)};
    PRIVOX_TRY(accounts::lock_company(s, found->company_id));
    const int64_t now = clock_.now_us();
    PRIVOX_TRY(s.exec("UPDATE receptionist_menus SET greeting_enc = NULL, greeting_ms = 0, updated_at_us = ? WHERE id = ?",
                      {now, menu_id}));
    PRIVOX_TRY(privacy::AuditChain(keys_, clock_)
                   .append(s, {actor, "receptionist.greeting_delete", "", "",
                               {{"menu_id", menu_id}, {"company_id", found->company_id}}}));
    return accounts::record_directory_change(s, accounts::DirectoryItem::receptionist, menu_id, "greeting", now);
  }));
  purge_menu_audio(store_, menu_id, "receptionist.greeting_deleted_unpurged");
  return {};
}

Result<std::string> Receptionists::phone_recording_code(const std::string& menu_id, const std::string& actor) {
  PRIVOX_TRY(accounts::check_id("menu", menu_id));
  std::string code = random_recording_code();
  const Status stored = store::with_transaction(store_, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(const std::optional<Menu> found, menu_by_id(s, menu_id));
    if (!found) return no_menu(menu_id);
    PRIVOX_TRY(accounts::lock_company(s, found->company_id));
    const int64_t expires_at_us = clock_.now_us() + kPhoneRecordingCodeTtlUs;
    // One code per menu: the earlier one, claimed or not, stops working.
    PRIVOX_TRY(s.exec("DELETE FROM menu_recording_codes WHERE menu_id = ?", {menu_id}));
    PRIVOX_TRY(s.exec("INSERT INTO menu_recording_codes (menu_id, company_id, code_hash, expires_at_us) "
                      "VALUES (?, ?, ?, ?)",
                      {menu_id, found->company_id, recording_code_hash(keys_, menu_id, code), expires_at_us}));
    PRIVOX_TRY(privacy::AuditChain(keys_, clock_)
                   .append(s, {actor, "receptionist.phone_recording_code", "", "",
                               {{"menu_id", menu_id}, {"company_id", found->company_id}, {"expires_at_us", expires_at_us}}}));
    return {};
  });
  if (!stored.ok()) {
    sodium_memzero(code.data(), code.size());
    return stored.error();
  }
  return code;
}

Result<std::string> Receptionists::greeting_audio(const std::string& menu_id, const std::string& actor) {
  PRIVOX_TRY(accounts::check_id("menu", menu_id));
  Bytes sealed;
  privacy::subject_keys::WrappedKeys wrapped;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(store::Rows rows,
                  s.query("SELECT company_id, greeting_enc FROM receptionist_menus WHERE id = ?", {menu_id}));
    if (rows.empty()) return no_menu(menu_id);
    if (rows[0].is_null(1)) return Error{ErrorCode::not_found, "menu", fmt::format("menu {} has no greeting", menu_id)};
    sealed = rows[0].blob(1);
    PRIVOX_ASSIGN(wrapped, privacy::subject_keys::read_wrapped(s, {menu_id}));
    PRIVOX_TRY(privacy::AuditChain(keys_, clock_)
                   .append(s, {actor, "receptionist.greeting_listen", "",
                               std::string(privacy::to_string(privacy::Purpose::service)),
                               {{"menu_id", menu_id}, {"company_id", rows[0].text(0)}}}));
    return {};
  }));
  // Opened after the commit, through the keyring's cache.
  const auto found = wrapped.find(menu_id);
  if (found == wrapped.end()) {
    keys_.forget_unwrapped(menu_id);
    return Error{ErrorCode::erased, "menu", fmt::format("the key of menu {} is gone", menu_id)};
  }
  PRIVOX_ASSIGN(std::shared_ptr<const privacy::SecretKey> key, keys_.unwrap_cached(found->second, menu_id));
  auto audio = privacy::open_field(*key, menu_id, kMenuGreetingSealedAs, sealed);
  if (!audio.ok())
    return Error{ErrorCode::corrupt, "menu", fmt::format("the greeting of menu {} does not open", menu_id)};
  return std::move(audio).value();
}

// ---- receptionists ----

Result<std::string> Receptionists::create(const Receptionist& receptionist, const std::string& actor) {
  PRIVOX_TRY(accounts::check_id("company", receptionist.company_id));
  PRIVOX_TRY(check_receptionist_fields(receptionist));
  const int64_t now = clock_.now_us();
  Receptionist r = receptionist;
  r.id = new_id(now);
  const auto body = [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(const accounts::Company company, accounts::lock_company(s, r.company_id));
    PRIVOX_TRY(accounts::require_company_open(s, r.company_id));
    PRIVOX_ASSIGN(const Receptionist checked, check_receptionist_in_store(s, r, company.country));
    PRIVOX_TRY(s.exec("INSERT INTO receptionists (id, company_id, number, name, did, open_menu_id, closed_menu_id, "
                      "created_at_us, updated_at_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      {checked.id, checked.company_id, checked.number, checked.name,
                       checked.did ? store::Value(*checked.did) : store::null_value(), checked.open_menu_id,
                       checked.closed_menu_id ? store::Value(*checked.closed_menu_id) : store::null_value(), now, now}));
    // A receptionist is a subject of its own: the parties of the calls it answers are sealed under
    // its key (traffic/). The key outlives the receptionist, as those records must until
    // retention anonymises them.
    PRIVOX_TRY(privacy::subject_keys::create(s, keys_, checked.id, now));
    PRIVOX_TRY(privacy::AuditChain(keys_, clock_)
                   .append(s, {actor, "receptionist.create", "", "", receptionist_detail(checked)}));
    return accounts::record_directory_change(s, accounts::DirectoryItem::receptionist, checked.id, "added", now);
  };
  PRIVOX_TRY(accounts::write_checked(store_, body, "number"));
  return r.id;
}

Status Receptionists::update(const Receptionist& receptionist, const std::string& actor) {
  PRIVOX_TRY(accounts::check_id("receptionist", receptionist.id));
  PRIVOX_TRY(check_receptionist_fields(receptionist));
  const auto body = [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(const std::optional<Receptionist> found, receptionist_by_id(s, receptionist.id));
    if (!found) return no_receptionist(receptionist.id);
    Receptionist r = receptionist;
    r.company_id = found->company_id;  // a receptionist never moves to another company
    PRIVOX_ASSIGN(const accounts::Company company, accounts::lock_company(s, r.company_id));
    PRIVOX_ASSIGN(const Receptionist checked, check_receptionist_in_store(s, r, company.country));
    const int64_t now = clock_.now_us();
    PRIVOX_TRY(s.exec("UPDATE receptionists SET number = ?, name = ?, did = ?, open_menu_id = ?, closed_menu_id = ?, "
                      "updated_at_us = ? WHERE id = ?",
                      {checked.number, checked.name, checked.did ? store::Value(*checked.did) : store::null_value(),
                       checked.open_menu_id,
                       checked.closed_menu_id ? store::Value(*checked.closed_menu_id) : store::null_value(), now,
                       checked.id}));
    PRIVOX_TRY(privacy::AuditChain(keys_, clock_)
                   .append(s, {actor, "receptionist.update", "", "", receptionist_detail(checked)}));
    return accounts::record_directory_change(s, accounts::DirectoryItem::receptionist, checked.id, "updated", now);
  };
  return accounts::write_checked(store_, body, "number");
}

Status Receptionists::remove(const std::string& id, const std::string& actor) {
  PRIVOX_TRY(accounts::check_id("receptionist", id));
  return store::with_transaction(store_, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(const std::optional<Receptionist> found, receptionist_by_id(s, id));
    if (!found) return no_receptionist(id);
    PRIVOX_TRY(accounts::lock_company(s, found->company_id));
    PRIVOX_TRY(s.exec("DELETE FROM receptionists WHERE id = ?", {id}));
    const int64_t now = clock_.now_us();
    PRIVOX_TRY(privacy::AuditChain(keys_, clock_)
                   .append(s, {actor, "receptionist.remove", "", "",
                               {{"receptionist_id", id}, {"company_id", found->company_id}}}));
    return accounts::record_directory_change(s, accounts::DirectoryItem::receptionist, id, "removed", now);
  });
}

Result<Receptionist> Receptionists::find(const std::string& id) {
  PRIVOX_TRY(accounts::check_id("receptionist", id));
  std::optional<Receptionist> found;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(found, receptionist_by_id(s, id));
    return {};
  }));
  if (!found) return no_receptionist(id);
  return std::move(*found);
}

Result<std::vector<Receptionist>> Receptionists::list(const std::string& company_id) {
  PRIVOX_TRY(accounts::check_id("company", company_id));
  std::vector<Receptionist> out;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_TRY(company_country(s, company_id, "company"));
    PRIVOX_ASSIGN(out, read_receptionists(s, " WHERE company_id = ?", {company_id}));
    return {};
  }));
  return out;
}

}  // namespace privox::callflow
