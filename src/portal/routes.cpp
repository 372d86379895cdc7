// The one table of the portal's API routes, and the gate every route passes before its handler.
#include "portal/routes.h"

#include <algorithm>

namespace privox::portal {
namespace {

using namespace routes;

// One row per route, grouped by the file that holds the handler. portal/openapi.json documents
// exactly these (a test compares them).
constexpr Route kRoutes[] = {
    // routes_session.cpp
    {verb::post, "/api/v1/signup", kPublic, signup},
    {verb::post, "/api/v1/confirm", kPublic, confirm},
    {verb::post, "/api/v1/session", kPublic, login},
    {verb::delete_, "/api/v1/session", kSessionCsrf, logout},
    // routes_password_reset.cpp
    {verb::post, "/api/v1/password-reset", kPublic, password_reset_request},
    {verb::post, "/api/v1/password-reset/complete", kPublic, password_reset_complete},
    // routes_invites.cpp: accepting needs the link's token, not a session.
    {verb::post, "/api/v1/invites", kSessionCsrf, invite_create},
    {verb::post, "/api/v1/invites/accept", kPublic, invite_accept},
    {verb::post, "/api/v1/invites/{id}/resend", kSessionCsrf, invite_resend},
    {verb::delete_, "/api/v1/invites/{id}", kSessionCsrf, invite_revoke},
    // routes_people.cpp
    {verb::get, "/api/v1/people", kSession, people_list},
    {verb::put, "/api/v1/people/{id}/role", kSessionCsrf, person_set_role},
    // routes_me.cpp
    {verb::get, "/api/v1/me", kSession, me_show},
    {verb::patch, "/api/v1/me", kSessionCsrf, me_correct},
    // routes_calls.cpp
    {verb::get, "/api/v1/calls", kSession, calls_list},
    {verb::get, "/api/v1/messages", kSession, messages_list},
    // routes_extensions.cpp
    {verb::get, "/api/v1/extensions", kSession, extensions_list},
    {verb::post, "/api/v1/extensions", kSessionCsrf, extension_add},
    {verb::post, "/api/v1/extensions/{id}/password", kSessionCsrf, extension_reset_password},
    {verb::patch, "/api/v1/extensions/{id}", kSessionCsrf, extension_update},
    {verb::get, "/api/v1/extensions/{id}/provisioning/{format}", kSession, extension_provisioning},
    {verb::delete_, "/api/v1/extensions/{id}", kSessionCsrf, extension_remove},
    // routes_dashboard.cpp
    {verb::get, "/api/v1/dashboard", kMember, dashboard_status},
    // routes_company.cpp
    {verb::get, "/api/v1/company", kMember, company_show},
    {verb::patch, "/api/v1/company", kMemberCsrf, company_update},
    {verb::get, "/api/v1/company/hours", kMember, company_hours_show},
    {verb::put, "/api/v1/company/hours", kMemberCsrf, company_hours_set},
    {verb::post, "/api/v1/company/closure", kMemberCsrf, company_close},
    {verb::delete_, "/api/v1/company/closure", kMemberCsrf, company_cancel_close},
    // routes_music.cpp
    {verb::get, "/api/v1/company/music", kMember, company_music_get},
    {verb::put, "/api/v1/company/music", kMemberCsrf, company_music_put},
    {verb::get, "/api/v1/company/music/audio", kMember, company_music_audio},
    {verb::delete_, "/api/v1/company/music", kMemberCsrf, company_music_remove},
    // routes_wallet.cpp
    {verb::get, "/api/v1/wallet", kMember, wallet_show},
    {verb::get, "/api/v1/wallet/ledger", kMember, wallet_ledger},
    {verb::post, "/api/v1/wallet/top-ups", kMemberCsrf, wallet_top_up},
    // routes_invoices.cpp: {id} or {id}.pdf
    {verb::get, "/api/v1/invoices", kMember, invoices_list},
    {verb::get, "/api/v1/invoices/{id}", kMember, invoice_show},
    // routes_fraud.cpp: office managers (their company's) and fraud staff (every company's)
    {verb::get, "/api/v1/fraud/alerts", kSession, fraud_alerts_list},
    {verb::post, "/api/v1/fraud/alerts/{id}/lift", kSessionCsrf, fraud_alert_lift},
    // routes_consents.cpp: a bad purpose is 400 before the session is looked at.
    {verb::get, "/api/v1/consents", kVisitor, consents_show},
    {verb::put, "/api/v1/consents/{purpose}", kVisitorCsrf, consent_set, consent_purpose_check},
    // routes_requests.cpp
    {verb::post, "/api/v1/requests", kMemberCsrf, request_open},
    {verb::get, "/api/v1/requests", kMember, requests_list},
    {verb::post, "/api/v1/requests/{id}/code", kMemberCsrf, request_send_code},
    {verb::post, "/api/v1/requests/{id}/verify", kMemberCsrf, request_verify},
    {verb::get, "/api/v1/requests/{id}/download", kMember, request_download},
    // routes_request_payment.cpp
    {verb::post, "/api/v1/requests/{id}/payment", kMemberCsrf, request_pay},
    // routes_optional_data.cpp
    {verb::post, "/api/v1/optional-data/{kind}", kMemberCsrf, optional_data_put},
    {verb::get, "/api/v1/optional-data/{kind}", kMember, optional_data_list},
    {verb::delete_, "/api/v1/optional-data/{kind}", kMemberCsrf, optional_data_remove},
    // routes_voicemail.cpp
    {verb::get, "/api/v1/voicemail", kMember, voicemail_list},
    {verb::get, "/api/v1/voicemail/{id}/audio", kMember, voicemail_audio},
    {verb::post, "/api/v1/voicemail/{id}/heard", kMemberCsrf, voicemail_heard},
    {verb::delete_, "/api/v1/voicemail/{id}", kMemberCsrf, voicemail_remove},
    {verb::put, "/api/v1/voicemail/greetings/{extension_id}", kMemberCsrf, voicemail_greeting_put},
    {verb::get, "/api/v1/voicemail/greetings/{extension_id}", kMember, voicemail_greeting_get},
    {verb::delete_, "/api/v1/voicemail/greetings/{extension_id}", kMemberCsrf, voicemail_greeting_remove},
    {verb::get, "/api/v1/voicemail/options/{extension_id}", kMember, voicemail_options_get},
    {verb::put, "/api/v1/voicemail/options/{extension_id}", kMemberCsrf, voicemail_options_put},
    // routes_forwarding.cpp: the office manager's (any line of the company) and the member's own
    {verb::get, "/api/v1/lines/{id}/forwarding", kMember, line_forwarding_get},
    {verb::put, "/api/v1/lines/{id}/forwarding", kMemberCsrf, line_forwarding_put},
    {verb::put, "/api/v1/lines/{id}/dnd", kMemberCsrf, line_dnd_put},
    {verb::get, "/api/v1/me/lines/{id}/forwarding", kMember, my_line_forwarding_get},
    {verb::put, "/api/v1/me/lines/{id}/forwarding", kMemberCsrf, my_line_forwarding_put},
    {verb::put, "/api/v1/me/lines/{id}/dnd", kMemberCsrf, my_line_dnd_put},
    // routes_ring_groups.cpp
    {verb::get, "/api/v1/ring-groups", kMember, ring_groups_list},
    {verb::post, "/api/v1/ring-groups", kMemberCsrf, ring_group_create},
    {verb::get, "/api/v1/ring-groups/{id}", kMember, ring_group_show},
    {verb::put, "/api/v1/ring-groups/{id}", kMemberCsrf, ring_group_update},
    {verb::delete_, "/api/v1/ring-groups/{id}", kMemberCsrf, ring_group_remove},
    // routes_receptionist.cpp
    {verb::get, "/api/v1/receptionist-menus", kMember, receptionist_menus_list},
    {verb::post, "/api/v1/receptionist-menus", kMemberCsrf, receptionist_menu_create},
    {verb::get, "/api/v1/receptionist-menus/{id}", kMember, receptionist_menu_show},
    {verb::put, "/api/v1/receptionist-menus/{id}", kMemberCsrf, receptionist_menu_update},
    {verb::delete_, "/api/v1/receptionist-menus/{id}", kMemberCsrf, receptionist_menu_remove},
    {verb::put, "/api/v1/receptionist-menus/{id}/greeting", kMemberCsrf, receptionist_greeting_put},
    {verb::get, "/api/v1/receptionist-menus/{id}/greeting", kMember, receptionist_greeting_get},
    {verb::delete_, "/api/v1/receptionist-menus/{id}/greeting", kMemberCsrf, receptionist_greeting_remove},
    {verb::post, "/api/v1/receptionist-menus/{id}/phone-recording", kMemberCsrf, receptionist_phone_recording},
    {verb::get, "/api/v1/receptionists", kMember, receptionists_list},
    {verb::post, "/api/v1/receptionists", kMemberCsrf, receptionist_create},
    {verb::get, "/api/v1/receptionists/{id}", kMember, receptionist_show},
    {verb::put, "/api/v1/receptionists/{id}", kMemberCsrf, receptionist_update},
    {verb::delete_, "/api/v1/receptionists/{id}", kMemberCsrf, receptionist_remove},
    // routes_conference.cpp: the office manager's (any room of the company) and the member's own line's
    {verb::get, "/api/v1/conference-rooms", kMember, conference_rooms_list},
    {verb::post, "/api/v1/conference-rooms", kMemberCsrf, conference_room_create},
    {verb::get, "/api/v1/conference-rooms/{id}", kMember, conference_room_show},
    {verb::put, "/api/v1/conference-rooms/{id}", kMemberCsrf, conference_room_update},
    {verb::delete_, "/api/v1/conference-rooms/{id}", kMemberCsrf, conference_room_remove},
    {verb::get, "/api/v1/conference-rooms/{id}/pin", kMember, conference_room_pin},
    {verb::get, "/api/v1/me/lines/{id}/conference-room", kMember, my_line_room_get},
    {verb::put, "/api/v1/me/lines/{id}/conference-room", kMemberCsrf, my_line_room_put},
    {verb::delete_, "/api/v1/me/lines/{id}/conference-room", kMemberCsrf, my_line_room_remove},
    {verb::get, "/api/v1/me/lines/{id}/conference-room/pin", kMember, my_line_room_pin},
    // routes_call_flow.cpp
    {verb::get, "/api/v1/call-flow", kMember, call_flow_show},
    // softphone.cpp (and the WebSocket at /sip, mounted beside the table)
    {verb::get, "/api/v1/me/softphone", kMember, my_softphone},
    // routes_public.cpp
    {verb::get, "/api/v1/privacy-notice", kPublic, privacy_notice},
    {verb::get, "/api/v1/portal-config", kPublic, portal_config},
    {verb::get, "/api/v1/openapi.json", kPublic, openapi},
    // routes_admin.cpp
    {verb::get, "/api/v1/admin/members", kStaffPurpose, admin_members},
    {verb::get, "/api/v1/admin/companies", kStaffPurpose, admin_companies},
    {verb::get, "/api/v1/admin/audit", kStaffPurpose, admin_audit},
    {verb::get, "/api/v1/admin/page-views", kStaff, admin_page_views},
    // routes_admin_legal.cpp
    {verb::get, "/api/v1/admin/requests", kLegalStaff, admin_requests},
    {verb::post, "/api/v1/admin/requests", kLegalStaffCsrf, admin_request_open},
    {verb::post, "/api/v1/admin/requests/{id}/waive", kLegalStaffCsrf, admin_request_waive},
    {verb::post, "/api/v1/admin/requests/{id}/refuse", kLegalStaffCsrf, admin_request_refuse},
    {verb::post, "/api/v1/admin/requests/{id}/extend", kLegalStaffCsrf, admin_request_extend},
    {verb::post, "/api/v1/admin/requests/{id}/complete", kLegalStaffCsrf, admin_request_complete},
    {verb::get, "/api/v1/admin/disclosures", kLegalStaff, admin_disclosures_list},
    {verb::post, "/api/v1/admin/disclosures", kLegalStaffCsrf, admin_disclosure_add},
    // routes_admin_bans.cpp
    {verb::get, "/api/v1/admin/sip-bans", kFraudStaff, admin_sip_bans},
    {verb::delete_, "/api/v1/admin/sip-bans/{id}", kFraudStaffCsrf, admin_sip_ban_lift},
};

// The handler a gate calls is the one type that takes what the gate establishes.
constexpr bool handler_fits_gate(const Route& r) {
  switch (r.gate.who) {
    case Gate::Who::anyone:
      return std::holds_alternative<PublicHandler>(r.handler) && !r.gate.csrf && r.gate.purpose == Gate::Purpose::none;
    case Gate::Who::visitor:
      return std::holds_alternative<VisitorHandler>(r.handler) && r.gate.purpose == Gate::Purpose::none;
    case Gate::Who::session:
    case Gate::Who::member:
      return std::holds_alternative<CallerHandler>(r.handler) && r.gate.purpose == Gate::Purpose::none;
    case Gate::Who::staff:
      return r.gate.purpose == Gate::Purpose::none ? std::holds_alternative<CallerHandler>(r.handler)
                                                   : std::holds_alternative<PurposeHandler>(r.handler);
  }
  return false;
}

// A session changes state only with its CSRF token, and reads never ask for one (the pages send it
// on every call that is not a GET).
constexpr bool csrf_follows_method(const Route& r) {
  return r.gate.who == Gate::Who::anyone || r.gate.csrf == (r.method != verb::get);
}

static_assert(std::ranges::all_of(kRoutes, handler_fits_gate), "a route's handler does not take what its gate gives");
static_assert(std::ranges::all_of(kRoutes, csrf_follows_method), "a state-changing session route lacks its CSRF check");

Response csrf_refusal() {
  return http::json_error(status::forbidden, "missing or wrong CSRF token", "X-CSRF-Token");
}

}  // namespace

std::span<const Route> route_table() { return kRoutes; }

Response pass_gate(Portal::Impl& p, const Route& route, const Exchange& e) {
  const Gate& gate = route.gate;
  if (route.check_path)
    if (std::optional<Response> refusal = route.check_path(e)) return std::move(*refusal);
  if (gate.who == Gate::Who::anyone) return std::get<PublicHandler>(route.handler)(p, e);

  const std::optional<Caller> caller = optional_session(p, e);
  if (caller && gate.csrf && !p.auth.csrf_matches(caller->token, e.header("X-CSRF-Token"))) return csrf_refusal();
  if (gate.who == Gate::Who::visitor) return std::get<VisitorHandler>(route.handler)(p, e, caller);

  if (!caller) return http::json_error(status::unauthorized, "log in first: no live session", "privox_session");
  const bool staff = is_staff(caller->who.role);
  if (gate.who == Gate::Who::member && staff)
    return http::json_error(status::forbidden, "only members have this", "role");
  if (gate.who == Gate::Who::staff && !staff)
    return http::json_error(status::forbidden, "only the operator's staff may do this", "role");
  if (gate.purpose == Gate::Purpose::none) return std::get<CallerHandler>(route.handler)(p, e, *caller);

  std::variant<privacy::Purpose, Response> purpose = staff_purpose(e, caller->who);
  if (auto* refusal = std::get_if<Response>(&purpose)) return std::move(*refusal);
  if (gate.purpose == Gate::Purpose::legal && std::get<privacy::Purpose>(purpose) != privacy::Purpose::legal)
    return http::json_error(status::forbidden, "the register and the request queue are for purpose legal", "purpose");
  if (gate.purpose == Gate::Purpose::fraud && std::get<privacy::Purpose>(purpose) != privacy::Purpose::fraud)
    return http::json_error(status::forbidden, "SIP bans are for purpose fraud", "purpose");
  return std::get<PurposeHandler>(route.handler)(p, e, *caller, std::get<privacy::Purpose>(purpose));
}

}  // namespace privox::portal
