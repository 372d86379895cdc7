#include "traffic/store_sink.h"

#include <optional>

#include <fmt/format.h>

#include "common/log.h"
#include "numbers/number_prefix.h"

namespace privox::traffic {
namespace {

const std::vector<std::string> kRecordColumns = {
    "id",          "company_id",    "subject_id",     "direction",     "kind",         "source_enc",
    "destination_enc", "source_withheld", "started_at_us", "answered_at_us", "ended_at_us", "duration_ms",
    "outcome",     "failure_code",  "end_reason",     "caller_equipment_enc", "callee_equipment_enc",
    "trunk_id",    "node_id",       "updated_at_us", "source_prefix", "destination_prefix",
    "caller_leg_encrypted", "callee_leg_encrypted"};
// Where kRecordColumns' values sit in a row: the SIP worker fills the sealed ones in clear, and the
// writer thread seals them and cuts the prefixes.
enum Column : size_t {
  kSubject = 2,
  kSource = 5,
  kDestination = 6,
  kWithheldFlag = 7,
  kCallerEquipment = 15,
  kCalleeEquipment = 16,
  kSourcePrefix = 20,
  kDestinationPrefix = 21,
};
// The closing UPDATE's columns: the subject comes last, and is in the WHERE clause only so that
// the writer thread knows whose key seals the callee's equipment.
constexpr size_t kCloseEquipment = 4, kCloseSubject = 10;

store::Value optional_time(int64_t us) { return us ? store::Value{us} : store::null_value(); }
store::Value optional_text(const std::string& s) { return s.empty() ? store::null_value() : store::Value{s}; }
store::Value optional_flag(std::optional<bool> b) { return b ? store::Value{int64_t{*b ? 1 : 0}} : store::null_value(); }

const std::string* text_at(const store::Params& row, size_t i) { return std::get_if<std::string>(&row[i]); }

// Seals `row[i]` (a value in clear, or NULL) as `field` of the subject.
void seal(store::Params& row, size_t i, const privacy::SecretKey& key, const std::string& subject,
          std::string_view field) {
  if (const std::string* clear = text_at(row, i)) row[i] = privacy::seal_field(key, subject, field, *clear);
}

// The prepare step of the traffic targets (store/append_writer.h), on the writer thread inside
// the batch's transaction: every row's subject key, read there, seals its personal fields. It
// holds no pointer to the sink, which may be gone before the writer drains its queue.
store::PrepareRows sealing(const privacy::Keyring& keys, std::shared_ptr<std::atomic<uint64_t>> unsealed,
                           size_t subject_at, bool insert) {
  return [&keys, unsealed = std::move(unsealed), subject_at, insert](
             store::Session& s, std::vector<store::Params>& rows,
             std::vector<std::optional<Error>>& refused) -> Status {
    std::vector<std::string> subjects;
    subjects.reserve(rows.size());
    for (const store::Params& row : rows) subjects.push_back(std::get<std::string>(row[subject_at]));
    PRIVOX_ASSIGN(const privacy::subject_keys::OpenKeys open, privacy::subject_keys::load_cached(s, keys, subjects));
    for (size_t i = 0; i < rows.size(); ++i) {
      store::Params& row = rows[i];
      const std::string& subject = subjects[i];
      const auto key = open.find(subject);
      if (key == open.end()) {
        unsealed->fetch_add(1);
        log::error("traffic", "record.no_key", {{"subject", log::Id(subject)}});
        refused[i] = Error{ErrorCode::erased, "", fmt::format("no key for subject {}", subject)};
        continue;
      }
      if (!insert) {
        seal(row, kCloseEquipment, *key->second, subject, "callee_equipment");
        continue;
      }
      // Cut here, while the numbers are in clear anyway: the traffic retention job then
      // anonymises a whole batch with one UPDATE instead of opening two sealed fields per record.
      const std::string* source = text_at(row, kSource);
      const std::string* destination = text_at(row, kDestination);
      row[kSourcePrefix] = numbers::prefix_at_write(source ? *source : "", std::get<int64_t>(row[kWithheldFlag]) != 0);
      row[kDestinationPrefix] = numbers::prefix_at_write(destination ? *destination : "");
      seal(row, kSource, *key->second, subject, "source");
      seal(row, kDestination, *key->second, subject, "destination");
      seal(row, kCallerEquipment, *key->second, subject, "caller_equipment");
      seal(row, kCalleeEquipment, *key->second, subject, "callee_equipment");
    }
    return {};
  };
}

}  // namespace

StoreSink::StoreSink(store::AppendWriter& writer, const privacy::Keyring& keys, const Clock& clock, std::string node_id)
    : writer_(writer), keys_(keys), clock_(clock), node_id_(std::move(node_id)) {
  insert_target_ = writer_.add_target({"traffic_records", kRecordColumns, "", sealing(keys_, unsealed_, kSubject, true)});
  close_target_ = writer_.add_target(
      {"traffic_records",
       {"ended_at_us", "duration_ms", "outcome", "end_reason", "callee_equipment_enc", "updated_at_us", "cost_micros",
        "cost_currency", "rate_deck_id", "id", "subject_id"},
       "UPDATE traffic_records SET ended_at_us = ?, duration_ms = ?, outcome = ?, end_reason = ?, "
       "callee_equipment_enc = coalesce(?, callee_equipment_enc), updated_at_us = ?, cost_micros = ?, "
       "cost_currency = ?, rate_deck_id = ? WHERE id = ? AND subject_id = ?",
       sealing(keys_, unsealed_, kCloseSubject, false)});
  heartbeat_target_ = writer_.add_target(
      {"node_heartbeats",
       {"node_id", "last_seen_us"},
       "INSERT INTO node_heartbeats (node_id, last_seen_us) VALUES (?, ?) "
       "ON CONFLICT (node_id) DO UPDATE SET last_seen_us = excluded.last_seen_us"});
}

store::Params StoreSink::plain_row(const CallRecord& r) const {
  return {r.id,
          r.company_id,
          r.subject_id,
          std::string(to_string(r.direction)),
          std::string(to_string(r.kind)),
          optional_text(r.source),       // sealed by the writer thread
          optional_text(r.destination),  // sealed by the writer thread
          int64_t{r.source_withheld ? 1 : 0},
          r.started_at_us,
          optional_time(r.answered_at_us),
          optional_time(r.ended_at_us),
          r.ended_at_us ? store::Value{r.duration_ms()} : store::null_value(),
          std::string(to_string(r.outcome)),
          r.failure_code ? store::Value{int64_t{r.failure_code}} : store::null_value(),
          optional_text(r.end_reason),
          optional_text(r.caller_equipment),  // sealed by the writer thread
          optional_text(r.callee_equipment),  // sealed by the writer thread
          optional_text(r.trunk_id),
          node_id_,
          clock_.now_us(),
          store::null_value(),  // the prefixes, cut by the writer thread
          store::null_value(),
          optional_flag(r.caller_encrypted),
          optional_flag(r.callee_encrypted)};
}

void StoreSink::opened(const CallRecord& record, Durable done) {
  const auto ticket = writer_.append(insert_target_, plain_row(record));
  if (!ticket.ok()) {
    ++stats_.dropped;
    log::error("traffic", "record.not_queued", {{"record", log::Id(record.id)}, {"subject", log::Id(record.subject_id)},
                                                {"error", log::error_code(ticket.error())}});
    return done(ticket.error());
  }
  waiting_.add(ticket->seq, ticket->seq, std::move(done));
  open_.insert(record.id);
  opening_.push_back({ticket->seq, record.id});
  ++stats_.opened;
}

void StoreSink::completed(const store::BatchOutcome& batch) {
  // A record that was never written is not open: its call was refused, and no close will come.
  while (!opening_.empty() && opening_.front().seq <= batch.last) {
    if (opening_.front().seq >= batch.first && !batch.of(opening_.front().seq).ok()) open_.erase(opening_.front().id);
    opening_.pop_front();
  }
  waiting_.completed(batch);
}

void StoreSink::closed(const CallRecord& record) {
  Result<store::AppendWriter::Ticket> queued = make_error(ErrorCode::internal, "unset");
  if (open_.erase(record.id)) {
    // Priced here, on the SIP worker, from the immutable table (a trie walk): the destination is in
    // clear only in this record, and the writer thread must not wait on anything.
    store::Value cost = store::null_value(), currency = store::null_value(), deck = store::null_value();
    if (rates_ && record.direction == Direction::outbound && record.kind == Kind::voice) {
      const std::shared_ptr<const rating::RateTable> table = rates_->table();
      const rating::Priced priced =
          table->price(record.company_id, record.destination, record.started_at_us, record.duration_ms());
      if (priced.rate) {
        cost = priced.cost_micros;
        currency = priced.rate->currency;
        deck = std::string(priced.deck_id);
        if (priced_hook_) priced_hook_(record, priced.cost_micros, priced.rate->currency);
      } else if (priced.included) {
        cost = int64_t{0};
      } else {
        ++stats_.unrated;
      }
    }
    queued = writer_.append(close_target_, {record.ended_at_us, record.duration_ms(),
                                            std::string(to_string(record.outcome)), optional_text(record.end_reason),
                                            optional_text(record.callee_equipment), clock_.now_us(), std::move(cost),
                                            std::move(currency), std::move(deck), record.id, record.subject_id});
  } else {
    queued = writer_.append(insert_target_, plain_row(record));
  }
  if (!queued.ok()) {
    ++stats_.dropped;
    log::error("traffic", "record.not_queued", {{"record", log::Id(record.id)}, {"error", log::error_code(queued.error())}});
    return;
  }
  ++stats_.closed;
}

StoreSink::Stats StoreSink::stats() const {
  Stats out = stats_;
  out.dropped += unsealed_->load();
  return out;
}

void StoreSink::heartbeat() { (void)writer_.append(heartbeat_target_, {node_id_, clock_.now_us()}); }

namespace {

// close_open_calls, and only when the node's last heartbeat is before `silent_before_us` (if set),
// read in the closing transaction itself: a silent node that came back between another node's look
// and this transaction keeps its new calls.
Result<int64_t> close_calls_of(store::Store& store, const std::string& node_id, const Clock& clock,
                               std::optional<int64_t> silent_before_us) {
  int64_t closed = 0;
  PRIVOX_TRY(store::with_transaction(store, store::TxMode::write, [&](store::Session& s) -> Status {
    PRIVOX_ASSIGN(store::Rows beat, s.query("SELECT last_seen_us FROM node_heartbeats WHERE node_id = ?", {node_id}));
    // Without a heartbeat the record's own last update is the last time the node was known alive.
    const bool known = !beat.empty();
    const int64_t last_seen = known ? beat[0].i64(0) : 0;
    if (silent_before_us && (!known || last_seen >= *silent_before_us)) return {};
    PRIVOX_ASSIGN(closed, s.exec("UPDATE traffic_records SET outcome = 'answered', end_reason = 'restart', "
                                 "ended_at_us = CASE WHEN ? = 1 AND ? > updated_at_us THEN ? ELSE updated_at_us END, "
                                 "duration_ms = (CASE WHEN ? = 1 AND ? > updated_at_us THEN ? ELSE updated_at_us END "
                                 "- answered_at_us) / 1000, updated_at_us = ? "
                                 "WHERE outcome = 'open' AND node_id = ?",
                                 {int64_t{known}, last_seen, last_seen, int64_t{known}, last_seen, last_seen,
                                  clock.now_us(), node_id}));
    return {};
  }));
  return closed;
}

}  // namespace

Result<int64_t> close_open_calls(store::Store& store, const std::string& node_id, const Clock& clock) {
  return close_calls_of(store, node_id, clock, std::nullopt);
}

Result<std::vector<std::string>> silent_nodes(store::Session& s, const std::string& own_node, int64_t before_us) {
  PRIVOX_ASSIGN(store::Rows rows, s.query("SELECT node_id FROM node_heartbeats WHERE node_id <> ? AND last_seen_us < ?",
                                          {own_node, before_us}));
  std::vector<std::string> out;
  out.reserve(rows.size());
  for (const store::Row& r : rows) out.push_back(r.text(0));
  return out;
}

Result<int64_t> close_calls_of_silent_nodes(store::Store& store, const std::string& own_node, const Clock& clock,
                                            int64_t silent_us) {
  std::vector<std::string> silent;
  {
    PRIVOX_ASSIGN(auto tx, store.begin(store::TxMode::read));
    PRIVOX_ASSIGN(store::Rows rows,
                  tx->query("SELECT DISTINCT r.node_id FROM traffic_records r JOIN node_heartbeats h "
                            "ON h.node_id = r.node_id WHERE r.outcome = 'open' AND r.node_id <> ? "
                            "AND h.last_seen_us < ?",
                            {own_node, clock.now_us() - silent_us}));
    for (const store::Row& r : rows) silent.push_back(r.text(0));
  }
  int64_t closed = 0;
  for (const std::string& node : silent) {
    PRIVOX_ASSIGN(const int64_t n, close_calls_of(store, node, clock, clock.now_us() - silent_us));
    closed += n;
  }
  return closed;
}

}  // namespace privox::traffic
