// The member's company and its closure (issue 13): every member sees whether the company is
// closing and when its phone service ends; the office manager schedules the closure, after typing
// the company's name, and can call it off until the service ends (retention/closures.h). Every
// member is told by email when the closure is scheduled and when it is called off.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "accounts/accounts.h"
#include "accounts/business_hours.h"
#include "common/log.h"
#include "notify/mailer.h"
#include "portal/routes.h"
#include "privacy/audit_record.h"
#include "retention/closures.h"
#include "store/settings.h"

namespace privox::portal::routes {
namespace {

std::string_view closure_state(const accounts::CompanyClosure& c) {
  if (c.closed()) return "closed";
  return c.scheduled() ? "closing" : "open";
}

Response company_json(Portal::Impl& p, const std::string& company_id, status code) {
  auto company = p.accounts.company(company_id);
  if (!company.ok()) return error_response(company.error());
  auto closure = retention::CompanyClosures(p.store, p.keys, p.clock).get(company_id);
  if (!closure.ok()) return error_response(closure.error());
  auto notice = store::Settings(p.store).integer("retention.company_closure_notice_days");
  if (!notice.ok()) return error_response(notice.error());
  auto digest = p.extensions.company_digest(company_id);
  if (!digest.ok()) return error_response(digest.error());
  auto encryption = p.extensions.company_requires_encryption(company_id);
  if (!encryption.ok()) return error_response(encryption.error());
  nlohmann::json out = {{"id", company->id},
                        {"name", company->name},
                        {"country", company->country},
                        {"time_zone", company->time_zone},
                        {"closure_notice_days", *notice},
                        {"state", closure_state(*closure)},
                        {"sip_digest", *digest ? nlohmann::json(accounts::to_string(**digest)) : nlohmann::json(nullptr)},
                        {"require_encryption", *encryption}};
  if (closure->scheduled() || closure->closed()) {
    out["closure_requested_at"] = format_utc(closure->requested_at_us);
    out["service_ends_at"] = format_utc(closure->service_ends_at_us);
  }
  if (closure->closed()) out["closed_at"] = format_utc(closure->closed_at_us);
  return http::json_response(code, out);
}

std::optional<Response> only_the_office_manager(const Caller& c) {
  if (c.who.role == Role::office_manager) return std::nullopt;
  return http::json_error(status::forbidden, "only an office manager can close the company or call it off", "role");
}

// The company's members' addresses, opened under each member's key, with one audit entry (counts
// only) naming why they were read.
Result<std::vector<std::string>> member_addresses(Portal::Impl& p, const std::string& company_id,
                                                  const std::string& actor) {
  std::vector<std::string> out;
  Status read = store::with_transaction(p.store, store::TxMode::write, [&](store::Session& s) -> Status {
    out.clear();
    PRIVOX_ASSIGN(const std::vector<accounts::MemberRow> members, accounts::active_members_of_company(s, company_id));
    for (const accounts::MemberRow& m : members) {
      PRIVOX_ASSIGN(accounts::FieldValues fields,
                    accounts::open_member_fields(s, p.keys, m.id, {accounts::member_field("email")}));
      if (!fields["email"].empty()) out.push_back(fields["email"]);
    }
    PRIVOX_TRY(p.audit.append(s, {actor, "company.closure_notice", "", "service",
                                  {{"company_id", company_id}, {"members", out.size()}}}));
    return {};
  });
  if (!read.ok()) return read.error();
  return out;
}

notify::Email closure_email(const Portal::Impl& p, const std::string& to, const std::string& company,
                            const accounts::CompanyClosure* closing) {
  if (closing)
    return {to, fmt::format("{} is closing its privox phone service", company),
            fmt::format("An office manager of {} has closed its privox account.\n\n"
                        "Its phone lines stop working on {} (UTC). After that your account is closed and your data is "
                        "kept or deleted as the privacy notice says ({}/notice.html).\n\n"
                        "Until then an office manager can call the closure off on the Company page. If you want a copy "
                        "of your data, ask for it in the privacy centre before that day: {}/privacy.html\n",
                        company, format_utc(closing->service_ends_at_us), p.options.public_url, p.options.public_url),
            {}};
  return {to, fmt::format("{} is no longer closing its privox phone service", company),
          fmt::format("An office manager of {} has called off the closure of its privox account. Your phone lines "
                      "and your account carry on as before.\n",
                      company),
          {}};
}

// Tells every member; the closure stands whatever the mail relay does, and the log names the
// company only.
void tell_members(Portal::Impl& p, const std::string& company_id, const accounts::CompanyClosure* closing,
                  const std::string& actor) {
  auto company = p.accounts.company(company_id);
  auto addresses = member_addresses(p, company_id, actor);
  if (!company.ok() || !addresses.ok()) {
    log::warn("portal", "closure_mail.not_sent",
              {{"company", log::Id(company_id)},
               {"error", log::error_code(company.ok() ? addresses.error() : company.error())}});
    return;
  }
  size_t failed = 0;
  for (const std::string& to : *addresses)
    if (!send_mail(p, closure_email(p, to, company->name, closing)).ok()) ++failed;
  if (failed)
    log::warn("portal", "closure_mail.partly_sent",
              {{"company", log::Id(company_id)}, {"failed", failed}, {"recipients", addresses->size()}});
}

}  // namespace

Response company_show(Portal::Impl& p, const Exchange&, const Caller& c) {
  return company_json(p, c.who.company_id, status::ok);
}

// The company's time zone (an IANA name, accounts/time_zone.h), checked before anything changes.
std::optional<Response> company_time_zone(Portal::Impl& p, const nlohmann::json& body, const Caller& c) {
  if (!body["time_zone"].is_string())
    return http::json_error(status::bad_request, "must be an IANA time zone such as Europe/London, or UTC", "time_zone");
  if (Status s = p.accounts.set_time_zone(c.who.company_id, body["time_zone"].get<std::string>(), c.who.subject_id);
      !s.ok())
    return error_response(s.error());
  return std::nullopt;
}

// The company's digest choice for its lines' phones (accounts::DigestChoice): "md5", "sha256", or
// null for the node's default; whether its phones must use TLS and SRTP; and its time zone.
Response company_update(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (c.who.role != Role::office_manager)
    return http::json_error(status::forbidden, "only an office manager changes the company's phone settings", "role");
  auto parsed = json_body(e);
  if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
  const nlohmann::json& body = std::get<nlohmann::json>(parsed);
  const bool digest = body.contains("sip_digest");
  const bool encryption = body.contains("require_encryption");
  if (!digest && !encryption && !body.contains("time_zone"))
    return http::json_error(status::bad_request, "nothing to change: give sip_digest, require_encryption or time_zone",
                            "sip_digest");
  if (encryption && !body["require_encryption"].is_boolean())
    return http::json_error(status::bad_request, "must be true or false", "require_encryption");
  std::optional<accounts::DigestChoice> choice;
  if (digest && !body["sip_digest"].is_null()) {
    choice = body["sip_digest"].is_string() ? accounts::parse_digest_choice(body["sip_digest"].get<std::string>())
                                            : std::nullopt;
    if (!choice) return http::json_error(status::bad_request, "must be md5, sha256 or null", "sip_digest");
  }
  if (body.contains("time_zone"))
    if (auto refusal = company_time_zone(p, body, c)) return std::move(*refusal);
  if (digest)
    if (Status s = p.extensions.set_company_digest(c.who.company_id, choice, c.who.subject_id); !s.ok())
      return error_response(s.error());
  if (encryption)
    if (Status s = p.extensions.set_company_encryption(c.who.company_id, body["require_encryption"].get<bool>(),
                                                       c.who.subject_id);
        !s.ok())
      return error_response(s.error());
  return company_json(p, c.who.company_id, status::ok);
}

nlohmann::json hours_json(const accounts::CompanyHours& h) {
  nlohmann::json holidays = nlohmann::json::array();
  for (const accounts::Holiday& d : h.holidays) holidays.push_back({{"date", d.date}, {"label", d.label}});
  nlohmann::json week = nullptr;
  if (h.week) {
    week = nlohmann::json::object();
    for (size_t day = 0; day < h.week->size(); ++day) {
      nlohmann::json intervals = nlohmann::json::array();
      for (const accounts::OpenInterval& i : (*h.week)[day]) intervals.push_back(accounts::format_interval(i));
      week[std::string(accounts::weekday_key(day))] = std::move(intervals);
    }
  }
  return {{"hours", std::move(week)}, {"holidays", std::move(holidays)}};
}

namespace {

// {"hours": {"mon": ["09:00-17:30"], ...} or null, "holidays": [{"date", "label"}]}; a day left
// out is closed. Errors name the field (hours.tue, holidays).
Result<accounts::CompanyHours> hours_from_json(const nlohmann::json& body) {
  accounts::CompanyHours out;
  const nlohmann::json hours = body.value("hours", nlohmann::json(nullptr));
  if (!hours.is_null()) {
    if (!hours.is_object()) return invalid("hours", "must be an object of weekdays (mon..sun) or null");
    out.week.emplace();
    for (const auto& [key, intervals] : hours.items()) {
      const auto day = accounts::weekday_of(key);
      if (!day) return invalid("hours", fmt::format("'{}' is not a weekday mon..sun", key));
      const std::string field = fmt::format("hours.{}", accounts::weekday_key(*day));
      if (!intervals.is_array()) return invalid(field, "must be a list of intervals HH:MM-HH:MM");
      std::string joined;
      for (const nlohmann::json& i : intervals) {
        if (!i.is_string() || i.get<std::string>().empty()) return invalid(field, "must be a list of intervals HH:MM-HH:MM");
        joined += (joined.empty() ? "" : ",") + i.get<std::string>();
      }
      PRIVOX_ASSIGN((*out.week)[*day], accounts::parse_day_hours(joined, field));
    }
  }
  const nlohmann::json holidays = body.value("holidays", nlohmann::json::array());
  if (!holidays.is_array()) return invalid("holidays", "must be a list of {date, label}");
  for (const nlohmann::json& h : holidays) {
    if (!h.is_object() || !h.value("date", nlohmann::json()).is_string() ||
        !h.value("label", nlohmann::json("")).is_string())
      return invalid("holidays", "each holiday is {\"date\": \"YYYY-MM-DD\", \"label\": \"...\"}");
    out.holidays.push_back({h["date"].get<std::string>(), h.value("label", std::string())});
  }
  return out;
}

}  // namespace

Response company_hours_show(Portal::Impl& p, const Exchange&, const Caller& c) {
  auto hours = accounts::BusinessHours(p.store, p.keys, p.clock).get(c.who.company_id);
  if (!hours.ok()) return error_response(hours.error());
  return http::json_response(status::ok, hours_json(*hours));
}

Response company_hours_set(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (c.who.role != Role::office_manager)
    return http::json_error(status::forbidden, "only an office manager sets the company's business hours", "role");
  auto parsed = json_body(e);
  if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
  auto wanted = hours_from_json(std::get<nlohmann::json>(parsed));
  if (!wanted.ok()) return error_response(wanted.error());
  auto stored = accounts::BusinessHours(p.store, p.keys, p.clock).set(c.who.company_id, *std::move(wanted), c.who.subject_id);
  if (!stored.ok()) return error_response(stored.error());
  return http::json_response(status::ok, hours_json(*stored));
}

Response company_close(Portal::Impl& p, const Exchange& e, const Caller& c) {
  if (auto refusal = only_the_office_manager(c)) return std::move(*refusal);
  auto parsed = json_body(e);
  if (auto* refusal = std::get_if<Response>(&parsed)) return std::move(*refusal);
  std::optional<Response> bad;
  const std::string confirm = string_field(std::get<nlohmann::json>(parsed), "confirm", bad).value_or("");
  if (bad) return std::move(*bad);
  auto company = p.accounts.company(c.who.company_id);
  if (!company.ok()) return error_response(company.error());
  // Typing the name makes an irreversible end of service a deliberate act, not a stray click.
  if (confirm != company->name)
    return http::json_error(status::bad_request, "Type the company's name exactly to confirm closing it", "confirm");
  auto closure = retention::CompanyClosures(p.store, p.keys, p.clock).schedule(c.who.company_id, c.who.subject_id);
  if (!closure.ok()) return error_response(closure.error());
  tell_members(p, c.who.company_id, &*closure, c.who.subject_id);
  return company_json(p, c.who.company_id, status::created);
}

Response company_cancel_close(Portal::Impl& p, const Exchange&, const Caller& c) {
  if (auto refusal = only_the_office_manager(c)) return std::move(*refusal);
  Status cancelled = retention::CompanyClosures(p.store, p.keys, p.clock).cancel(c.who.company_id, c.who.subject_id);
  if (!cancelled.ok()) return error_response(cancelled.error());
  tell_members(p, c.who.company_id, nullptr, c.who.subject_id);
  return company_json(p, c.who.company_id, status::ok);
}

}  // namespace privox::portal::routes
