// The company's own music on hold (callflow/music.h), for its office managers: whether it has its
// own and how long it plays, the WAV uploaded as the body (as a menu's greeting is), heard back
// audited, or removed so that held callers hear the node's default again. The company is always
// the caller's own, so there is no id to aim at another's.
#include <nlohmann/json.hpp>

#include <span>

#include "callflow/music.h"
#include "portal/routes.h"

namespace privox::portal::routes {
namespace {

callflow::CompanyMusic company_music(Portal::Impl& p) { return callflow::CompanyMusic(p.store, p.keys, p.clock); }

nlohmann::json music_json(const std::optional<callflow::MusicInfo>& m) {
  return {{"has_music", m.has_value()}, {"duration_ms", m ? nlohmann::json(m->duration_ms) : nlohmann::json(nullptr)}};
}

// The store's not_found names the company's id, which means nothing to the manager.
Response music_error(Error error) {
  if (error.code == ErrorCode::not_found && error.field == "music")
    error.message = "your company has no music on hold of its own: held callers hear the default";
  return error_response(error);
}

}  // namespace

Response company_music_get(Portal::Impl& p, const Exchange&, const Caller& c) {
  if (auto refusal = refuse_unless_call_routing_manager(c)) return std::move(*refusal);
  auto found = company_music(p).find(c.who.company_id);
  if (!found.ok()) return error_response(found.error());
  return http::json_response(status::ok, music_json(*found));
}

// The HTTP server's body limit (1 MiB: about a minute at 8 kHz mono) comes first; a longer piece
// goes through the CLI. CompanyMusic::set checks the audio and its length.
Response company_music_put(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (auto refusal = refuse_unless_call_routing_manager(c)) return std::move(*refusal);
  if (!is_wav_type(e.header("Content-Type")))
    return http::json_error(status::unsupported_media_type, "send the music as a WAV file (audio/wav)", "Content-Type");
  const std::string& body = e.request().body();
  if (body.size() > callflow::kMaxMusicBytes)
    return http::json_error(status::payload_too_large, "the music file is too large", "audio");
  auto duration = company_music(p).set(
      c.who.company_id, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(body.data()), body.size()),
      c.who.subject_id);
  if (!duration.ok()) return error_response(duration.error());
  return http::json_response(status::ok, {{"has_music", true}, {"duration_ms", *duration}});
}

// The stored 8 kHz WAV, as rtpengine plays it; CompanyMusic::audio audits the listen.
Response company_music_audio(Portal::Impl& p, const Exchange&, const Caller& c) {
  if (auto refusal = refuse_unless_call_routing_manager(c)) return std::move(*refusal);
  auto audio = company_music(p).audio(c.who.company_id, c.who.subject_id);
  if (!audio.ok()) return music_error(audio.error());
  Response res{status::ok, 11};
  res.set(http::bhttp::field::content_type, "audio/wav");
  res.set(http::bhttp::field::cache_control, "no-store");
  res.body() = std::move(*audio);
  return res;
}

Response company_music_remove(Portal::Impl& p, const Exchange&, const Caller& c) {
  if (auto refusal = refuse_unless_call_routing_manager(c)) return std::move(*refusal);
  if (Status s = company_music(p).clear(c.who.company_id, c.who.subject_id); !s.ok()) return music_error(s.error());
  return http::json_response(status::ok, music_json(std::nullopt));
}

}  // namespace privox::portal::routes
