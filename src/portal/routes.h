#pragma once
// The portal's routes, for the files that hold them (not a public header): what the handlers share
// (Portal::Impl), the gates, the route table's entry, the checks routes share, and every handler,
// declared here by the routes_<resource>.cpp file that defines it.
//
// A route is a row of the one table in routes.cpp: method, path template, gate, handler. The gate
// says who may call: `pass_gate` (routes.cpp) applies it, the session cookie and the CSRF token
// and the role and the staff purpose, before the handler runs, and hands the handler what it
// established (the Caller, the purpose). A handler therefore starts at its own work; the type of
// handler a gate calls is fixed (Handler below), and a static_assert over the table refuses a
// row whose handler does not fit its gate, or a state-changing session route without CSRF.
//
// Thread-safety: handlers run on the HTTP server's pool, any number at once; Impl holds no
// mutable state of its own (all state is in the store).

#include <nlohmann/json_fwd.hpp>

#include <functional>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "accounts/accounts.h"
#include "accounts/business_hours.h"
#include "accounts/extensions.h"
#include "callflow/targets.h"
#include "consent/consent.h"
#include "http/server.h"
#include "portal/api.h"
#include "portal/auth.h"
#include "portal/invites.h"
#include "portal/payments.h"
#include "common/mutex.h"
#include "notify/mailer.h"
#include "privacy/audit.h"
#include "rights/requests.h"

namespace privox::portal {

using http::Exchange;
using http::Response;
using http::bhttp::status;
using http::bhttp::verb;

// The session cookie's name: under TLS the __Host- prefix binds it to this origin (Secure, Path=/,
// no Domain, so no sibling subdomain or plain-HTTP page can plant or overwrite it); without TLS
// the browser would refuse a __Host- cookie, so the plain name stays.
inline constexpr std::string_view kSessionCookie = "privox_session";
inline constexpr std::string_view kSessionCookieTls = "__Host-privox_session";
inline std::string_view session_cookie(bool tls) { return tls ? kSessionCookieTls : kSessionCookie; }
inline constexpr std::string_view kVisitorCookie = "privox_visitor";
inline constexpr std::string_view kPerformanceCookie = "privox_perf";

struct Portal::Impl {
  store::Store& store;
  const privacy::Keyring& keys;
  const Clock& clock;
  PortalOptions options;
  Auth auth;
  accounts::Accounts accounts;
  accounts::Extensions extensions;
  consent::ConsentLedger consents;
  privacy::AuditChain audit;
  Invites invites;
  Mutex mail_mu;  // a Mailer is for one thread at a time

  Impl(store::Store& s, const privacy::Keyring& k, const Clock& c, const PortalOptions& o)
      : store(s), keys(k), clock(c), options(o), auth(s, k, c, o.auth_limits), accounts(s, k, c),
        extensions(s, k, c), consents(s, k, c), audit(k, c), invites(k, c) {}
};

// Who is calling, once the gate let them in.
struct Caller {
  Principal who;
  std::string token;  // the session's, for logout and the CSRF token
};

// Who may call a route. pass_gate checks, in this order: a live session (else 401 naming
// privox_session); with `csrf`, its token in X-CSRF-Token (else 403 naming it); the role `who`
// asks for (else 403 naming role); with `purpose`, the staff purpose named in ?purpose= or
// X-Privox-Purpose (else 403 naming purpose).
struct Gate {
  enum class Who {
    anyone,   // no session is looked at; the handler gets the exchange only
    visitor,  // anyone; the live session, if there is one, is handed over (and with `csrf` checked)
    session,  // any live session
    member,   // a member's or office manager's session: staff are refused "only members have this"
    staff,    // a session of the operator's staff: others are refused
  };
  enum class Purpose {
    none,
    named,  // any purpose the staff role allows (staff_purpose)
    legal,  // purpose legal only: the disclosure register and the rights-request queue
    fraud,  // purpose fraud only: SIP bans
  };
  Who who = Who::anyone;
  bool csrf = false;  // the route changes state: a session must carry its CSRF token
  Purpose purpose = Purpose::none;
};

inline constexpr Gate kPublic{Gate::Who::anyone, false, Gate::Purpose::none};
inline constexpr Gate kVisitor{Gate::Who::visitor, false, Gate::Purpose::none};
inline constexpr Gate kVisitorCsrf{Gate::Who::visitor, true, Gate::Purpose::none};
inline constexpr Gate kSession{Gate::Who::session, false, Gate::Purpose::none};
inline constexpr Gate kSessionCsrf{Gate::Who::session, true, Gate::Purpose::none};
inline constexpr Gate kMember{Gate::Who::member, false, Gate::Purpose::none};
inline constexpr Gate kMemberCsrf{Gate::Who::member, true, Gate::Purpose::none};
inline constexpr Gate kStaff{Gate::Who::staff, false, Gate::Purpose::none};
inline constexpr Gate kStaffPurpose{Gate::Who::staff, false, Gate::Purpose::named};
inline constexpr Gate kLegalStaff{Gate::Who::staff, false, Gate::Purpose::legal};
inline constexpr Gate kLegalStaffCsrf{Gate::Who::staff, true, Gate::Purpose::legal};
inline constexpr Gate kFraudStaff{Gate::Who::staff, false, Gate::Purpose::fraud};
inline constexpr Gate kFraudStaffCsrf{Gate::Who::staff, true, Gate::Purpose::fraud};

// What a handler is handed, by gate: the public get the exchange; visitors also the session if
// there is one; session gates the Caller; purpose gates the Caller and the purpose.
using PublicHandler = Response (*)(Portal::Impl& p, const Exchange& e);
using VisitorHandler = Response (*)(Portal::Impl& p, const Exchange& e, const std::optional<Caller>& c);
using CallerHandler = Response (*)(Portal::Impl& p, const Exchange& e, const Caller& c);
using PurposeHandler = Response (*)(Portal::Impl& p, const Exchange& e, const Caller& c, privacy::Purpose purpose);
using Handler = std::variant<PublicHandler, VisitorHandler, CallerHandler, PurposeHandler>;

// A check of the path's parameters that comes before the gate: nullopt to go on, else the refusal.
using PathCheck = std::optional<Response> (*)(const Exchange& e);

struct Route {
  verb method;
  std::string_view path;  // "/api/v1/extensions/{id}/password"
  Gate gate;
  Handler handler;
  PathCheck check_path = nullptr;
};

// Every API route (routes.cpp), in the order they are added to the router.
std::span<const Route> route_table();
// Applies the route's gate to the exchange and runs its handler with what the gate established;
// the gate's refusal when it refuses.
Response pass_gate(Portal::Impl& p, const Route& route, const Exchange& e);

// The checks and answers routes share (checks.cpp).

// Sends one email through options.mailer, one at a time; unavailable when there is no mailer or
// the relay refused.
Status send_mail(Portal::Impl& p, const notify::Email& email);

// An error's HTTP answer: invalid 400, not_found and erased 404, conflict 409, unavailable 503,
// anything else 500 (its message stays in the log).
Response error_response(const Error& error);
// The body's "email", normalised (accounts/validation.h), or the 400 naming what is wrong with it.
std::variant<std::string, Response> email_from_body(const Exchange& e);
// A 400 for a form with several fields at fault: {"error": the first, "errors": every one}, so a
// page shows them all at once. `errors` holds invalid_argument errors only and is not empty.
Response field_errors_response(const std::vector<Error>& errors);
// The live session, if any, without refusing; refreshes its idle timer.
std::optional<Caller> optional_session(const Portal::Impl& p, const Exchange& e);
// The request body as a JSON object (through json::parse_untrusted), or a 400 / 415 naming what is
// wrong.
std::variant<nlohmann::json, Response> json_body(const Exchange& e);
// A string member of the body: nullopt when absent or null; `bad` set to a 400 naming it when it is
// another type.
std::optional<std::string> string_field(const nlohmann::json& body, const std::string& name,
                                        std::optional<Response>& bad);
// The purpose a staff member names (?purpose= or X-Privox-Purpose), or a 403 naming "role" for
// someone not staff, "purpose" when it is missing or their role may not use it.
std::variant<privacy::Purpose, Response> staff_purpose(const Exchange& e, const Principal& who);
// The phone lines whose records and registrations the caller may see: their own, or the
// company's for an office manager; none for staff (who name a purpose instead).
Result<std::vector<accounts::Extension>> visible_lines(accounts::Extensions& extensions, const Principal& who);
// 403 naming role for anyone but an office manager (of the caller's own company, which every
// handler then scopes to); nullopt for an office manager.
std::optional<Response> refuse_unless_office_manager(const Caller& c);
// 429 with Retry-After: "too many <what> from here; try again in N seconds".
Response rate_refusal(int64_t wait_s, std::string_view what);
// The Set-Cookie value of a cookie the portal sets; Secure under TLS. max_age_s 0 expires it.
std::string cookie_header(std::string_view name, std::string_view value, int64_t max_age_s, bool tls);
// Adds Set-Cookie for privox_perf: set while the consent holds, expired when it does not and the
// browser `had_cookie`.
void apply_performance_cookie(Response& res, bool holds, bool had_cookie, bool tls);

// The handlers, by file. Each answers as portal/openapi.json documents its route.
namespace routes {

// routes_session.cpp: sign-up and its emailed link, login, logout.
Response signup(Portal::Impl& p, const Exchange& e);
Response confirm(Portal::Impl& p, const Exchange& e);
Response login(Portal::Impl& p, const Exchange& e);
Response logout(Portal::Impl& p, const Exchange& e, const Caller& c);
// What sign-up shares with an invitation's acceptance (routes_invites.cpp):
// Every string of the body must be free of card numbers, the consents true or false and every
// other member a string; the refusal names the first that is not.
std::optional<Response> refuse_unfit_values(const nlohmann::json& body);
// Asks the payment provider what card the token stands for and adds the token, the card's brand,
// last 4 and expiry to `member` (never taken from the browser, P3), validated for `iso`; the
// refusal when the provider does not know the token (400), cannot be reached (502) or is not
// configured (503).
std::optional<Response> add_card(const Portal::Impl& p, accounts::FieldValues& member, const std::string& payment_token,
                                 const std::string& iso);
// Uses the payment token up, whatever becomes of the request: 409 naming payment_token when it was
// used before.
std::optional<Response> use_payment_token(Portal::Impl& p, const std::string& token);
// Inside the caller's write transaction: the marketing choices made on the form, in the ledger.
Status record_signup_consents(Portal::Impl& p, store::Session& tx, const std::string& member_id, bool marketing_email,
                              bool marketing_sms);

// routes_invites.cpp: an office manager's invitations, and the invitee's acceptance.
Response invite_create(Portal::Impl& p, const Exchange& e, const Caller& c);
Response invite_resend(Portal::Impl& p, const Exchange& e, const Caller& c);
Response invite_revoke(Portal::Impl& p, const Exchange& e, const Caller& c);
Response invite_accept(Portal::Impl& p, const Exchange& e);

// routes_people.cpp: the company's people and their roles, for its office managers.
Response people_list(Portal::Impl& p, const Exchange& e, const Caller& c);
Response person_set_role(Portal::Impl& p, const Exchange& e, const Caller& c);

// routes_password_reset.cpp: a forgotten password, reset through an emailed link.
Response password_reset_request(Portal::Impl& p, const Exchange& e);
Response password_reset_complete(Portal::Impl& p, const Exchange& e);

// routes_me.cpp: the caller's own record; a new email waits for its emailed link.
Response me_show(Portal::Impl& p, const Exchange& e, const Caller& c);
Response me_correct(Portal::Impl& p, const Exchange& e, const Caller& c);
Response confirm_email(Portal::Impl& p, std::string_view token);  // POST /confirm with a change of email's link

// routes_calls.cpp: call and message logs.
Response calls_list(Portal::Impl& p, const Exchange& e, const Caller& c);
Response messages_list(Portal::Impl& p, const Exchange& e, const Caller& c);

// routes_extensions.cpp: a company's phone lines.
Response extensions_list(Portal::Impl& p, const Exchange& e, const Caller& c);
Response extension_add(Portal::Impl& p, const Exchange& e, const Caller& c);
Response extension_reset_password(Portal::Impl& p, const Exchange& e, const Caller& c);
Response extension_update(Portal::Impl& p, const Exchange& e, const Caller& c);
Response extension_provisioning(Portal::Impl& p, const Exchange& e, const Caller& c);
Response extension_remove(Portal::Impl& p, const Exchange& e, const Caller& c);

// routes_dashboard.cpp: the first page's status of the caller's lines.
Response dashboard_status(Portal::Impl& p, const Exchange& e, const Caller& c);

// routes_company.cpp: the member's company and its closure.
Response company_show(Portal::Impl& p, const Exchange& e, const Caller& c);
Response company_update(Portal::Impl& p, const Exchange& e, const Caller& c);
// The company's business hours and holidays (accounts/business_hours.h): every member reads them,
// the office manager replaces them whole.
Response company_hours_show(Portal::Impl& p, const Exchange& e, const Caller& c);
Response company_hours_set(Portal::Impl& p, const Exchange& e, const Caller& c);
// {"hours": {"mon": ["09:00-17:30"], ...} or null, "holidays": [{"date", "label"}]}, as GET
// /company/hours answers (the call-flow picture shows the week too).
nlohmann::json hours_json(const accounts::CompanyHours& h);
Response company_close(Portal::Impl& p, const Exchange& e, const Caller& c);
Response company_cancel_close(Portal::Impl& p, const Exchange& e, const Caller& c);

// routes_music.cpp: the company's own music on hold, for its office managers: GET its state, PUT a
// WAV, GET /audio to hear it (audited), DELETE it.
Response company_music_get(Portal::Impl& p, const Exchange& e, const Caller& c);
Response company_music_put(Portal::Impl& p, const Exchange& e, const Caller& c);
Response company_music_audio(Portal::Impl& p, const Exchange& e, const Caller& c);
Response company_music_remove(Portal::Impl& p, const Exchange& e, const Caller& c);

// routes_consents.cpp: consents, cookie consent for visitors too.
Response consents_show(Portal::Impl& p, const Exchange& e, const std::optional<Caller>& c);
std::optional<Response> consent_purpose_check(const Exchange& e);
Response consent_set(Portal::Impl& p, const Exchange& e, const std::optional<Caller>& c);

// routes_requests.cpp: the member's rights requests.
Response request_open(Portal::Impl& p, const Exchange& e, const Caller& c);
// A request's kind and corrections from a JSON body, for `member_id`, made through `channel`; or
// the 400 naming what is wrong.
std::variant<rights::NewRequest, Response> new_request_from(const nlohmann::json& body, const std::string& member_id,
                                                           const std::string& channel);
Response requests_list(Portal::Impl& p, const Exchange& e, const Caller& c);
Response request_send_code(Portal::Impl& p, const Exchange& e, const Caller& c);
Response request_verify(Portal::Impl& p, const Exchange& e, const Caller& c);
Response request_download(Portal::Impl& p, const Exchange& e, const Caller& c);
// Runs `send` with the portal's mailer, one at a time; unavailable when there is none.
Status with_mailer(Portal::Impl& p, const std::function<Status(notify::Mailer&)>& send);
// Emails the member a status mail about `r`; a relay that refuses is logged (ids only), not fatal.
void mail_status(Portal::Impl& p, const rights::Request& r, rights::StatusMail which, const std::string& actor);
// After identity or the fee is settled: mails that the fee is due where it is, and for an access
// request now in progress produces the copy for download (options.downloads_dir), completes it and
// mails that it is ready. Returns the request as it now stands.
rights::Request after_settled(Portal::Impl& p, rights::Request r, const std::string& actor);
// The request named by the path's {id} when it is the caller's own; else not_found, exactly as
// for an id that does not exist.
Result<rights::Request> own_request(Portal::Impl& p, const Exchange& e, const Caller& c);

// routes_request_payment.cpp: the administration fee, charged through the payment provider.
Response request_pay(Portal::Impl& p, const Exchange& e, const Caller& c);

// routes_optional_data.cpp: contacts, location and social profile from the mobile app.
Response optional_data_put(Portal::Impl& p, const Exchange& e, const Caller& c);
Response optional_data_list(Portal::Impl& p, const Exchange& e, const Caller& c);
Response optional_data_remove(Portal::Impl& p, const Exchange& e, const Caller& c);

// routes_fraud.cpp: fraud alerts, for the company's office managers and the operator's fraud staff.
Response fraud_alerts_list(Portal::Impl& p, const Exchange& e, const Caller& c);
Response fraud_alert_lift(Portal::Impl& p, const Exchange& e, const Caller& c);
// routes_wallet.cpp: the company's international balance, cap and ledger, for its office managers.
Response wallet_show(Portal::Impl& p, const Exchange& e, const Caller& c);
Response wallet_ledger(Portal::Impl& p, const Exchange& e, const Caller& c);
// routes_wallet_top_ups.cpp: an office manager tops up the balance with her card on file.
Response wallet_top_up(Portal::Impl& p, const Exchange& e, const Caller& c);
// routes_invoices.cpp: the company's invoices, for its office managers (JSON, and PDF for {id}.pdf).
Response invoices_list(Portal::Impl& p, const Exchange& e, const Caller& c);
Response invoice_show(Portal::Impl& p, const Exchange& e, const Caller& c);
// routes_voicemail.cpp: the messages left in the member's own lines' boxes.
Response voicemail_list(Portal::Impl& p, const Exchange& e, const Caller& c);
Response voicemail_audio(Portal::Impl& p, const Exchange& e, const Caller& c);
Response voicemail_heard(Portal::Impl& p, const Exchange& e, const Caller& c);
Response voicemail_remove(Portal::Impl& p, const Exchange& e, const Caller& c);
// The member's own greeting for one of their lines: PUT a WAV file, GET it back as Ogg, DELETE it.
Response voicemail_greeting_put(Portal::Impl& p, const Exchange& e, const Caller& c);
Response voicemail_greeting_get(Portal::Impl& p, const Exchange& e, const Caller& c);
Response voicemail_greeting_remove(Portal::Impl& p, const Exchange& e, const Caller& c);
// Whether a Content-Type names a WAV file (audio/wav, audio/x-wav, audio/wave, audio/vnd.wave),
// as every greeting upload must be sent.
bool is_wav_type(std::string_view type);
// A box's options (voicemail/options.h): the member's own lines, an office manager's company's.
Response voicemail_options_get(Portal::Impl& p, const Exchange& e, const Caller& c);
Response voicemail_options_put(Portal::Impl& p, const Exchange& e, const Caller& c);

// routes_forwarding.cpp: a line's forwarding and do-not-disturb, for the office manager (any line
// of the company) and the member (their own lines).
Response line_forwarding_get(Portal::Impl& p, const Exchange& e, const Caller& c);
Response line_forwarding_put(Portal::Impl& p, const Exchange& e, const Caller& c);
Response line_dnd_put(Portal::Impl& p, const Exchange& e, const Caller& c);
Response my_line_forwarding_get(Portal::Impl& p, const Exchange& e, const Caller& c);
Response my_line_forwarding_put(Portal::Impl& p, const Exchange& e, const Caller& c);
Response my_line_dnd_put(Portal::Impl& p, const Exchange& e, const Caller& c);
// What the call-routing routes share (routes_forwarding.cpp):
// 403 naming role for anyone but an office manager.
std::optional<Response> refuse_unless_call_routing_manager(const Caller& c);
// The line named by the path's {id} that a route may touch: for `own_only`, one of the caller's own
// lines; else any line of the caller's company. Anything else is not_found naming id, exactly as a
// line that does not exist.
Result<accounts::Extension> line_in_reach(Portal::Impl& p, const Exchange& e, const Caller& c, bool own_only);
// A 400 naming the first member of `body` not in `known`, so a misspelt setting is not ignored.
std::optional<Response> refuse_unknown_fields(const nlohmann::json& body, std::initializer_list<std::string_view> known);
// A target as the body names it, {"kind": "line|group|voicemail|external", "number": "..."}.
struct NamedTarget {
  callflow::TargetKind kind = callflow::TargetKind::line;
  std::string number;
};
// The body's member `field`: nullopt when absent or null, a 400 naming `field`, `field`.kind or
// `field`.number when malformed.
std::variant<std::optional<NamedTarget>, Response> named_target(const nlohmann::json& body, const std::string& field);
// The target in the company (callflow::resolve_target), errors naming `field`.number.
Result<callflow::Target> resolve_named_target(store::Session& s, const std::string& company_id, const NamedTarget& target,
                                              const std::string& field);
// A not_found of callflow::resolve_target, its message in the words of the person who named `number`.
Error not_in_company(Error error, callflow::TargetKind kind, std::string_view number);
// {"kind", "number"} by callflow::target_number, or null.
Result<nlohmann::json> target_json(store::Session& s, const std::optional<callflow::Target>& target);

// routes_ring_groups.cpp: the company's ring groups, for its office managers.
Response ring_groups_list(Portal::Impl& p, const Exchange& e, const Caller& c);
Response ring_group_create(Portal::Impl& p, const Exchange& e, const Caller& c);
Response ring_group_show(Portal::Impl& p, const Exchange& e, const Caller& c);
Response ring_group_update(Portal::Impl& p, const Exchange& e, const Caller& c);
Response ring_group_remove(Portal::Impl& p, const Exchange& e, const Caller& c);

// routes_receptionist.cpp: the company's receptionist menus (and their greetings) and
// receptionists, for its office managers.
Response receptionist_menus_list(Portal::Impl& p, const Exchange& e, const Caller& c);
Response receptionist_menu_create(Portal::Impl& p, const Exchange& e, const Caller& c);
Response receptionist_menu_show(Portal::Impl& p, const Exchange& e, const Caller& c);
Response receptionist_menu_update(Portal::Impl& p, const Exchange& e, const Caller& c);
Response receptionist_menu_remove(Portal::Impl& p, const Exchange& e, const Caller& c);
Response receptionist_greeting_put(Portal::Impl& p, const Exchange& e, const Caller& c);
Response receptionist_greeting_get(Portal::Impl& p, const Exchange& e, const Caller& c);
Response receptionist_greeting_remove(Portal::Impl& p, const Exchange& e, const Caller& c);
Response receptionist_phone_recording(Portal::Impl& p, const Exchange& e, const Caller& c);
Response receptionists_list(Portal::Impl& p, const Exchange& e, const Caller& c);
Response receptionist_create(Portal::Impl& p, const Exchange& e, const Caller& c);
Response receptionist_show(Portal::Impl& p, const Exchange& e, const Caller& c);
Response receptionist_update(Portal::Impl& p, const Exchange& e, const Caller& c);
Response receptionist_remove(Portal::Impl& p, const Exchange& e, const Caller& c);

// routes_conference.cpp: the company's conference rooms and its lines' rooms, for its office
// managers (the PIN shown only by its own, audited route), and a member's own line's room.
Response conference_rooms_list(Portal::Impl& p, const Exchange& e, const Caller& c);
Response conference_room_create(Portal::Impl& p, const Exchange& e, const Caller& c);
Response conference_room_show(Portal::Impl& p, const Exchange& e, const Caller& c);
Response conference_room_update(Portal::Impl& p, const Exchange& e, const Caller& c);
Response conference_room_remove(Portal::Impl& p, const Exchange& e, const Caller& c);
Response conference_room_pin(Portal::Impl& p, const Exchange& e, const Caller& c);
Response my_line_room_get(Portal::Impl& p, const Exchange& e, const Caller& c);
Response my_line_room_put(Portal::Impl& p, const Exchange& e, const Caller& c);
Response my_line_room_remove(Portal::Impl& p, const Exchange& e, const Caller& c);
Response my_line_room_pin(Portal::Impl& p, const Exchange& e, const Caller& c);

// routes_call_flow.cpp: where a call to each company number goes, as a tree, for the office manager.
Response call_flow_show(Portal::Impl& p, const Exchange& e, const Caller& c);

// softphone.cpp: the member's softphone credential, and the WebSocket it opens to /sip.
std::string softphone_password(std::string_view session_token);
Response my_softphone(Portal::Impl& p, const Exchange& e, const Caller& c);
http::Upgrade softphone_upgrade(Portal::Impl& p, const Exchange& e);

// routes_public.cpp: what anyone may read before logging in.
Response privacy_notice(Portal::Impl& p, const Exchange& e);
Response portal_config(Portal::Impl& p, const Exchange& e);
Response openapi(Portal::Impl& p, const Exchange& e);

// routes_admin.cpp: the operator console.
Response admin_members(Portal::Impl& p, const Exchange& e, const Caller& c, privacy::Purpose purpose);
Response admin_companies(Portal::Impl& p, const Exchange& e, const Caller& c, privacy::Purpose purpose);
Response admin_audit(Portal::Impl& p, const Exchange& e, const Caller& c, privacy::Purpose purpose);
Response admin_page_views(Portal::Impl& p, const Exchange& e, const Caller& c);

// routes_admin_legal.cpp: the operator's compliance records, for purpose legal.
Response admin_requests(Portal::Impl& p, const Exchange& e, const Caller& c, privacy::Purpose purpose);
Response admin_request_open(Portal::Impl& p, const Exchange& e, const Caller& c, privacy::Purpose purpose);
Response admin_request_waive(Portal::Impl& p, const Exchange& e, const Caller& c, privacy::Purpose purpose);
Response admin_request_refuse(Portal::Impl& p, const Exchange& e, const Caller& c, privacy::Purpose purpose);
Response admin_request_extend(Portal::Impl& p, const Exchange& e, const Caller& c, privacy::Purpose purpose);
Response admin_request_complete(Portal::Impl& p, const Exchange& e, const Caller& c, privacy::Purpose purpose);
Response admin_disclosures_list(Portal::Impl& p, const Exchange& e, const Caller& c, privacy::Purpose purpose);
Response admin_disclosure_add(Portal::Impl& p, const Exchange& e, const Caller& c, privacy::Purpose purpose);

// routes_admin_bans.cpp: the SIP bans every node enforces, for purpose fraud.
Response admin_sip_bans(Portal::Impl& p, const Exchange& e, const Caller& c, privacy::Purpose purpose);
Response admin_sip_ban_lift(Portal::Impl& p, const Exchange& e, const Caller& c, privacy::Purpose purpose);

// pages.cpp: the embedded web files, for every request no route matched.
Response page(Portal::Impl& p, const Exchange& e);

}  // namespace routes
}  // namespace privox::portal
