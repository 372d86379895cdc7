#include "voicemail/store.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sodium.h>

#include <limits>
#include <memory>
#include <set>

#include "common/log.h"
#include "privacy/audit.h"
#include "privacy/audit_record.h"
#include "store/settings.h"
#include "voicemail/module.h"
#include "voicemail/notices.h"
#include "voicemail/options.h"

namespace privox::voicemail {
namespace {

constexpr std::string_view kWithheld = "withheld";
// A voicemail always comes in to its box, for the call log's rule on a withheld caller.
constexpr std::string_view kDirection = "inbound";

void wipe(std::string& clear) {
  if (!clear.empty()) sodium_memzero(clear.data(), clear.size());
  clear.clear();
}

store::Value optional_text(const std::string& s) { return s.empty() ? store::null_value() : store::Value{s}; }

// What the data map lets `purpose` read of a message's sealed fields (voicemail/datamap.cpp).
bool allowed(std::string_view field, privacy::Purpose purpose) {
  for (const privacy::FieldSpec& f : datamap_part().personal)
    if (f.name == field) return privacy::allows(f.purposes, purpose);
  return false;
}

constexpr std::string_view kColumns =
    "id, company_id, box_id, caller_enc, caller_withheld, call_record_id, received_at_us, duration_ms, end_reason, "
    "heard_at_us";
enum Column : size_t { kId, kCompany, kBox, kCaller, kWithheldFlag, kCallRecord, kReceived, kDuration, kEndReason,
                       kHeard, kAudio };

// ", ?" per item, for IN lists.
std::string placeholders(size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += i ? ", ?" : "?";
  return out;
}

struct Sql {
  std::string sql;
  store::Params params;
};

// The scope as a WHERE clause; false when it can match nothing (a member without lines).
bool scope_where(const Scope& scope, Sql& out) {
  out.sql += " WHERE 1 = 1";
  if (!scope.company_id.empty()) {
    out.sql += " AND company_id = ?";
    out.params.emplace_back(scope.company_id);
  }
  if (scope.boxes) {
    if (scope.boxes->empty()) return false;
    out.sql += fmt::format(" AND box_id IN ({})", placeholders(scope.boxes->size()));
    for (const std::string& box : *scope.boxes) out.params.emplace_back(box);
  }
  return true;
}

// The boxes' data keys as the rows were read; a box absent from `wrapped` was erased.
using OpenKeys = std::map<std::string, std::shared_ptr<const privacy::SecretKey>, std::less<>>;
OpenKeys open_keys(const privacy::Keyring& keys, const store::Rows& rows,
                   const privacy::subject_keys::WrappedKeys& wrapped) {
  OpenKeys out;
  for (const store::Row& r : rows) {
    const auto [slot, first_sight] = out.try_emplace(r.text(kBox));
    if (!first_sight) continue;
    const auto found = wrapped.find(r.text(kBox));
    if (found == wrapped.end()) {
      keys.forget_unwrapped(r.text(kBox));
      continue;
    }
    if (auto key = keys.unwrap_cached(found->second, r.text(kBox)); key.ok()) slot->second = std::move(*key);
  }
  return out;
}

Result<privacy::subject_keys::WrappedKeys> wrapped_keys(store::Session& s, const store::Rows& rows) {
  std::vector<std::string> boxes;
  boxes.reserve(rows.size());
  for (const store::Row& r : rows) boxes.push_back(r.text(kBox));
  return privacy::subject_keys::read_wrapped(s, boxes);
}

MessageInfo decode(const store::Row& r, const privacy::SecretKey* key, bool erased, privacy::Purpose purpose,
                   traffic::Viewer viewer) {
  MessageInfo m;
  m.id = r.text(kId);
  m.company_id = r.text(kCompany);
  m.box_id = r.text(kBox);
  m.caller_withheld = r.i64(kWithheldFlag) != 0;
  m.call_record_id = r.text_or(kCallRecord, "");
  m.received_at_us = r.i64(kReceived);
  m.duration_ms = r.i64(kDuration);
  m.end_reason = r.text(kEndReason);
  m.heard_at_us = r.is_null(kHeard) ? 0 : r.i64(kHeard);
  if (m.caller_withheld && !traffic::shows_withheld_caller(kDirection, purpose, viewer)) {
    m.caller = std::string(kWithheld);
  } else if (!r.is_null(kCaller) && allowed("voicemail_caller", purpose)) {
    if (erased) {
      m.caller = "erased";
    } else if (!key) {
      m.caller = "unreadable";
    } else {
      auto caller = privacy::open_field(*key, m.box_id, "caller", r.blob(kCaller));
      m.caller = caller.ok() ? std::move(caller).value() : std::string("unreadable");
    }
  }
  return m;
}

std::vector<MessageInfo> decode_all(const privacy::Keyring& keys, const store::Rows& rows,
                                    const privacy::subject_keys::WrappedKeys& wrapped, privacy::Purpose purpose,
                                    traffic::Viewer viewer) {
  const OpenKeys box_keys = open_keys(keys, rows, wrapped);
  std::vector<MessageInfo> out;
  out.reserve(rows.size());
  for (const store::Row& r : rows)
    out.push_back(decode(r, box_keys.find(r.text(kBox))->second.get(), !wrapped.contains(r.text(kBox)), purpose,
                         viewer));
  return out;
}

// The message's row (metadata columns, then audio_enc when `with_audio`) if the scope reaches it.
Result<store::Row> find_in_scope(store::Session& s, const Scope& scope, const std::string& id, bool with_audio) {
  Sql q{fmt::format("SELECT {}{} FROM voicemail_messages", kColumns, with_audio ? ", audio_enc" : ""), {}};
  const bool any = scope_where(scope, q);
  q.sql += " AND id = ?";
  q.params.emplace_back(id);
  if (any) {
    PRIVOX_ASSIGN(store::Rows rows, s.query(q.sql, q.params));
    if (!rows.empty()) return std::move(rows[0]);
  }
  // The same answer for another tenant's or member's message as for none: ids are not confirmed.
  return Error{ErrorCode::not_found, "id", fmt::format("no voicemail message {}", id)};
}

}  // namespace

// ---- StoreSink ----

StoreSink::Deposit::~Deposit() { wipe(message.audio); }

// A thread of the sink's own rather than the node's AppendWriter: messages are rare and large
// (a 180 s message is ~360 kB), and each needs its box's count checked before it is written; in
// the writer's batches they would delay the traffic records an answered call waits on (R1), and the
// writer keeps every row as appended for its retries, which would hold the clear audio beyond its
// sealing. Here the clear audio lives in one place, the queued Deposit, and is wiped once sealed.
StoreSink::StoreSink(store::Store& store, const privacy::Keyring& keys, const Clock& clock)
    : store_(store), keys_(keys), clock_(clock),
      worker_(WorkerOptions{.name = "privox-voicemail", .max_queue = kMaxQueued}) {
  worker_.start([this](uint64_t first, std::vector<Deposit>& batch) {
    for (Deposit& d : batch) {
      const Outcome outcome = write(d.message);
      wipe(d.message.audio);
      MutexLock lock(mu_);
      switch (outcome) {
        case Outcome::stored: ++stats_.stored; break;
        case Outcome::box_full: ++stats_.box_full; break;
        case Outcome::erased: ++stats_.erased; break;
        case Outcome::failed: ++stats_.failed; break;
      }
    }
    MutexLock lock(mu_);
    done_ = first + batch.size() - 1;
    done_cv_.notify_all();
  });
}

StoreSink::~StoreSink() { stop(); }

void StoreSink::stop() { worker_.stop(); }

void StoreSink::deposit(NewMessage message) {
  const std::string id = message.id, box = message.box_id;
  if (worker_.post(Deposit(std::move(message))) != 0) return;
  log::error("voicemail", "message.not_queued", {{"message", log::Id(id)}, {"box", log::Id(box)}, {"queue_limit", kMaxQueued}});
  MutexLock lock(mu_);
  ++stats_.dropped;
}

Status StoreSink::flush() {
  const uint64_t upto = worker_.posted();
  MutexLock lock(mu_);
  while (done_ < upto) done_cv_.wait(mu_);
  return {};
}

StoreSink::Stats StoreSink::stats() const {
  MutexLock lock(mu_);
  return stats_;
}

StoreSink::Outcome StoreSink::write(const NewMessage& m) {
  Outcome outcome = Outcome::stored;
  const Status written = store::with_transaction(store_, store::TxMode::write, [&](store::Session& s) -> Status {
    outcome = Outcome::stored;
    PRIVOX_ASSIGN(const privacy::subject_keys::OpenKeys open, privacy::subject_keys::load_cached(s, keys_, {m.box_id}));
    const auto key = open.find(m.box_id);
    if (key == open.end()) {
      outcome = Outcome::erased;
      return {};
    }
    PRIVOX_ASSIGN(const int64_t max, store::Settings(store_).integer(s, "retention.voicemail_max_messages"));
    PRIVOX_ASSIGN(const int64_t held, count_in_box(s, m.box_id));
    if (held >= max) {
      outcome = Outcome::box_full;
      return {};
    }
    // Sealed here, inside the transaction that read the key: a key destroyed meanwhile is never used.
    const Bytes audio = privacy::seal_field(*key->second, m.box_id, "audio", m.audio);
    const store::Value caller =
        m.caller.empty() ? store::null_value() : store::Value{privacy::seal_field(*key->second, m.box_id, "caller", m.caller)};
    // ON CONFLICT: a deposit handed over twice (a retried commit whose outcome was unknown) is stored once.
    PRIVOX_ASSIGN(const int64_t inserted,
                  s.exec("INSERT INTO voicemail_messages (id, company_id, box_id, caller_enc, caller_withheld, "
                         "call_record_id, received_at_us, duration_ms, end_reason, audio_enc, heard_at_us) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL) ON CONFLICT (id) DO NOTHING",
                         {m.id, m.company_id, m.box_id, caller, int64_t{m.caller_withheld ? 1 : 0},
                          optional_text(m.call_record_id), m.received_at_us, m.duration_ms, m.end_reason, audio}));
    // The member's choice as the message is stored decides whether it is announced by email: the
    // notice is owed from this commit on (voicemail/notices.h), and never for an earlier message.
    if (inserted == 1) {
      PRIVOX_ASSIGN(const EmailNotice notice, email_notice_of(s, m.box_id));
      if (notice != EmailNotice::off) PRIVOX_TRY(queue_notice(s, m.id, m.box_id, m.company_id, clock_.now_us()));
    }
    return {};
  });
  if (!written.ok()) {
    log::error("voicemail", "message.not_stored",
               {{"message", log::Id(m.id)}, {"box", log::Id(m.box_id)}, {"error", log::error_code(written.error())}});
    return Outcome::failed;
  }
  if (outcome == Outcome::erased)
    log::error("voicemail", "message.no_key", {{"message", log::Id(m.id)}, {"box", log::Id(m.box_id)}});
  if (outcome == Outcome::box_full)
    log::warn("voicemail", "message.box_full", {{"message", log::Id(m.id)}, {"box", log::Id(m.box_id)}});
  return outcome;
}

// ---- reading ----

Result<std::vector<MessageInfo>> list_messages(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                                               const Scope& scope, const std::string& actor, size_t limit) {
  Sql q{fmt::format("SELECT {} FROM voicemail_messages", kColumns), {}};
  if (!scope_where(scope, q)) return std::vector<MessageInfo>{};
  q.sql += " ORDER BY received_at_us DESC, id DESC LIMIT ?";
  q.params.emplace_back(static_cast<int64_t>(std::min<size_t>(limit, std::numeric_limits<int32_t>::max())));
  store::Rows rows;
  privacy::subject_keys::WrappedKeys wrapped;
  PRIVOX_TRY(store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(rows, s.query(q.sql, q.params));
    PRIVOX_ASSIGN(wrapped, wrapped_keys(s, rows));
    if (rows.empty()) return {};
    std::map<std::string, int64_t> per_box;
    for (const store::Row& r : rows) ++per_box[r.text(kBox)];
    nlohmann::json boxes = nlohmann::json::object();
    for (const auto& [box, count] : per_box) boxes[box] = count;
    const std::string only = per_box.size() == 1 ? per_box.begin()->first : std::string();
    PRIVOX_TRY(privacy::AuditChain(keys, clock)
                   .append(s, {actor, "voicemail.list", only, std::string(privacy::to_string(scope.purpose)),
                               {{"messages", rows.size()}, {"boxes", std::move(boxes)}}}));
    return {};
  }));
  return decode_all(keys, rows, wrapped, scope.purpose, scope.viewer);
}

namespace {

// One message of the scope, read with its box's wrapped key and ONE audit entry (`action`, subject
// the box, `detail`) in a write transaction; opened after the commit, with the audio when asked.
Result<MessageAudio> open_one_audited(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                                      const Scope& scope, const std::string& message_id, bool with_audio,
                                      const std::string& actor, const char* action, const nlohmann::json& detail) {
  std::optional<store::Row> row;
  privacy::subject_keys::WrappedKeys wrapped;
  PRIVOX_TRY(store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(store::Row found, find_in_scope(s, scope, message_id, with_audio));
    row = std::move(found);
    PRIVOX_ASSIGN(wrapped, privacy::subject_keys::read_wrapped(s, {row->text(kBox)}));
    PRIVOX_TRY(privacy::AuditChain(keys, clock)
                   .append(s, {actor, action, row->text(kBox), std::string(privacy::to_string(scope.purpose)), detail}));
    return {};
  }));
  const std::string box = row->text(kBox);
  const auto found = wrapped.find(box);
  if (found == wrapped.end()) {
    keys.forget_unwrapped(box);
    return Error{ErrorCode::erased, "id", fmt::format("the box of voicemail message {} was erased", message_id)};
  }
  PRIVOX_ASSIGN(std::shared_ptr<const privacy::SecretKey> key, keys.unwrap_cached(found->second, box));
  MessageAudio out{decode(*row, key.get(), false, scope.purpose, scope.viewer), {}};
  if (!with_audio) return out;
  auto audio = privacy::open_field(*key, box, "audio", row->blob(kAudio));
  if (!audio.ok())
    return Error{ErrorCode::corrupt, "id", fmt::format("the audio of voicemail message {} does not open", message_id)};
  out.audio = std::move(audio).value();
  return out;
}

}  // namespace

Result<MessageAudio> open_audio(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                                const Scope& scope, const std::string& message_id, const std::string& actor) {
  if (!allowed("voicemail_audio", scope.purpose))
    return invalid("purpose", fmt::format("purpose {} may not hear voicemail recordings (the data map allows {})",
                                          privacy::to_string(scope.purpose),
                                          privacy::purposes_text(privacy::Purpose::service | privacy::Purpose::legal)));
  return open_one_audited(store, keys, clock, scope, message_id, true, actor, "voicemail.listen",
                          {{"message", message_id}});
}

Result<MessageAudio> open_for_email(store::Store& store, const privacy::Keyring& keys, const Clock& clock,
                                    const std::string& box_id, const std::string& message_id, bool with_audio,
                                    int64_t attempt, const std::string& actor) {
  // As the box's holder lists it: the service purpose, the call log's rule for a withheld caller.
  const Scope scope{privacy::Purpose::service, traffic::Viewer::line_holder, "", std::vector<std::string>{box_id}};
  return open_one_audited(store, keys, clock, scope, message_id, with_audio, actor, "voicemail.email",
                          {{"message", message_id}, {"audio", with_audio}, {"attempt", attempt}});
}

Status mark_heard(store::Store& store, const Clock& clock, const Scope& scope, const std::string& message_id) {
  return store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_TRY(find_in_scope(s, scope, message_id, false));
    PRIVOX_TRY(s.exec("UPDATE voicemail_messages SET heard_at_us = ? WHERE id = ? AND heard_at_us IS NULL",
                      {clock.now_us(), message_id}));
    return {};
  });
}

Status delete_message(store::Store& store, const privacy::Keyring& keys, const Clock& clock, const Scope& scope,
                      const std::string& message_id, const std::string& actor) {
  PRIVOX_TRY(store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(store::Row row, find_in_scope(s, scope, message_id, false));
    PRIVOX_TRY(s.exec("DELETE FROM voicemail_messages WHERE id = ?", {message_id}));
    PRIVOX_TRY(finish_notice(s, message_id));  // a notice still owed for it is moot
    PRIVOX_TRY(privacy::AuditChain(keys, clock)
                   .append(s, {actor, "voicemail.delete", row.text(kBox),
                               std::string(privacy::to_string(scope.purpose)), {{"message", message_id}}}));
    return {};
  }));
  // The row's sealed bytes leave the store's files too, not only its tables. The message is gone
  // either way, so a failed purge is logged, not returned (the next one catches up).
  if (const Status purged = store.purge_deleted(); !purged.ok())
    log::warn("voicemail", "message.deleted_unpurged",
              {{"message", log::Id(message_id)}, {"error", log::error_code(purged.error())}});
  return {};
}

Result<std::map<std::string, BoxCounts>> count_by_box(store::Session& s, const std::vector<std::string>& boxes) {
  std::map<std::string, BoxCounts> out;
  if (boxes.empty()) return out;
  store::Params params;
  for (const std::string& box : boxes) params.emplace_back(box);
  PRIVOX_ASSIGN(store::Rows rows,
                s.query(fmt::format("SELECT box_id, CASE WHEN heard_at_us IS NULL THEN 0 ELSE 1 END, COUNT(*) "
                                    "FROM voicemail_messages WHERE box_id IN ({}) "
                                    "GROUP BY box_id, CASE WHEN heard_at_us IS NULL THEN 0 ELSE 1 END",
                                    placeholders(boxes.size())),
                        params));
  for (const store::Row& r : rows) (r.i64(1) ? out[r.text(0)].heard : out[r.text(0)].fresh) = r.i64(2);
  return out;
}

Result<int64_t> count_in_box(store::Session& s, const std::string& box_id) {
  PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT COUNT(*) FROM voicemail_messages WHERE box_id = ?", {box_id}));
  return rows[0].i64(0);
}

Result<std::vector<MessageAudio>> messages_of_boxes(store::Session& s, const privacy::Keyring& keys,
                                                    const std::vector<std::string>& boxes, privacy::Purpose purpose,
                                                    traffic::Viewer viewer) {
  std::vector<MessageAudio> out;
  if (boxes.empty()) return out;
  Sql q{fmt::format("SELECT {}, audio_enc FROM voicemail_messages", kColumns), {}};
  scope_where(Scope{purpose, viewer, "", boxes}, q);
  q.sql += " ORDER BY received_at_us, id";
  PRIVOX_ASSIGN(store::Rows rows, s.query(q.sql, q.params));
  PRIVOX_ASSIGN(privacy::subject_keys::WrappedKeys wrapped, wrapped_keys(s, rows));
  const OpenKeys box_keys = open_keys(keys, rows, wrapped);
  const bool hears = allowed("voicemail_audio", purpose);
  for (const store::Row& r : rows) {
    const privacy::SecretKey* key = box_keys.find(r.text(kBox))->second.get();
    MessageAudio m{decode(r, key, !wrapped.contains(r.text(kBox)), purpose, viewer), {}};
    if (key && hears)
      if (auto audio = privacy::open_field(*key, m.info.box_id, "audio", r.blob(kAudio)); audio.ok())
        m.audio = std::move(audio).value();
    out.push_back(std::move(m));
  }
  return out;
}

Result<int64_t> delete_messages_of_boxes(store::Session& s, const std::vector<std::string>& boxes) {
  if (boxes.empty()) return int64_t{0};
  store::Params params;
  for (const std::string& box : boxes) params.emplace_back(box);
  return s.exec(fmt::format("DELETE FROM voicemail_messages WHERE box_id IN ({})", placeholders(boxes.size())), params);
}

Result<ExpiryBatch> delete_expired(store::Session& s, int64_t cutoff_us, int64_t after_us, const std::string& after_id,
                                   size_t limit, const std::unordered_set<std::string>& held) {
  ExpiryBatch out;
  PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT id, box_id, received_at_us FROM voicemail_messages "
                                          "WHERE received_at_us < ? AND (received_at_us, id) > (?, ?) "
                                          "ORDER BY received_at_us, id LIMIT ?",
                                          {cutoff_us, after_us, after_id, static_cast<int64_t>(limit)}));
  if (rows.empty()) return out;
  out.seen = static_cast<int64_t>(rows.size());
  out.cursor_us = rows.back().i64(2);
  out.cursor_id = rows.back().text(0);
  std::set<std::string> held_boxes;
  std::vector<std::string> due;
  for (const store::Row& r : rows) {
    if (held.contains(r.text(1))) {
      held_boxes.insert(r.text(1));
    } else {
      due.push_back(r.text(0));
    }
  }
  out.held_boxes.assign(held_boxes.begin(), held_boxes.end());
  if (due.empty()) return out;
  store::Params params;
  for (const std::string& id : due) params.emplace_back(id);
  PRIVOX_ASSIGN(out.deleted,
                s.exec(fmt::format("DELETE FROM voicemail_messages WHERE id IN ({})", placeholders(due.size())), params));
  return out;
}

nlohmann::json to_json(const MessageInfo& m) {
  nlohmann::json j = {{"id", m.id},
                      {"box_id", m.box_id},
                      {"received_at", format_utc(m.received_at_us)},
                      {"duration_ms", m.duration_ms},
                      {"end_reason", m.end_reason},
                      {"caller_withheld", m.caller_withheld},
                      {"heard", m.heard_at_us != 0}};
  if (m.caller) j["caller"] = *m.caller;
  if (m.heard_at_us) j["heard_at"] = format_utc(m.heard_at_us);
  if (!m.call_record_id.empty()) j["call_record_id"] = m.call_record_id;
  return j;
}

}  // namespace privox::voicemail
