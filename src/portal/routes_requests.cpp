// A member's rights requests (P13): opened from the privacy centre and listed there, so a reload
// still shows what was opened; the emailed identity code checked there; and the copy of their data
// downloaded there once it is ready. Every route acts on the caller's own requests only: anyone
// else's answers as an unknown id does (404).
#include <nlohmann/json.hpp>

#include "common/log.h"
#include "portal/rate_limit.h"
#include "portal/routes.h"
#include "rights/requests.h"

namespace privox::portal::routes {

std::variant<rights::NewRequest, Response> new_request_from(const nlohmann::json& body, const std::string& member_id,
                                                           const std::string& channel) {
  std::optional<Response> bad;
  const std::string kind_text = string_field(body, "kind", bad).value_or("");
  if (bad) return std::move(*bad);
  const std::optional<rights::RequestKind> kind = rights::parse_request_kind(kind_text);
  if (!kind) return http::json_error(status::bad_request, "must be access, rectify or erase", "kind");
  rights::NewRequest input{member_id, *kind, {}, channel};
  if (body.contains("corrections")) {
    if (!body["corrections"].is_object())
      return http::json_error(status::bad_request, "must be an object of field names to values", "corrections");
    for (const auto& [field, value] : body["corrections"].items()) {
      if (!value.is_string()) return http::json_error(status::bad_request, "must be a string", field);
      input.corrections[field] = value.get<std::string>();
    }
  }
  return input;
}

Status with_mailer(Portal::Impl& p, const std::function<Status(notify::Mailer&)>& send) {
  if (!p.options.mailer) return make_error(ErrorCode::unavailable, "no mail relay is configured");
  MutexLock lock(p.mail_mu);
  return send(*p.options.mailer);
}

void mail_status(Portal::Impl& p, const rights::Request& r, rights::StatusMail which, const std::string& actor) {
  rights::Requests requests(p.store, p.keys, p.clock);
  const Status sent = with_mailer(p, [&](notify::Mailer& m) { return requests.mail_status(r, which, m, actor); });
  // The change stands without its email; the log names the request only.
  if (!sent.ok()) log::warn("portal", "status_mail.not_sent", {{"request", log::Id(r.id)}, {"error", log::error_code(sent.error())}});
}

rights::Request after_settled(Portal::Impl& p, rights::Request r, const std::string& actor) {
  if (r.state == rights::RequestState::awaiting_fee) mail_status(p, r, rights::StatusMail::fee_due, actor);
  if (r.state != rights::RequestState::in_progress || r.kind != rights::RequestKind::access ||
      p.options.downloads_dir.empty())
    return r;
  auto done = rights::Requests(p.store, p.keys, p.clock).produce_download(r.id, p.options.downloads_dir, actor);
  if (!done.ok()) {
    log::error("portal", "download.not_produced", {{"request", log::Id(r.id)}, {"error", log::error_code(done.error())}});
    return r;
  }
  mail_status(p, *done, rights::StatusMail::ready, actor);
  return *done;
}

Result<rights::Request> own_request(Portal::Impl& p, const Exchange& e, const Caller& c) {
  const std::string id(e.param("id"));
  auto found = rights::Requests(p.store, p.keys, p.clock).get(id);
  if (!found.ok() || found->member_id != c.who.subject_id)
    return Error{ErrorCode::not_found, "id", "you have no rights request with this id"};
  return found;
}

namespace {

Response request_answer(Portal::Impl& p, status code, const rights::Request& r) {
  return http::json_response(code, r.to_json(p.clock.now_us()));
}

}  // namespace

// Opened in the portal, the identity check starts at once: the code goes to the address on file.
Response request_open(Portal::Impl& p, const Exchange& e, const Caller& c) {
  auto parsed = json_body(e);
  if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
  auto input = new_request_from(std::get<nlohmann::json>(parsed), c.who.subject_id, "portal");
  if (auto* refusal = std::get_if<Response>(&input)) return std::move(*refusal);
  if (std::get<rights::NewRequest>(input).kind == rights::RequestKind::erase) {
    // Said now, in words, rather than when staff come to complete the request.
    Status allowed = store::with_transaction(p.store, store::TxMode::read, [&](store::Session& s) {
      return refuse_erasing_last_office_manager(s, c.who.subject_id, c.who.company_id);
    });
    if (!allowed.ok() && allowed.error().code != ErrorCode::conflict) return error_response(allowed.error());
    if (!allowed.ok())
      return http::json_error(status::conflict,
                              "You are your company's only office manager. Make another member an office manager, or "
                              "close the company on the Company page, before deleting your account",
                              "kind");
  }
  rights::Requests requests(p.store, p.keys, p.clock);
  auto opened = requests.open(std::get<rights::NewRequest>(input), c.who.subject_id);
  if (!opened.ok()) return error_response(opened.error());
  rights::Request r = *opened;
  rights::Request sent;
  const Status mailed = with_mailer(p, [&](notify::Mailer& m) -> Status {
    PRIVOX_ASSIGN(sent, requests.send_code(r.id, m, c.who.subject_id));
    return {};
  });
  // Open without a code when the relay is down: the page offers "send a new code".
  if (mailed.ok()) r = sent;
  else log::warn("portal", "identity_code.not_sent", {{"request", log::Id(r.id)}, {"error", log::error_code(mailed.error())}});
  return request_answer(p, status::created, r);
}

Response requests_list(Portal::Impl& p, const Exchange&, const Caller& c) {
  rights::Requests requests(p.store, p.keys, p.clock);
  auto listed = requests.list({.include_closed = true, .member_id = c.who.subject_id});
  if (!listed.ok()) return error_response(listed.error());
  nlohmann::json items = nlohmann::json::array();
  for (const rights::Request& request : *listed) items.push_back(request.to_json(p.clock.now_us()));
  return http::json_response(status::ok, {{"items", items}});
}

Response request_send_code(Portal::Impl& p, const Exchange& e, const Caller& c) {
  auto mine = own_request(p, e, c);
  if (!mine.ok()) return error_response(mine.error());
  // Each new code is an email: counted per member, so the button cannot be used to flood an inbox.
  auto wait = take_rate(p.store, p.keys, p.clock, "identity_code", c.who.subject_id, p.options.auth_limits.identity_codes);
  if (!wait.ok()) return error_response(wait.error());
  if (*wait > 0) return rate_refusal(*wait, "new codes");
  rights::Requests requests(p.store, p.keys, p.clock);
  rights::Request sent;
  const Status mailed = with_mailer(p, [&](notify::Mailer& m) -> Status {
    PRIVOX_ASSIGN(sent, requests.send_code(mine->id, m, c.who.subject_id));
    return {};
  });
  if (!mailed.ok()) return error_response(mailed.error());
  return request_answer(p, status::ok, sent);
}

Response request_verify(Portal::Impl& p, const Exchange& e, const Caller& c) {
  auto parsed = json_body(e);
  if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
  std::optional<Response> bad;
  const std::string code = string_field(std::get<nlohmann::json>(parsed), "code", bad).value_or("");
  if (bad) return std::move(*bad);
  auto mine = own_request(p, e, c);
  if (!mine.ok()) return error_response(mine.error());
  auto verified = rights::Requests(p.store, p.keys, p.clock).verify_code(mine->id, code, c.who.subject_id);
  if (!verified.ok()) return error_response(verified.error());
  mail_status(p, *verified, rights::StatusMail::verified, c.who.subject_id);
  return request_answer(p, status::ok, after_settled(p, *verified, c.who.subject_id));
}

Response request_download(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (p.options.downloads_dir.empty())
    return http::json_error(status::service_unavailable, "downloads are not offered by this portal");
  auto zip = rights::Requests(p.store, p.keys, p.clock)
                 .read_download(std::string(e.param("id")), c.who.subject_id, p.options.downloads_dir, c.who.subject_id);
  if (!zip.ok()) return error_response(zip.error());
  if (!*zip)
    return http::json_error(status::gone, "the download period of this copy has ended and the file was removed; "
                                          "open a new request for a fresh copy", "id");
  Response res{status::ok, 11};
  res.set(http::bhttp::field::content_type, "application/zip");
  res.set(http::bhttp::field::content_disposition,
          "attachment; filename=\"privox-data-" + std::string(e.param("id")) + ".zip\"");
  res.set(http::bhttp::field::cache_control, "no-store");
  res.body() = std::move(**zip);
  res.prepare_payload();
  return res;
}

}  // namespace privox::portal::routes
