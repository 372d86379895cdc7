#include "callflow/music.h"

#include <fmt/format.h>
#include <sodium.h>

#include <cstring>

#include "accounts/accounts.h"
#include "accounts/company_closure.h"
#include "accounts/directory_log.h"
#include "accounts/validation.h"
#include "common/bytes.h"
#include "media/prompt.h"
#include "privacy/audit.h"
#include "privacy/audit_record.h"

namespace privox::callflow {
namespace {

constexpr media::PromptLimits kMusicLimits{kMaxMusicBytes, kMaxMusicMs, kMinMusicMs};

Error no_music(const std::string& company_id) {
  return Error{ErrorCode::not_found, "music", fmt::format("company {} has no music on hold", company_id)};
}

void put_le(std::string& out, uint32_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

std::string sha256_hex(const std::string& data) {
  Bytes digest(crypto_hash_sha256_BYTES);
  crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(data.data()), data.size());
  return to_hex(digest);
}

MusicInfo music_info_from(const store::Row& r) { return MusicInfo{r.text(0), r.i64(1), r.text(2)}; }

}  // namespace

std::string pcm16_wav(std::span<const int16_t> samples) {
  const auto data_bytes = static_cast<uint32_t>(samples.size() * 2);
  std::string out;
  out.reserve(44 + data_bytes);
  out += "RIFF";
  put_le(out, 36 + data_bytes, 4);
  out += "WAVEfmt ";
  put_le(out, 16, 4);       // fmt chunk size
  put_le(out, 1, 2);        // PCM
  put_le(out, 1, 2);        // mono
  put_le(out, 8000, 4);     // sample rate
  put_le(out, 16000, 4);    // byte rate
  put_le(out, 2, 2);        // block align
  put_le(out, 16, 2);       // bits per sample
  out += "data";
  put_le(out, data_bytes, 4);
  for (const int16_t sample : samples) put_le(out, static_cast<uint16_t>(sample), 2);
  return out;
}

Result<std::vector<MusicInfo>> all_music(store::Session& s) {
  PRIVOX_ASSIGN(store::Rows rows,
                s.query("SELECT company_id, duration_ms, content_hash FROM company_music ORDER BY company_id", {}));
  std::vector<MusicInfo> out;
  out.reserve(rows.size());
  for (const store::Row& r : rows) out.push_back(music_info_from(r));
  return out;
}

Result<std::optional<MusicInfo>> music_of_company(store::Session& s, const std::string& company_id) {
  PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT company_id, duration_ms, content_hash FROM company_music "
                                          "WHERE company_id = ?",
                                          {company_id}));
  if (rows.empty()) return std::optional<MusicInfo>{};
  return std::optional<MusicInfo>{music_info_from(rows[0])};
}

Result<std::optional<std::string>> music_wav(store::Session& s, const std::string& company_id) {
  PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT wav FROM company_music WHERE company_id = ?", {company_id}));
  if (rows.empty()) return std::optional<std::string>{};
  const Bytes& wav = rows[0].blob(0);
  return std::optional<std::string>{std::string(wav.begin(), wav.end())};
}

Result<int64_t> remove_company_music(store::Session& s, const std::string& company_id, int64_t now_us) {
  PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT company_id FROM company_music WHERE company_id = ?", {company_id}));
  if (rows.empty()) return int64_t{0};
  PRIVOX_TRY(s.exec("DELETE FROM company_music WHERE company_id = ?", {company_id}));
  PRIVOX_TRY(accounts::record_directory_change(s, accounts::DirectoryItem::music, company_id, "removed", now_us));
  return int64_t{1};
}

CompanyMusic::CompanyMusic(store::Store& store, const privacy::Keyring& keys, const Clock& clock)
    : store_(store), keys_(keys), clock_(clock) {}

Result<int64_t> CompanyMusic::set(const std::string& company_id, std::span<const uint8_t> wav,
                                  const std::string& actor) {
  PRIVOX_TRY(accounts::check_id("company", company_id));
  PRIVOX_ASSIGN(const media::Prompt prompt, media::load_wav(wav, kMusicLimits));
  const int64_t duration_ms = prompt.duration_ms();
  const std::string stored = pcm16_wav(prompt.samples);
  const std::string hash = sha256_hex(stored);
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_TRY(accounts::lock_company(s, company_id));
    PRIVOX_TRY(accounts::require_company_open(s, company_id));
    const int64_t now = clock_.now_us();
    PRIVOX_TRY(s.exec("DELETE FROM company_music WHERE company_id = ?", {company_id}));
    PRIVOX_TRY(s.exec("INSERT INTO company_music (company_id, wav, duration_ms, content_hash, updated_at_us) "
                      "VALUES (?, ?, ?, ?, ?)",
                      {company_id, Bytes(stored.begin(), stored.end()), duration_ms, hash, now}));
    PRIVOX_TRY(privacy::AuditChain(keys_, clock_)
                   .append(s, {actor, "music.set", "", "", {{"company_id", company_id}, {"duration_ms", duration_ms}}}));
    return accounts::record_directory_change(s, accounts::DirectoryItem::music, company_id, "set", now);
  }));
  return duration_ms;
}

Status CompanyMusic::clear(const std::string& company_id, const std::string& actor) {
  PRIVOX_TRY(accounts::check_id("company", company_id));
  return store::with_transaction(store_, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_TRY(accounts::lock_company(s, company_id));
    PRIVOX_ASSIGN(const int64_t removed, remove_company_music(s, company_id, clock_.now_us()));
    if (removed == 0) return no_music(company_id);
    PRIVOX_TRY(privacy::AuditChain(keys_, clock_).append(s, {actor, "music.clear", "", "", {{"company_id", company_id}}}));
    return {};
  });
}

Result<std::optional<MusicInfo>> CompanyMusic::find(const std::string& company_id) {
  PRIVOX_TRY(accounts::check_id("company", company_id));
  std::optional<MusicInfo> out;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::read, [&](store::Session& s) -> Status {
    PRIVOX_TRY(accounts::find_company(s, company_id));
    PRIVOX_ASSIGN(out, music_of_company(s, company_id));
    return {};
  }));
  return out;
}

Result<std::string> CompanyMusic::audio(const std::string& company_id, const std::string& actor) {
  PRIVOX_TRY(accounts::check_id("company", company_id));
  std::string out;
  PRIVOX_TRY(store::with_transaction(store_, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(std::optional<std::string> wav, music_wav(s, company_id));
    if (!wav) return no_music(company_id);
    out = std::move(*wav);
    PRIVOX_TRY(privacy::AuditChain(keys_, clock_)
                   .append(s, {actor, "music.listen", "", std::string(privacy::to_string(privacy::Purpose::service)),
                               {{"company_id", company_id}}}));
    return {};
  }));
  return out;
}

}  // namespace privox::callflow
