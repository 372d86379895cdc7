#pragma once
// The virtual receptionist (issue 15): a number of the company's plan, and optionally one of its
// public numbers (a DID), that privox answers itself and plays a menu: "for sales press 1". Which
// menu plays depends on the company's business hours (accounts/business_hours.h): the open menu
// while the company is open, the closed menu (when set) after hours and on holidays.
//
// A menu is the company's configuration: a name, a greeting (uploaded WAV or recorded by phone; the
// Debian prompt package's default when none), what each key does, and what happens when the
// caller presses nothing for `timeout_seconds` after the greeting (the timeout action; without one
// the menu plays again, `kMaxMenuPlays` times in all, then the call ends). A key's action sends the
// caller to a line, a ring group, a line's voicemail box or an external number through the trunk
// (callflow/targets.h), to another menu (sub-menus; a menu may lead back to its parent, that is
// navigation, not a loop), lets them dial a line's number (dial-by-extension), or repeats the
// menu.
//
// A greeting is a recording of someone's voice, so it is sealed like every recording: each menu is
// a subject of its own (privacy::subject_keys), its greeting sealed under the menu's key as Ogg Opus
// (media/opus.h), and removing the menu destroys the key. Greetings are played to callers without
// an audit entry (the service itself plays them); reads by people are audited.
//
// Every change is one transaction with its audit entry (ids only), a directory change of kind
// `receptionist` naming the receptionist's or the menu's id (so every node's proxy uses it within a
// second) and a lock on the company's row.
//
// A receptionist's number shares the company's plan with its lines and ring groups, and its DID the
// public numbers of every line. accounts/ sits below this folder and does not know receptionists:
// a line created later with a receptionist's number or DID is not refused there (as with ring
// groups). A line removed leaves the menu keys and timeouts that point at it: the proxy falls back,
// as for a forward to it, and target_number shows the line's id.
//
// Thread-safety: safe from any thread; all state is in the store.

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "callflow/targets.h"
#include "common/clock.h"
#include "common/result.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::callflow {

enum class MenuActionKind : uint8_t { line, group, voicemail, external, menu, dial_by_extension, repeat };
std::string_view to_string(MenuActionKind kind);
// The names above; nullopt for anything else.
std::optional<MenuActionKind> parse_menu_action_kind(std::string_view text);

struct MenuAction {
  MenuActionKind kind = MenuActionKind::repeat;
  // line, group, voicemail, external: as Target::ref; menu: the menu's id; otherwise empty.
  std::string ref;
  bool operator==(const MenuAction&) const = default;
};

inline constexpr int kMinMenuTimeoutSeconds = 2;
inline constexpr int kMaxMenuTimeoutSeconds = 30;
inline constexpr int kMaxMenuPlays = 3;
inline constexpr size_t kMaxMenuName = 60;
inline constexpr size_t kMaxReceptionistName = 60;
// What a greeting upload may weigh (set_greeting); it plays for 1 to 60 seconds.
inline constexpr size_t kMaxMenuGreetingBytes = 16u << 20;
// The keys a menu may use: 0-9, '*' and '#'.
bool is_menu_key(char key);

struct Menu {
  std::string id, company_id;
  std::string name;          // what the portal shows; not personal data
  bool has_greeting = false;  // false: callers hear the default prompt
  int64_t greeting_ms = 0;   // the greeting's duration, when it has one
  int timeout_seconds = 5;   // after the greeting ends
  std::optional<MenuAction> timeout;  // nullopt: play again (kMaxMenuPlays in all), then hang up
  std::map<char, MenuAction> keys;    // key ('0'-'9', '*', '#') -> action
  bool operator==(const Menu&) const = default;
};

struct Receptionist {
  std::string id, company_id;
  std::string number;              // 2-8 digits, unique in the company's plan (lines, groups, receptionists, rooms)
  std::string name;                // not personal data
  std::optional<std::string> did;  // E.164; unique among lines', receptionists' and rooms' DIDs
  std::string open_menu_id;        // a menu of the same company
  std::optional<std::string> closed_menu_id;  // after hours and holidays; nullopt: the open menu always
  bool operator==(const Receptionist&) const = default;
};

// For the SIP directory loader (no audio, no audit).
Result<std::vector<Receptionist>> all_receptionists(store::Session& s);
Result<std::optional<Receptionist>> receptionist_by_id(store::Session& s, const std::string& id);
Result<std::vector<Menu>> all_menus(store::Session& s);
Result<std::optional<Menu>> menu_by_id(store::Session& s, const std::string& id);
// The menu's greeting, Ogg Opus in clear, for playing to callers: not audited (the caller wipes
// it once decoded). nullopt when the menu has none; erased when the menu's key is gone.
Result<std::optional<std::string>> greeting_for_caller(store::Session& s, const privacy::Keyring& keys,
                                                       const std::string& menu_id);

// Recording a menu's greeting by phone: an office manager asks the portal for a one-use code
// (Receptionists::phone_recording_code), then from any line of the company dials kRecordMenuCode,
// keys the code and '#', and speaks after the tone. SIP knows lines, not who may manage a menu, so
// the code is that proof: six random digits, kept only as a keyed hash, valid for
// kPhoneRecordingCodeTtlUs, gone once claimed.
inline constexpr std::string_view kRecordMenuCode = "*87";
inline constexpr int64_t kPhoneRecordingCodeTtlUs = 10LL * 60 * 1'000'000;
inline constexpr size_t kPhoneRecordingCodeDigits = 6;
// For the proxy's desk, inside the caller's write transaction: the menu whose unexpired code of
// `company_id` `code` is, compared in constant time, and the code is then gone (one use); nullopt
// when none matches, and for a code that is not kPhoneRecordingCodeDigits digits. `keys` keys the
// code's hash (kept hashed under a key outside the store) and the audit entry: audited
// `receptionist.phone_recording_claim` (menu and company ids only, actor "sip:phone-recording")
// when one matches. The company's expired codes are deleted on the way.
Result<std::optional<std::string>> claim_phone_recording_code(store::Session& s, const privacy::Keyring& keys,
                                                              const std::string& company_id, std::string_view code,
                                                              int64_t now_us);

// A company's service ended (accounts/company_closure.h; retention's company_closures job): its
// receptionists and menus go with its lines, so their DIDs are free again and no greeting outlives
// the contract; each menu's key is destroyed. Inside the caller's transaction, with a directory
// change for each; returns how many receptionists and menus went.
Result<int64_t> remove_company_receptionists(store::Session& s, const std::string& company_id, int64_t now_us);

class Receptionists {
 public:
  Receptionists(store::Store& store, const privacy::Keyring& keys, const Clock& clock);

  // Menus. Errors name the field: `company`, `name`, `timeout_seconds`, `keys.<key>` (not a menu
  // key; a target of another company or not found; a sub-menu of another company), `timeout`.
  Result<std::string> create_menu(const Menu& menu, const std::string& actor);
  Status update_menu(const Menu& menu, const std::string& actor);  // all but id, company_id, greeting
  // Refused (conflict, naming `menu`) while a receptionist or another menu's key or timeout uses it.
  Status remove_menu(const std::string& id, const std::string& actor);
  Result<Menu> find_menu(const std::string& id);
  Result<std::vector<Menu>> list_menus(const std::string& company_id);

  // Greetings: `wav` is checked by media::load_wav (1-60 s, as voicemail greetings) and stored as
  // Ogg Opus sealed under the menu's key; returns its duration in ms. Errors: invalid on "audio"
  // naming what is wrong; not_found on "menu".
  Result<int64_t> set_greeting(const std::string& menu_id, std::span<const uint8_t> wav, const std::string& actor);
  // A greeting recorded by phone (Ogg Opus at 8 kHz from media::Recorder); `ogg` is wiped.
  Status set_recorded_greeting(const std::string& menu_id, std::string& ogg, int64_t duration_ms,
                               const std::string& actor);
  Status delete_greeting(const std::string& menu_id, const std::string& actor);
  // A new one-use code to record the menu's greeting by phone (see kRecordMenuCode), replacing any
  // earlier code of the menu; audited `receptionist.phone_recording_code` (ids only). Returns the
  // kPhoneRecordingCodeDigits digits, shown once. Errors: not_found on "menu".
  Result<std::string> phone_recording_code(const std::string& menu_id, const std::string& actor);
  // The greeting for a person to hear (audited `receptionist.greeting_listen`).
  Result<std::string> greeting_audio(const std::string& menu_id, const std::string& actor);

  // Receptionists. Errors: `company`, `number` (format; conflict when a line, group,
  // receptionist or conference room of the company has it), `name`, `did` (not a valid number;
  // conflict when a line, receptionist or conference room has it), `open_menu` / `closed_menu`
  // (not found, or of another company).
  Result<std::string> create(const Receptionist& receptionist, const std::string& actor);
  Status update(const Receptionist& receptionist, const std::string& actor);
  Status remove(const std::string& id, const std::string& actor);
  Result<Receptionist> find(const std::string& id);
  Result<std::vector<Receptionist>> list(const std::string& company_id);

 private:
  store::Store& store_;
  const privacy::Keyring& keys_;
  const Clock& clock_;
};

}  // namespace privox::callflow
