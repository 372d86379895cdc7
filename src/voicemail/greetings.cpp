#include "voicemail/greetings.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sodium.h>

#include <algorithm>

#include "accounts/extensions.h"
#include "common/log.h"
#include "media/opus.h"
#include "privacy/audit.h"
#include "privacy/audit_record.h"
#include "voicemail/module.h"

namespace privox::voicemail {
namespace {

// The data map's name for the sealed greeting (voicemail/datamap.cpp), and the field name it is
// sealed under (bound into the ciphertext with the box's id).
constexpr std::string_view kAudioField = "voicemail_greeting";
constexpr std::string_view kSealedAs = "greeting";

void wipe_greeting(std::string& clear) {
  if (!clear.empty()) sodium_memzero(clear.data(), clear.size());
  clear.clear();
}

bool hears(privacy::Purpose purpose) {
  for (const privacy::FieldSpec& f : datamap_part().personal)
    if (f.name == kAudioField) return privacy::allows(f.purposes, purpose);
  return false;
}

// ", ?" per item, for IN lists.
std::string greeting_placeholders(size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += i ? ", ?" : "?";
  return out;
}

Error missing_box(const std::string& box_id) {
  return Error{ErrorCode::not_found, "box", fmt::format("no line {} with a voicemail box", box_id)};
}

// The box's line when the scope reaches it. Another tenant's or member's line gives the same
// answer as no line at all: ids are not confirmed.
Status check_in_scope(store::Session& s, const Scope& scope, const std::string& box_id) {
  if (scope.boxes && std::find(scope.boxes->begin(), scope.boxes->end(), box_id) == scope.boxes->end())
    return missing_box(box_id);
  PRIVOX_ASSIGN(const std::optional<accounts::Extension> line, accounts::extension_by_id(s, box_id));
  if (!line || (!scope.company_id.empty() && line->company_id != scope.company_id)) return missing_box(box_id);
  return {};
}

// The WAV as 8 kHz Ogg Opus, with its duration; the clear samples are wiped.
struct Encoded {
  std::string ogg;
  int64_t duration_ms = 0;
};
Result<Encoded> encode(std::span<const uint8_t> wav) {
  PRIVOX_ASSIGN(media::Prompt prompt, media::load_wav(wav, kGreetingLimits));
  Encoded out{{}, prompt.duration_ms()};
  Status written = [&]() -> Status {
    PRIVOX_ASSIGN(std::unique_ptr<media::OpusWriter> writer, media::OpusWriter::create(8000));
    PRIVOX_TRY(writer->write(prompt.samples));
    PRIVOX_ASSIGN(out.ogg, writer->finish());
    return {};
  }();
  if (!prompt.samples.empty()) sodium_memzero(prompt.samples.data(), prompt.samples.size() * sizeof(int16_t));
  if (!written.ok()) return written.error();
  return out;
}

// Seals and stores an encoded greeting for the box, audited; wipes `encoded.ogg` either way.
Status store_greeting(store::Store& store, const privacy::Keyring& keys, const Clock& clock, const Scope& scope,
                      const std::string& box_id, Encoded& encoded, const std::string& actor) {
  const Status stored = store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_TRY(check_in_scope(s, scope, box_id));
    PRIVOX_ASSIGN(const privacy::subject_keys::OpenKeys open, privacy::subject_keys::load_cached(s, keys, {box_id}));
    const auto key = open.find(box_id);
    if (key == open.end())
      return Error{ErrorCode::erased, "box", fmt::format("the key of line {} is gone: no greeting can be sealed", box_id)};
    PRIVOX_ASSIGN(const std::optional<accounts::Extension> line, accounts::extension_by_id(s, box_id));
    // Sealed here, inside the transaction that read the key: a key destroyed meanwhile is never used.
    const Bytes audio = privacy::seal_field(*key->second, box_id, kSealedAs, encoded.ogg);
    PRIVOX_TRY(s.exec("INSERT INTO voicemail_greetings (box_id, company_id, audio_enc, duration_ms, updated_at_us) "
                      "VALUES (?, ?, ?, ?, ?) ON CONFLICT (box_id) DO UPDATE SET company_id = excluded.company_id, "
                      "audio_enc = excluded.audio_enc, duration_ms = excluded.duration_ms, "
                      "updated_at_us = excluded.updated_at_us",
                      {box_id, line->company_id, audio, encoded.duration_ms, clock.now_us()}));
    PRIVOX_TRY(privacy::AuditChain(keys, clock)
                   .append(s, {actor, "voicemail.greeting_set", box_id, std::string(privacy::to_string(scope.purpose)),
                               {{"duration_ms", encoded.duration_ms}}}));
    return {};
  });
  wipe_greeting(encoded.ogg);
  if (!stored.ok()) return stored.error();
  // The greeting it replaced leaves the store's files too. A failed purge is logged, not returned.
  if (const Status purged = store.purge_deleted(); !purged.ok())
    log::warn("voicemail", "greeting.replaced_unpurged",
              {{"box", log::Id(box_id)}, {"error", log::error_code(purged.error())}});
  return {};
}

}  // namespace

Result<int64_t> set_greeting(store::Store& store, const privacy::Keyring& keys, const Clock& clock, const Scope& scope,
                             const std::string& box_id, std::span<const uint8_t> wav, const std::string& actor) {
  PRIVOX_ASSIGN(Encoded encoded, encode(wav));
  PRIVOX_TRY(store_greeting(store, keys, clock, scope, box_id, encoded, actor));
  return encoded.duration_ms;
}

Status set_recorded_greeting(store::Store& store, const privacy::Keyring& keys, const Clock& clock, const Scope& scope,
                             const std::string& box_id, std::string& ogg, int64_t duration_ms, const std::string& actor) {
  Encoded encoded{std::move(ogg), duration_ms};
  if (duration_ms < kGreetingLimits.min_ms || duration_ms > kGreetingLimits.max_ms) {
    wipe_greeting(encoded.ogg);
    return invalid("audio", fmt::format("a greeting plays for {} to {} seconds", kGreetingLimits.min_ms / 1000,
                                        kGreetingLimits.max_ms / 1000));
  }
  return store_greeting(store, keys, clock, scope, box_id, encoded, actor);
}

Status delete_greeting(store::Store& store, const privacy::Keyring& keys, const Clock& clock, const Scope& scope,
                       const std::string& box_id, const std::string& actor) {
  PRIVOX_TRY(store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_TRY(check_in_scope(s, scope, box_id));
    PRIVOX_ASSIGN(const int64_t deleted, s.exec("DELETE FROM voicemail_greetings WHERE box_id = ?", {box_id}));
    if (deleted == 0)
      return Error{ErrorCode::not_found, "box", fmt::format("line {} has no voicemail greeting", box_id)};
    PRIVOX_TRY(privacy::AuditChain(keys, clock)
                   .append(s, {actor, "voicemail.greeting_delete", box_id,
                               std::string(privacy::to_string(scope.purpose)), nlohmann::json::object()}));
    return {};
  }));
  if (const Status purged = store.purge_deleted(); !purged.ok())
    log::warn("voicemail", "greeting.deleted_unpurged",
              {{"box", log::Id(box_id)}, {"error", log::error_code(purged.error())}});
  return {};
}

Result<std::string> greeting_audio(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                                   const Scope& scope, const std::string& box_id, const std::string& actor) {
  if (!hears(scope.purpose))
    return invalid("purpose", fmt::format("purpose {} may not hear voicemail greetings",
                                          privacy::to_string(scope.purpose)));
  Bytes sealed;
  privacy::subject_keys::WrappedKeys wrapped;
  PRIVOX_TRY(store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_TRY(check_in_scope(s, scope, box_id));
    PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT audio_enc FROM voicemail_greetings WHERE box_id = ?", {box_id}));
    if (rows.empty()) return Error{ErrorCode::not_found, "box", fmt::format("line {} has no voicemail greeting", box_id)};
    sealed = rows[0].blob(0);
    PRIVOX_ASSIGN(wrapped, privacy::subject_keys::read_wrapped(s, {box_id}));
    PRIVOX_TRY(privacy::AuditChain(keys, clock)
                   .append(s, {actor, "voicemail.greeting_listen", box_id,
                               std::string(privacy::to_string(scope.purpose)), nlohmann::json::object()}));
    return {};
  }));
  // Opened after the commit, through the keyring's cache.
  const auto found = wrapped.find(box_id);
  if (found == wrapped.end()) {
    keys.forget_unwrapped(box_id);
    return Error{ErrorCode::erased, "box", fmt::format("the key of line {} is gone", box_id)};
  }
  PRIVOX_ASSIGN(std::shared_ptr<const privacy::SecretKey> key, keys.unwrap_cached(found->second, box_id));
  auto audio = privacy::open_field(*key, box_id, kSealedAs, sealed);
  if (!audio.ok())
    return Error{ErrorCode::corrupt, "box", fmt::format("the voicemail greeting of line {} does not open", box_id)};
  return std::move(audio).value();
}

// Not audited: this is the service playing the member's own greeting to the people who call their
// line, which the data map's purpose "service" covers; nobody reads it. What is audited is what a
// person does with it (set, listen, delete).
Result<std::optional<std::string>> greeting_for_caller(store::Session& s, const privacy::Keyring& keys,
                                                       const std::string& box_id) {
  PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT audio_enc FROM voicemail_greetings WHERE box_id = ?", {box_id}));
  if (rows.empty()) return std::optional<std::string>{};
  PRIVOX_ASSIGN(const privacy::subject_keys::OpenKeys open, privacy::subject_keys::load_cached(s, keys, {box_id}));
  const auto key = open.find(box_id);
  if (key == open.end()) return std::optional<std::string>{};  // erased: the default greeting plays
  auto audio = privacy::open_field(*key->second, box_id, kSealedAs, rows[0].blob(0));
  if (!audio.ok())
    return Error{ErrorCode::corrupt, "box", fmt::format("the voicemail greeting of line {} does not open", box_id)};
  return std::optional<std::string>{std::move(audio).value()};
}

Result<std::vector<GreetingAudio>> greetings_of_boxes(store::Session& s, const privacy::Keyring& keys,
                                                      const std::vector<std::string>& boxes) {
  std::vector<GreetingAudio> out;
  if (boxes.empty()) return out;
  store::Params params;
  for (const std::string& box : boxes) params.emplace_back(box);
  PRIVOX_ASSIGN(store::Rows rows,
                s.query(fmt::format("SELECT box_id, duration_ms, updated_at_us, audio_enc FROM voicemail_greetings "
                                    "WHERE box_id IN ({}) ORDER BY box_id",
                                    greeting_placeholders(boxes.size())),
                        params));
  if (rows.empty()) return out;
  PRIVOX_ASSIGN(const privacy::subject_keys::OpenKeys open, privacy::subject_keys::load_cached(s, keys, boxes));
  for (const store::Row& r : rows) {
    GreetingAudio g{r.text(0), r.i64(1), r.i64(2), {}};
    if (const auto key = open.find(g.box_id); key != open.end())
      if (auto audio = privacy::open_field(*key->second, g.box_id, kSealedAs, r.blob(3)); audio.ok())
        g.audio = std::move(audio).value();
    out.push_back(std::move(g));
  }
  return out;
}

Result<int64_t> delete_greetings_of_boxes(store::Session& s, const std::vector<std::string>& boxes) {
  if (boxes.empty()) return int64_t{0};
  store::Params params;
  for (const std::string& box : boxes) params.emplace_back(box);
  return s.exec(fmt::format("DELETE FROM voicemail_greetings WHERE box_id IN ({})", greeting_placeholders(boxes.size())),
                params);
}

}  // namespace privox::voicemail
