#pragma once
// A company's music on hold (issue 15): when a phone holds a call, rtpengine plays the company's
// own music to the other party if an office manager uploaded one, otherwise the node-wide
// `sip.music_on_hold_file` (Debian's asterisk-moh-opsound-wav).
//
// The upload is any WAV media::load_wav reads (5 s to 10 min, at most kMaxMusicBytes), kept as the
// 8 kHz mono 16-bit PCM WAV rtpengine plays well, one per company: a new upload replaces it, and
// it can be removed. Music is the company's content, not personal data: it is not sealed, and its
// audit entries carry ids and the duration only.
//
// Every change is one transaction with its audit entry, a lock on the company's row and a
// directory change of kind `music` naming the company, so every node's directory loader
// (sip/directory_loader.h) writes the file its rtpengine reads within a second.
//
// Thread-safety: safe from any thread; all state is in the store.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "privacy/keyring.h"
#include "store/store.h"

namespace privox::callflow {

// What an upload may weigh (through the CLI; the portal's body limit is lower) and play.
inline constexpr size_t kMaxMusicBytes = 16u << 20;
inline constexpr int64_t kMinMusicMs = 5'000;
inline constexpr int64_t kMaxMusicMs = 600'000;

struct MusicInfo {
  std::string company_id;
  int64_t duration_ms = 0;
  std::string content_hash;  // hex SHA-256 of the stored WAV: names the file a node writes
  bool operator==(const MusicInfo&) const = default;
};

// For the SIP directory loader (no audit): every company's music, one company's, and its WAV.
Result<std::vector<MusicInfo>> all_music(store::Session& s);
Result<std::optional<MusicInfo>> music_of_company(store::Session& s, const std::string& company_id);
Result<std::optional<std::string>> music_wav(store::Session& s, const std::string& company_id);

// A company's service ended (retention's company_closures job): its music goes with it, inside
// the caller's transaction, with a directory change. Returns 1 when it had music, else 0.
Result<int64_t> remove_company_music(store::Session& s, const std::string& company_id, int64_t now_us);

// The samples (8 kHz mono) as a 16-bit PCM WAV file.
std::string pcm16_wav(std::span<const int16_t> samples);

class CompanyMusic {
 public:
  CompanyMusic(store::Store& store, const privacy::Keyring& keys, const Clock& clock);

  // Checks and stores the WAV, replacing the company's music; returns its duration in ms.
  // Errors: invalid on "audio" naming what is wrong; not_found on "company"; conflict when the
  // company is closing.
  Result<int64_t> set(const std::string& company_id, std::span<const uint8_t> wav, const std::string& actor);
  // Removes the company's music (callers hear the node's again); not_found on "music" when none.
  Status clear(const std::string& company_id, const std::string& actor);
  // nullopt when the company has none; not_found on "company" when there is no such company.
  Result<std::optional<MusicInfo>> find(const std::string& company_id);
  // The stored WAV for a person to hear (audited `music.listen`); not_found on "music" when none.
  Result<std::string> audio(const std::string& company_id, const std::string& actor);

 private:
  store::Store& store_;
  const privacy::Keyring& keys_;
  const Clock& clock_;
};

}  // namespace privox::callflow
