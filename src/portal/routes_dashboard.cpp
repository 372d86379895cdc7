// The dashboard's status: how many of the caller's lines (a member's own, an office manager's
// company's) have a device registered, and how their calls went since a moment the page names
// (the start of its local day). Counts only: no party, address or device is read.
#include <nlohmann/json.hpp>

#include "portal/routes.h"
#include "sip/store_bindings.h"
#include "traffic/cdr.h"

namespace privox::portal::routes {
namespace {

// `since`: epoch seconds, no more than two days back (a local day's start, wherever the browser
// is), and not in the future.
std::variant<int64_t, Response> since_of(const Exchange& e, int64_t now_us) {
  const std::optional<std::string> text = e.query_param("since");
  if (!text) return http::json_error(status::bad_request, "is required: the start of the day, in epoch seconds", "since");
  if (text->empty() || text->size() > 12 || text->find_first_not_of("0123456789") != std::string::npos)
    return http::json_error(status::bad_request, "must be a time in whole epoch seconds", "since");
  const int64_t since_us = std::stoll(*text) * 1'000'000;
  constexpr int64_t kTwoDaysUs = int64_t{2} * 86'400 * 1'000'000;
  if (since_us > now_us || since_us < now_us - kTwoDaysUs)
    return http::json_error(status::bad_request, "must be within the last two days", "since");
  return since_us;
}

}  // namespace

Response dashboard_status(Portal::Impl& p, const Exchange& e, const Caller& c) {
  const int64_t now = p.clock.now_us();
  auto since = since_of(e, now);
  if (auto* refusal = std::get_if<Response>(&since)) return std::move(*refusal);
  auto lines = visible_lines(p.extensions, c.who);
  if (!lines.ok()) return error_response(lines.error());
  int64_t registered_lines = 0, devices = 0;
  traffic::CallCounts calls;
  Status read = store::with_transaction(p.store, store::TxMode::read, [&](store::Session& s) -> Status {
    registered_lines = devices = 0;
    std::vector<std::string> ids;
    for (const accounts::Extension& x : *lines) {
      PRIVOX_ASSIGN(std::vector<sip::StoredDevice> stored, sip::stored_devices(s, p.keys, x.id, now, false));
      devices += static_cast<int64_t>(stored.size());
      registered_lines += stored.empty() ? 0 : 1;
      ids.push_back(x.id);
    }
    PRIVOX_ASSIGN(calls, traffic::count_calls(s, ids, std::get<int64_t>(since)));
    return {};
  });
  if (!read.ok()) return error_response(read.error());
  return http::json_response(status::ok, {{"scope", c.who.role == Role::office_manager ? "company" : "own"},
                                          {"lines", lines->size()},
                                          {"registered_lines", registered_lines},
                                          {"devices", devices},
                                          {"calls",
                                           {{"since", format_utc(std::get<int64_t>(since))},
                                            {"total", calls.total},
                                            {"answered", calls.answered},
                                            {"not_answered", calls.not_answered()},
                                            {"in_progress", calls.in_progress}}}});
}

}  // namespace privox::portal::routes
