#include "rights/requests.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sodium.h>

#include <algorithm>
#include <chrono>

#include "accounts/accounts.h"
#include "common/ids.h"
#include "privacy/audit_record.h"
#include "privacy/datamap.h"
#include "rights/corrections.h"
#include "rights/fulfil.h"
#include "store/settings.h"

namespace privox::rights {
namespace {

using store::Params;
using store::Rows;
using store::Session;
using store::TxMode;

constexpr int64_t kMinuteUs = 60'000'000;
constexpr size_t kMaxReason = 500;
constexpr size_t kMaxReference = 200;
constexpr std::string_view kCodeIndex = "rights_request_code";

constexpr std::string_view kColumns =
    "id, member_id, kind, state, channel, received_at_us, paused_us, paused_since_us, extension_months, "
    "extension_reason, fee_minor_units, fee_currency, fee_status, fee_waiver_reason, payment_reference, "
    "identity_verified_at_us, exported_at_us, closed_at_us, refusal_reason, correction_fields, outcome, "
    "code_hash, code_expires_at_us, code_tries_left";

// A request as stored, with what never leaves this file: the pause start and the code's state.
struct Stored {
  Request r;
  std::optional<int64_t> paused_since_us;
  std::optional<Bytes> code_hash;
  int64_t code_expires_at_us = 0;
  int64_t code_tries_left = 0;
};

template <typename Enum, size_t N>
std::optional<Enum> parse_enum(std::string_view text, const std::array<Enum, N>& all) {
  for (Enum e : all)
    if (to_string(e) == text) return e;
  return std::nullopt;
}
constexpr std::array kStates = {RequestState::received,    RequestState::awaiting_identity, RequestState::awaiting_fee,
                                RequestState::in_progress, RequestState::completed,         RequestState::refused};
constexpr std::array kFees = {FeeStatus::none, FeeStatus::due, FeeStatus::waived, FeeStatus::paid};
constexpr std::array kKinds = {RequestKind::access, RequestKind::rectify, RequestKind::erase};

bool pauses_clock(RequestState s) { return s == RequestState::awaiting_identity || s == RequestState::awaiting_fee; }

int64_t opt_i64(const store::Row& row, size_t i) { return row.is_null(i) ? 0 : row.i64(i); }

// The due date as of `now_us`: a paused request's moves on while it waits.
Stored refreshed(Stored st, int64_t now_us) {
  Request& r = st.r;
  r.paused = st.paused_since_us.has_value();
  const int64_t pausing_now = st.paused_since_us ? std::max<int64_t>(0, now_us - *st.paused_since_us) : 0;
  r.due_at_us = add_calendar_months(r.received_at_us, 1 + r.extension_months) + r.paused_us + pausing_now;
  r.code_tries_left = st.code_hash ? st.code_tries_left : 0;
  r.code_expires_at_us = st.code_hash ? st.code_expires_at_us : 0;
  return st;
}

Stored from_row(const store::Row& row, int64_t now_us) {
  Stored st;
  Request& r = st.r;
  r.id = row.text(0);
  r.member_id = row.text(1);
  r.kind = parse_enum(row.text(2), kKinds).value_or(RequestKind::access);
  r.state = parse_enum(row.text(3), kStates).value_or(RequestState::received);
  r.channel = row.text(4);
  r.received_at_us = row.i64(5);
  r.paused_us = row.i64(6);
  if (!row.is_null(7)) st.paused_since_us = row.i64(7);
  r.extension_months = static_cast<int>(row.i64(8));
  r.extension_reason = row.text_or(9, "");
  r.fee_minor_units = row.i64(10);
  r.fee_currency = row.text(11);
  r.fee_status = parse_enum(row.text(12), kFees).value_or(FeeStatus::none);
  r.fee_waiver_reason = row.text_or(13, "");
  r.payment_reference = row.text_or(14, "");
  r.identity_verified_at_us = opt_i64(row, 15);
  r.exported_at_us = opt_i64(row, 16);
  r.closed_at_us = opt_i64(row, 17);
  r.refusal_reason = row.text_or(18, "");
  if (!row.is_null(19))
    for (const auto& f : nlohmann::json::parse(row.text(19), nullptr, false)) r.correction_fields.push_back(f);
  if (!row.is_null(20)) r.outcome_json = row.text(20);
  if (!row.is_null(21)) st.code_hash = row.blob(21);
  st.code_expires_at_us = opt_i64(row, 22);
  st.code_tries_left = opt_i64(row, 23);
  return refreshed(std::move(st), now_us);
}

Result<Stored> load(Session& s, const std::string& id, int64_t now_us) {
  PRIVOX_ASSIGN(Rows rows, s.query(fmt::format("SELECT {} FROM rights_requests WHERE id = ?", kColumns), {id}));
  if (rows.empty()) return Error{ErrorCode::not_found, "id", fmt::format("no rights request has id {}", id)};
  return from_row(rows[0], now_us);
}

store::Value text_or_null(const std::string& s) { return s.empty() ? store::null_value() : store::Value(s); }
store::Value i64_or_null(int64_t v) { return v ? store::Value(v) : store::null_value(); }

Status save(Session& s, const Stored& st, int64_t now_us) {
  const Request& r = st.r;
  PRIVOX_TRY(s.exec(
      "UPDATE rights_requests SET state = ?, paused_us = ?, paused_since_us = ?, extension_months = ?, "
      "extension_reason = ?, fee_status = ?, fee_waiver_reason = ?, payment_reference = ?, "
      "identity_verified_at_us = ?, exported_at_us = ?, closed_at_us = ?, refusal_reason = ?, outcome = ?, "
      "code_hash = ?, code_expires_at_us = ?, code_tries_left = ?, updated_at_us = ? WHERE id = ?",
      {std::string(to_string(r.state)), r.paused_us,
       st.paused_since_us ? store::Value(*st.paused_since_us) : store::null_value(),
       static_cast<int64_t>(r.extension_months), text_or_null(r.extension_reason), std::string(to_string(r.fee_status)),
       text_or_null(r.fee_waiver_reason), text_or_null(r.payment_reference), i64_or_null(r.identity_verified_at_us),
       i64_or_null(r.exported_at_us), i64_or_null(r.closed_at_us), text_or_null(r.refusal_reason),
       r.outcome_json.empty() ? store::null_value() : store::Value(r.outcome_json),
       st.code_hash ? store::Value(*st.code_hash) : store::null_value(), i64_or_null(st.code_expires_at_us),
       i64_or_null(st.code_tries_left), now_us, r.id}));
  return {};
}

// Moves to `to`, keeping the pause accounting: time spent awaiting identity or the fee is added
// to paused_us when the request leaves those states.
void move_to(Stored& st, RequestState to, int64_t now_us) {
  if (st.paused_since_us && !pauses_clock(to)) {
    st.r.paused_us += std::max<int64_t>(0, now_us - *st.paused_since_us);
    st.paused_since_us.reset();
  } else if (!st.paused_since_us && pauses_clock(to)) {
    st.paused_since_us = now_us;
  }
  st.r.state = to;
  if (!is_open(to)) st.r.closed_at_us = now_us;
}

Status require_open(const Request& r) {
  if (is_open(r.state)) return {};
  return Error{ErrorCode::conflict, "id",
               fmt::format("request {} is {} and can no longer change", r.id, to_string(r.state))};
}

Result<std::string> check_reason(std::string_view field, std::string_view text, size_t max) {
  return accounts::normalise_text(field, text, max, false);
}

std::string fee_text(const Request& r) { return format_money(r.fee_minor_units, r.fee_currency); }

// UK GDPR Art. 12(5) and 15(3): a person's first copy of their data is free; the operator's fee is
// for further copies. A further copy is an access request after an earlier one that was not refused.
Result<bool> had_a_copy_before(Session& s, const std::string& member_id) {
  PRIVOX_ASSIGN(store::Rows earlier, s.query("SELECT count(*) FROM rights_requests WHERE member_id = ? AND "
                                             "kind = 'access' AND state <> 'refused'",
                                             {member_id}));
  return !earlier.empty() && earlier[0].i64(0) > 0;
}

std::string due_text(int64_t us) { return format_date(utc_date(us)); }

Bytes code_hash(const privacy::Keyring& keys, const std::string& request_id, std::string_view code) {
  return keys.blind_index(kCodeIndex, fmt::format("{}:{}", request_id, code));
}

}  // namespace

std::string_view to_string(RequestKind k) {
  switch (k) {
    case RequestKind::access: return "access";
    case RequestKind::rectify: return "rectify";
    case RequestKind::erase: return "erase";
  }
  return "?";
}

std::string_view to_string(RequestState s) {
  switch (s) {
    case RequestState::received: return "received";
    case RequestState::awaiting_identity: return "awaiting_identity";
    case RequestState::awaiting_fee: return "awaiting_fee";
    case RequestState::in_progress: return "in_progress";
    case RequestState::completed: return "completed";
    case RequestState::refused: return "refused";
  }
  return "?";
}

std::string_view to_string(FeeStatus f) {
  switch (f) {
    case FeeStatus::none: return "none";
    case FeeStatus::due: return "due";
    case FeeStatus::waived: return "waived";
    case FeeStatus::paid: return "paid";
  }
  return "?";
}

std::optional<RequestKind> parse_request_kind(std::string_view text) { return parse_enum(text, kKinds); }

bool is_open(RequestState s) { return s != RequestState::completed && s != RequestState::refused; }

nlohmann::json Request::outcome() const {
  // Written only by complete() and export(), from values privox built itself.
  return outcome_json.empty() ? nlohmann::json() : nlohmann::json::parse(outcome_json, nullptr, false);
}

nlohmann::json Request::to_json(int64_t now_us) const {
  nlohmann::json j = {{"id", id},
                      {"member_id", member_id},
                      {"kind", to_string(kind)},
                      {"state", to_string(state)},
                      {"channel", channel},
                      {"received_at", format_utc(received_at_us)},
                      {"due_at", format_utc(due_at_us)},
                      {"due_date", due_text(due_at_us)},
                      {"overdue", overdue(now_us)},
                      {"clock_paused", paused},
                      {"paused_seconds", paused_us / 1'000'000},
                      {"extension_months", extension_months},
                      {"fee", {{"status", to_string(fee_status)},
                               {"minor_units", fee_minor_units},
                               {"currency", fee_currency},
                               {"amount", fee_text(*this)}}}};
  if (!extension_reason.empty()) j["extension_reason"] = extension_reason;
  if (!fee_waiver_reason.empty()) j["fee"]["waiver_reason"] = fee_waiver_reason;
  if (!payment_reference.empty()) j["fee"]["payment_reference"] = payment_reference;
  if (identity_verified_at_us) j["identity_verified_at"] = format_utc(identity_verified_at_us);
  if (exported_at_us) j["exported_at"] = format_utc(exported_at_us);
  if (closed_at_us) j["closed_at"] = format_utc(closed_at_us);
  if (!refusal_reason.empty()) j["refusal_reason"] = refusal_reason;
  if (!correction_fields.empty()) j["correction_fields"] = correction_fields;
  if (!outcome_json.empty()) j["outcome"] = outcome();
  // What the member needs to finish the identity check: how many tries remain, until when.
  if (state == RequestState::awaiting_identity)
    j["code"] = {{"pending", code_tries_left > 0},
                 {"tries_left", code_tries_left},
                 {"expires_at", code_expires_at_us ? nlohmann::json(format_utc(code_expires_at_us)) : nlohmann::json()}};
  if (const int64_t until = download_until_us(*this))
    j["download"] = {{"until", format_utc(until)}, {"available", now_us < until}};
  return j;
}

int64_t add_calendar_months(int64_t from_us, int count) {
  using namespace std::chrono;
  const sys_days day = floor<days>(sys_time<microseconds>(microseconds(from_us)));
  const int64_t time_of_day = from_us - duration_cast<microseconds>(day.time_since_epoch()).count();
  const year_month_day ymd{day};
  const year_month target = year_month{ymd.year(), ymd.month()} + months{count};
  const std::chrono::day last = year_month_day_last{target.year(), month_day_last{target.month()}}.day();
  const sys_days out{year_month_day{target.year(), target.month(), std::min(ymd.day(), last)}};
  return duration_cast<microseconds>(out.time_since_epoch()).count() + time_of_day;
}

namespace {

// The checks open() and correct_directly() share: the channel, and for a rectification the
// corrected fields (validated fully when they are applied).
Status check_new_request(const NewRequest& input) {
  if (input.channel.empty() || input.channel.size() > 32 ||
      input.channel.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") != std::string::npos)
    return invalid("channel", "must be a short lower-case word such as cli, portal or email");
  if (input.kind == RequestKind::rectify) {
    if (input.corrections.empty()) return invalid("corrections", "a rectification names at least one field to correct");
    for (const auto& [name, value] : input.corrections) {
      const privacy::FieldSpec* f = accounts::member_field(name);
      if (!f || f->format == privacy::Format::recorded)
        return invalid(name, fmt::format("'{}' is not a member field that can be corrected", name));
    }
    PRIVOX_TRY(accounts::refuse_card_numbers(input.corrections));
  } else if (!input.corrections.empty()) {
    return invalid("corrections", "only a rectification request carries corrections");
  }
  return {};
}

}  // namespace

Result<Request> Requests::insert_new(Session& s, const NewRequest& input, const std::string& member_id, int64_t now,
                                     const std::string& actor) {
  PRIVOX_ASSIGN(std::optional<accounts::MemberRow> member, accounts::find_member(s, member_id));
  if (!member) return Error{ErrorCode::not_found, "member", fmt::format("no member has id {}", member_id)};
  if (member->erased)
    return Error{ErrorCode::erased, "member", fmt::format("member {} was erased; nothing is held to ask about", member_id)};
  // A request that came by letter or email is entered later; its month runs from its receipt.
  const int64_t received = input.received_at_us.value_or(now);
  if (received > now) return invalid("received_at", "is in the future; give the day the request arrived");
  if (received < member->created_at_us)
    return invalid("received_at", fmt::format("is before the member's account was opened ({})",
                                              format_utc(member->created_at_us)));
  const store::Settings settings(store_);
  Request r;
  r.id = new_id(now);
  r.member_id = member_id;
  r.kind = input.kind;
  r.channel = input.channel;
  r.received_at_us = received;
  PRIVOX_ASSIGN(r.fee_currency, settings.text(s, "rights.fee_currency"));
  PRIVOX_ASSIGN(const bool further_copy, had_a_copy_before(s, member_id));
  if (input.kind == RequestKind::access && further_copy) {
    PRIVOX_ASSIGN(r.fee_minor_units, settings.integer(s, "rights.fee_minor_units"));
    r.fee_status = r.fee_minor_units > 0 ? FeeStatus::due : FeeStatus::none;
  }
  store::Value corrections_enc = store::null_value(), fields = store::null_value();
  if (input.kind == RequestKind::rectify) {
    PRIVOX_ASSIGN(privacy::SecretKey key, privacy::subject_keys::load(s, keys_, member_id));
    const nlohmann::json values(input.corrections);
    corrections_enc = privacy::seal_field(key, member_id, "request_corrections", values.dump());
    for (const auto& [name, value] : input.corrections) r.correction_fields.push_back(name);
    fields = nlohmann::json(r.correction_fields).dump();
  }
  PRIVOX_TRY(s.exec("INSERT INTO rights_requests (id, member_id, kind, state, channel, received_at_us, "
                    "fee_minor_units, fee_currency, fee_status, corrections_enc, correction_fields, updated_at_us) "
                    "VALUES (?, ?, ?, 'received', ?, ?, ?, ?, ?, ?, ?, ?)",
                    {r.id, member_id, std::string(to_string(r.kind)), r.channel, received, r.fee_minor_units,
                     r.fee_currency, std::string(to_string(r.fee_status)), corrections_enc, fields, now}));
  nlohmann::json detail = {{"request_id", r.id},
                           {"kind", to_string(r.kind)},
                           {"channel", r.channel},
                           {"fields", r.correction_fields}};
  if (input.received_at_us) detail["received_at"] = format_utc(received);
  PRIVOX_TRY(audit_.append(s, {actor, "request.open", member_id, "legal", detail}));
  r.due_at_us = add_calendar_months(received, 1);
  return r;
}

Result<Request> Requests::open(const NewRequest& input, const std::string& actor) {
  PRIVOX_ASSIGN(std::string member_id, accounts::check_id("member", input.member_id));
  PRIVOX_TRY(check_new_request(input));
  const int64_t now = clock_.now_us();
  Request out;
  PRIVOX_TRY(store::with_transaction(store_, TxMode::write, [&](Session& s) -> Status {
    PRIVOX_ASSIGN(out, insert_new(s, input, member_id, now, actor));
    return {};
  }));
  return out;
}

Result<Request> Requests::correct_directly(const std::string& member_id, const accounts::FieldValues& corrections,
                                           const std::string& channel, const std::string& actor) {
  PRIVOX_ASSIGN(std::string id, accounts::check_id("member", member_id));
  const NewRequest input{id, RequestKind::rectify, corrections, channel, std::nullopt};
  PRIVOX_TRY(check_new_request(input));
  const int64_t now = clock_.now_us();
  Stored st;
  PRIVOX_TRY(store::with_transaction(store_, TxMode::write, [&](Session& s) -> Status {
    PRIVOX_ASSIGN(Request r, insert_new(s, input, id, now, actor));
    PRIVOX_ASSIGN(st, load(s, r.id, now));
    // Whoever corrects directly is already known (a portal session, staff): no identity check.
    st.r.identity_verified_at_us = now;
    PRIVOX_ASSIGN(const nlohmann::json corrected,
                  correct_and_notify(s, store_, keys_, clock_, id, corrections, r.id, actor));
    st.r.outcome_json = corrected.dump();
    move_to(st, RequestState::completed, now);
    PRIVOX_TRY(save(s, st, now));
    PRIVOX_TRY(audit_.append(s, {actor, "request.complete", id, "legal",
                                 {{"request_id", r.id}, {"kind", to_string(RequestKind::rectify)}}}));
    return {};
  }));
  return refreshed(std::move(st), now).r;
}

Result<Request> Requests::get(const std::string& id) {
  PRIVOX_ASSIGN(std::string checked, accounts::check_id("id", id));
  PRIVOX_ASSIGN(auto tx, store_.begin(TxMode::read));
  PRIVOX_ASSIGN(Stored st, load(*tx, checked, clock_.now_us()));
  return st.r;
}

Result<std::vector<Request>> Requests::list(const ListOptions& options) {
  std::string sql = fmt::format("SELECT {} FROM rights_requests WHERE 1 = 1", kColumns);
  Params params;
  if (!options.include_closed) sql += " AND state NOT IN ('completed', 'refused')";
  if (!options.member_id.empty()) {
    PRIVOX_ASSIGN(std::string member, accounts::check_id("member", options.member_id));
    sql += " AND member_id = ?";
    params.emplace_back(member);
  }
  const int64_t now = clock_.now_us();
  PRIVOX_ASSIGN(auto tx, store_.begin(TxMode::read));
  PRIVOX_ASSIGN(Rows rows, tx->query(sql, params));
  std::vector<Request> out;
  out.reserve(rows.size());
  for (const store::Row& row : rows) out.push_back(from_row(row, now).r);
  // The queue: open before closed, overdue before the rest, then the nearest deadline first.
  std::stable_sort(out.begin(), out.end(), [now](const Request& a, const Request& b) {
    const auto key = [now](const Request& r) {
      return std::tuple(!is_open(r.state), !r.overdue(now), is_open(r.state) ? r.due_at_us : -r.closed_at_us, r.id);
    };
    return key(a) < key(b);
  });
  return out;
}

Result<Request> Requests::send_code(const std::string& id, notify::Mailer& mailer, const std::string& actor) {
  PRIVOX_ASSIGN(Request before, get(id));
  if (before.state != RequestState::received && before.state != RequestState::awaiting_identity)
    return Error{ErrorCode::conflict, "id",
                 fmt::format("request {} is {}; a code is sent only before identity is verified", id,
                             to_string(before.state))};
  PRIVOX_ASSIGN(std::string email, member_email(store_, keys_, clock_, before.member_id, actor));
  PRIVOX_ASSIGN(const int64_t ttl_minutes, store::Settings(store_).integer("rights.code_ttl_minutes"));
  PRIVOX_ASSIGN(const int64_t max_tries, store::Settings(store_).integer("rights.code_max_tries"));
  const std::string code = fmt::format("{:08}", randombytes_uniform(100'000'000));
  const int64_t now = clock_.now_us();

  // The mail goes first: a relay that refuses it leaves the request as it was.
  notify::Email mail{email, "Your privacy request: identity check code",
                     fmt::format("We received your {} request (reference {}).\n\n"
                                 "To confirm it is you, enter this code: {}\n\n"
                                 "The code is valid for {} minutes. If you did not make this request, ignore "
                                 "this message.\n{}",
                                 to_string(before.kind), id, code, ttl_minutes,
                                 before.fee_status == FeeStatus::due
                                     ? fmt::format("\nAn administration fee of {} applies to a copy of your data.\n",
                                                   fee_text(before))
                                     : std::string()),
                     {}};
  PRIVOX_TRY(mailer.send(mail));

  Stored st;
  PRIVOX_TRY(store::with_transaction(store_, TxMode::write, [&](Session& s) -> Status {
    PRIVOX_ASSIGN(st, load(s, id, now));
    if (st.r.state != RequestState::received && st.r.state != RequestState::awaiting_identity)
      return Error{ErrorCode::conflict, "id", fmt::format("request {} changed to {} meanwhile", id, to_string(st.r.state))};
    st.code_hash = code_hash(keys_, id, code);
    st.code_expires_at_us = now + ttl_minutes * kMinuteUs;
    st.code_tries_left = max_tries;
    move_to(st, RequestState::awaiting_identity, now);
    PRIVOX_TRY(save(s, st, now));
    PRIVOX_TRY(audit_.append(s, {actor, "request.send_code", st.r.member_id, "legal",
                                 {{"request_id", id}, {"expires_at", format_utc(st.code_expires_at_us)}}}));
    return {};
  }));
  return refreshed(std::move(st), now).r;
}

Result<Request> Requests::verify_code(const std::string& id, std::string_view code, const std::string& actor) {
  PRIVOX_TRY(accounts::check_id("id", id));
  std::string typed;
  for (char c : code)
    if (c != ' ' && c != '-') typed += c;
  if (typed.size() < 6 || typed.size() > 8 || typed.find_first_not_of("0123456789") != std::string::npos)
    return invalid("code", "must be the 6 to 8 digit code from the email");
  const int64_t now = clock_.now_us();
  Stored st;
  std::optional<Error> refused;  // a wrong code is committed (tries counted) and then reported
  PRIVOX_TRY(store::with_transaction(store_, TxMode::write, [&](Session& s) -> Status {
    refused.reset();
    PRIVOX_TRY(s.exec("UPDATE rights_requests SET updated_at_us = updated_at_us WHERE id = ?", {id}));
    PRIVOX_ASSIGN(st, load(s, id, now));
    if (st.r.state != RequestState::awaiting_identity)
      return Error{ErrorCode::conflict, "id",
                   fmt::format("request {} is {}; no identity check is pending", id, to_string(st.r.state))};
    if (!st.code_hash)
      return invalid("code", "no valid code is pending: the last one expired or was used up; send a new one");
    std::string outcome;
    if (now >= st.code_expires_at_us) {
      st.code_hash.reset();
      refused = invalid("code", "the code has expired; send a new one");
      outcome = "expired";
    } else if (st.code_hash->size() != crypto_verify_32_BYTES ||
               crypto_verify_32(st.code_hash->data(), code_hash(keys_, id, typed).data()) != 0) {
      if (--st.code_tries_left <= 0) {
        st.code_hash.reset();
        refused = invalid("code", "wrong code, and no tries are left: the code is void; send a new one");
      } else {
        refused = invalid("code", fmt::format("wrong code; {} {} left", st.code_tries_left,
                                              st.code_tries_left == 1 ? "try" : "tries"));
      }
      outcome = "wrong";
    } else {
      st.code_hash.reset();
      st.r.identity_verified_at_us = now;
      move_to(st, st.r.fee_status == FeeStatus::due ? RequestState::awaiting_fee : RequestState::in_progress, now);
      outcome = "verified";
    }
    if (!st.code_hash) st.code_tries_left = 0, st.code_expires_at_us = 0;
    PRIVOX_TRY(save(s, st, now));
    PRIVOX_TRY(audit_.append(s, {actor, "request.verify_identity", st.r.member_id, "legal",
                                 {{"request_id", id}, {"outcome", outcome}, {"state", to_string(st.r.state)}}}));
    return {};
  }));
  if (refused) return *refused;
  return refreshed(std::move(st), now).r;
}

Result<Request> Requests::settle_fee(const std::string& id, bool waived, std::string_view text, const std::string& actor) {
  PRIVOX_TRY(accounts::check_id("id", id));
  const std::string field = waived ? "waive" : "paid";
  PRIVOX_ASSIGN(std::string checked, check_reason(field, text, waived ? kMaxReason : kMaxReference));
  const int64_t now = clock_.now_us();
  Stored st;
  PRIVOX_TRY(store::with_transaction(store_, TxMode::write, [&](Session& s) -> Status {
    PRIVOX_TRY(s.exec("UPDATE rights_requests SET updated_at_us = updated_at_us WHERE id = ?", {id}));
    PRIVOX_ASSIGN(st, load(s, id, now));
    PRIVOX_TRY(require_open(st.r));
    if (st.r.fee_status != FeeStatus::due)
      return Error{ErrorCode::conflict, field,
                   fmt::format("no fee is due on request {} (fee: {})", id, to_string(st.r.fee_status))};
    if (st.r.state == RequestState::in_progress)
      return Error{ErrorCode::conflict, field, fmt::format("request {} is already in progress", id)};
    st.r.fee_status = waived ? FeeStatus::waived : FeeStatus::paid;
    (waived ? st.r.fee_waiver_reason : st.r.payment_reference) = checked;
    if (st.r.state == RequestState::awaiting_fee) move_to(st, RequestState::in_progress, now);
    PRIVOX_TRY(save(s, st, now));
    PRIVOX_TRY(audit_.append(s, {actor, waived ? "request.fee_waived" : "request.fee_paid", st.r.member_id, "legal",
                                 {{"request_id", id},
                                  {"minor_units", st.r.fee_minor_units},
                                  {"currency", st.r.fee_currency},
                                  {"state", to_string(st.r.state)}}}));
    return {};
  }));
  return refreshed(std::move(st), now).r;
}

Result<Request> Requests::waive_fee(const std::string& id, std::string_view reason, const std::string& actor) {
  return settle_fee(id, true, reason, actor);
}

Result<Request> Requests::record_payment(const std::string& id, std::string_view reference, const std::string& actor) {
  return settle_fee(id, false, reference, actor);
}

Result<Request> Requests::extend(const std::string& id, int months, std::string_view reason, notify::Mailer& mailer,
                                 const std::string& actor) {
  if (months < 1 || months > 2) return invalid("months", "must be 1 or 2");
  PRIVOX_ASSIGN(std::string checked, check_reason("reason", reason, kMaxReason));
  PRIVOX_ASSIGN(Request before, get(id));
  PRIVOX_TRY(require_open(before));
  if (before.extension_months + months > 2)
    return invalid("months", fmt::format("the deadline was already extended by {} month(s); at most 2 in total",
                                         before.extension_months));
  PRIVOX_ASSIGN(std::string email, member_email(store_, keys_, clock_, before.member_id, actor));
  const int64_t new_due = before.due_at_us - add_calendar_months(before.received_at_us, 1 + before.extension_months) +
                          add_calendar_months(before.received_at_us, 1 + before.extension_months + months);
  PRIVOX_TRY(mailer.send({email, "Your privacy request: more time needed",
                          fmt::format("We need more time to answer your {} request (reference {}).\n\n"
                                      "Reason: {}\n\nWe will answer by {}.\n",
                                      to_string(before.kind), id, checked, due_text(new_due)),
                          {}}));
  const int64_t now = clock_.now_us();
  Stored st;
  PRIVOX_TRY(store::with_transaction(store_, TxMode::write, [&](Session& s) -> Status {
    PRIVOX_TRY(s.exec("UPDATE rights_requests SET updated_at_us = updated_at_us WHERE id = ?", {id}));
    PRIVOX_ASSIGN(st, load(s, id, now));
    PRIVOX_TRY(require_open(st.r));
    if (st.r.extension_months + months > 2) return invalid("months", "the deadline was extended meanwhile");
    st.r.extension_months += months;
    st.r.extension_reason = checked;
    PRIVOX_TRY(save(s, st, now));
    PRIVOX_TRY(audit_.append(s, {actor, "request.extend", st.r.member_id, "legal",
                                 {{"request_id", id}, {"months", months}, {"member_notified", true}}}));
    return {};
  }));
  return refreshed(std::move(st), now).r;
}

Result<Request> Requests::refuse(const std::string& id, std::string_view reason, notify::Mailer& mailer,
                                 const std::string& actor) {
  PRIVOX_ASSIGN(std::string checked, check_reason("reason", reason, kMaxReason));
  PRIVOX_ASSIGN(Request before, get(id));
  PRIVOX_TRY(require_open(before));
  PRIVOX_ASSIGN(std::string email, member_email(store_, keys_, clock_, before.member_id, actor));
  PRIVOX_TRY(mailer.send({email, "Your privacy request was refused",
                          fmt::format("We cannot carry out your {} request (reference {}).\n\nReason: {}\n\n"
                                      "You may complain to the data protection authority or seek a judicial "
                                      "remedy.\n",
                                      to_string(before.kind), id, checked),
                          {}}));
  const int64_t now = clock_.now_us();
  Stored st;
  PRIVOX_TRY(store::with_transaction(store_, TxMode::write, [&](Session& s) -> Status {
    PRIVOX_TRY(s.exec("UPDATE rights_requests SET updated_at_us = updated_at_us WHERE id = ?", {id}));
    PRIVOX_ASSIGN(st, load(s, id, now));
    PRIVOX_TRY(require_open(st.r));
    st.r.refusal_reason = checked;
    st.code_hash.reset();
    st.code_expires_at_us = st.code_tries_left = 0;
    move_to(st, RequestState::refused, now);
    PRIVOX_TRY(save(s, st, now));
    PRIVOX_TRY(audit_.append(s, {actor, "request.refuse", st.r.member_id, "legal",
                                 {{"request_id", id}, {"member_notified", true}}}));
    return {};
  }));
  return refreshed(std::move(st), now).r;
}

Result<ExportSummary> Requests::export_access(const std::string& id, const std::string& out_path,
                                              const std::string& actor) {
  PRIVOX_ASSIGN(Request r, get(id));
  if (r.kind != RequestKind::access)
    return Error{ErrorCode::conflict, "id", fmt::format("request {} is a {} request, not access", id, to_string(r.kind))};
  if (r.state != RequestState::in_progress && r.state != RequestState::completed)
    return Error{ErrorCode::conflict, "id",
                 fmt::format("request {} is {}; the copy is produced once identity{} is settled", id,
                             to_string(r.state), r.fee_status == FeeStatus::due ? " and the fee" : "")};
  PRIVOX_ASSIGN(ExportSummary summary, write_access_export(store_, keys_, clock_, r, out_path, actor));
  const int64_t now = clock_.now_us();
  PRIVOX_TRY(store::with_transaction(store_, TxMode::write, [&](Session& s) -> Status {
    PRIVOX_ASSIGN(Stored st, load(s, id, now));
    st.r.exported_at_us = now;
    st.r.outcome_json = nlohmann::json{{"export",
                                         {{"files", summary.files},
                                          {"traffic_records", summary.traffic_records},
                                          {"bytes", summary.bytes},
                                          {"exported_at", format_utc(now)}}}}
                           .dump();
    PRIVOX_TRY(save(s, st, now));
    PRIVOX_TRY(audit_.append(s, {actor, "request.export", st.r.member_id, "legal",
                                 {{"request_id", id}, {"files", summary.files},
                                  {"traffic_records", summary.traffic_records}}}));
    return {};
  }));
  return summary;
}

Status Requests::note_download(const std::string& id, int64_t until_us, const std::string& actor) {
  const int64_t now = clock_.now_us();
  return store::with_transaction(store_, TxMode::write, [&](Session& s) -> Status {
    PRIVOX_TRY(s.exec("UPDATE rights_requests SET updated_at_us = updated_at_us WHERE id = ?", {id}));
    PRIVOX_ASSIGN(Stored st, load(s, id, now));
    nlohmann::json outcome = st.r.outcome();
    if (!outcome.is_object() || !outcome.contains("export"))
      return Error{ErrorCode::conflict, "id", fmt::format("request {} has no export to offer", id)};
    outcome["download"] = {{"until", format_utc(until_us)}, {"until_us", until_us}};
    st.r.outcome_json = outcome.dump();
    PRIVOX_TRY(save(s, st, now));
    PRIVOX_TRY(audit_.append(s, {actor, "request.download_ready", st.r.member_id, "legal",
                                 {{"request_id", id}, {"until", format_utc(until_us)}}}));
    return {};
  });
}

Result<Request> Requests::complete(const std::string& id, const std::string& actor) {
  PRIVOX_ASSIGN(Request r, get(id));
  if (r.state != RequestState::in_progress)
    return Error{ErrorCode::conflict, "id",
                 fmt::format("request {} is {}; only a request in progress can be completed", id, to_string(r.state))};
  std::string outcome_json;
  switch (r.kind) {
    case RequestKind::access:
      if (!r.exported_at_us)
        return Error{ErrorCode::conflict, "id", fmt::format("produce the copy first (export) for request {}", id)};
      outcome_json = r.outcome_json;
      break;
    case RequestKind::rectify: {
      PRIVOX_ASSIGN(const nlohmann::json outcome, rectify(store_, keys_, clock_, r, actor));
      outcome_json = outcome.dump();
      break;
    }
    case RequestKind::erase: {
      PRIVOX_ASSIGN(const nlohmann::json outcome, erase(store_, keys_, clock_, r, actor));
      outcome_json = outcome.dump();
      break;
    }
  }
  const int64_t now = clock_.now_us();
  Stored st;
  PRIVOX_TRY(store::with_transaction(store_, TxMode::write, [&](Session& s) -> Status {
    PRIVOX_TRY(s.exec("UPDATE rights_requests SET updated_at_us = updated_at_us WHERE id = ?", {id}));
    PRIVOX_ASSIGN(st, load(s, id, now));
    if (st.r.state != RequestState::in_progress)
      return Error{ErrorCode::conflict, "id", fmt::format("request {} changed to {} meanwhile", id, to_string(st.r.state))};
    st.r.outcome_json = outcome_json;
    move_to(st, RequestState::completed, now);
    PRIVOX_TRY(save(s, st, now));
    PRIVOX_TRY(audit_.append(s, {actor, "request.complete", st.r.member_id, "legal",
                                 {{"request_id", id}, {"kind", to_string(st.r.kind)}}}));
    return {};
  }));
  return refreshed(std::move(st), now).r;
}

}  // namespace privox::rights
